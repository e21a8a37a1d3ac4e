import express from 'express';
import type { AddressInfo } from 'node:net';
import { Registry, Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createOptimizationHandler, toNodeListener } from '../../src/http.js';
import { admin, adminJson, bearerAuthorize, direct, overNodeHttp, READ_TOKEN, type Send } from './helpers.js';

function fullEngine(): OptimizationEngine {
  return new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
}

interface Transport {
  name: string;
  setup(handler: (r: Request) => Promise<Response>): Promise<{ send: Send; close: () => Promise<void> }>;
}

const transports: Transport[] = [
  { name: 'fetch handler', setup: (h) => Promise.resolve({ send: direct(h), close: () => Promise.resolve() }) },
  { name: 'node:http server', setup: overNodeHttp },
];

describe.each(transports)('routes through the $name', (transport) => {
  let engine: OptimizationEngine;
  let send: Send;
  let close: () => Promise<void>;

  beforeAll(async () => {
    engine = fullEngine();
    await engine.optimizeAiCall('hello', 'llama', () => 'hi there');
    await engine.optimizeAiCall('hello', 'llama', () => 'hi there');
    ({ send, close } = await transport.setup(createOptimizationHandler(engine, { authorize: bearerAuthorize, basePath: '/ops', maxBodyBytes: 1024 })));
  });

  afterAll(async () => {
    await close();
    await engine.close();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body = async (r: Response): Promise<Record<string, any>> => (await r.json()) as Record<string, any>;

  it('GET /optimization/report → 200 with the report', async () => {
    const r = await send('/ops/optimization/report', { headers: admin });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const b = await body(r);
    const expected = JSON.parse(JSON.stringify(engine.getOptimizationReport())) as { summary: object };
    expect(Object.keys(b)).toEqual(Object.keys(expected));
    expect({ ...b.summary, generated_at: 0 }).toEqual({ ...expected.summary, generated_at: 0 });
    expect(b.summary).toMatchObject({ efficiency_score: 85, hit_rate_percent: 50, total_calls: 2 });
  });

  it('GET /optimization/cache-stats → 200 with the seed shape', async () => {
    const r = await send('/ops/optimization/cache-stats', { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(r.status).toBe(200);
    const b = await body(r);
    expect(b.cache).toMatchObject({ size: 1, max_size: 1000, hits: 1, misses: 1, hit_rate_percent: 50, ttl_seconds: 3600 });
    expect(b.performance_impact).toMatchObject({ requests_saved: 1 });
  });

  it('POST /optimization/auto-optimize → 200 with the result', async () => {
    const r = await send('/ops/optimization/auto-optimize', { method: 'POST', headers: adminJson });
    expect(r.status).toBe(200);
    expect(await body(r)).toEqual({ status: 'no_action_needed', count: 0, optimizations: [], reverted: [] });
  });

  it('POST /autonomous/enable, GET /autonomous/status, POST /autonomous/disable → 200 with the status', async () => {
    const on = await send('/ops/autonomous/enable', { method: 'POST', headers: adminJson, body: JSON.stringify({ interval_seconds: 60 }) });
    expect(on.status).toBe(200);
    expect(await body(on)).toMatchObject({ enabled: true, interval_seconds: 60, runs: 0, last_run_at: null });
    const status = await send('/ops/autonomous/status', { headers: admin });
    expect(status.status).toBe(200);
    const s = await body(status);
    expect(Object.keys(s).sort()).toEqual(['enabled', 'health', 'interval_seconds', 'last_actions', 'last_run_at', 'next_run_at', 'runs']);
    expect(typeof s.next_run_at).toBe('string');
    const off = await send('/ops/autonomous/disable', { method: 'POST', headers: adminJson, body: '{}' });
    expect(off.status).toBe(200);
    expect(await body(off)).toMatchObject({ enabled: false, next_run_at: null });
  });

  it('GET /health → 200 ok, then 200 degraded with the reason while a circuit is open', async () => {
    const ok = await send('/ops/health', { headers: admin });
    expect(ok.status).toBe(200);
    expect(await body(ok)).toMatchObject({ status: 'ok', reasons: [] });
    await engine.optimizeAiCall('fails', 'broken-model', () => Promise.reject(new Error('boom'))).catch(() => undefined);
    const degraded = await send('/ops/health', { headers: admin });
    expect(degraded.status).toBe(200);
    const b = await body(degraded);
    expect(b.status).toBe('degraded');
    expect(b.reasons).toEqual(['model: circuit open for model "broken-model"']);
  });

  it('GET /health → 503 when a source says down (a store, for instance)', async () => {
    const remove = engine.addHealthSource('store', () => ({ status: 'down', reason: 'store unreachable' }));
    const r = await send('/ops/health', { headers: admin });
    remove();
    expect(r.status).toBe(503);
    expect((await body(r)).reasons).toContain('store: store unreachable');
  });

  it('HEAD /health → 200 without a body', async () => {
    const r = await send('/ops/health', { method: 'HEAD', headers: admin });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('');
  });

  it('GET /metrics → 200 Prometheus text', async () => {
    const r = await send('/ops/metrics', { headers: admin });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await r.text();
    expect(text).toContain('# TYPE llm_optimizer_calls_total counter');
    expect(text).toContain('llm_optimizer_cache_hits_total 1');
    expect(text).toContain('llm_optimizer_cache_entries 1');
    expect(text).toContain(`llm_optimizer_efficiency_score ${engine.getOptimizationReport().summary.efficiency_score}`);
    expect(text).toMatch(/llm_optimizer_call_duration_seconds_bucket\{outcome="hit",le="\+Inf"\} \d+/);
    expect(text).toContain('llm_optimizer_circuit_state{model="broken-model",state="open"} 1');
  });

  it.each([
    ['/ops/nope', 'an unknown route'],
    ['/health', 'a route outside basePath'],
    ['/ops', 'basePath itself'],
    ['/ops/health/extra', 'a longer path'],
  ])('404 for %s (%s)', async (path) => {
    const r = await send(path, { headers: admin });
    expect(r.status).toBe(404);
    expect(await body(r)).toEqual({ error: { status: 404, code: 'not_found', message: expect.stringMatching(/^No such route: the endpoints are served under `basePath` \/ops, such as \/ops\/health;/) as unknown } });
  });

  it.each([
    ['GET', '/ops/autonomous/enable', 'POST'],
    ['GET', '/ops/optimization/auto-optimize', 'POST'],
    ['POST', '/ops/health', 'GET, HEAD'],
    ['DELETE', '/ops/metrics', 'GET, HEAD'],
    ['PUT', '/ops/autonomous/disable', 'POST'],
  ])('405 for %s %s with Allow: %s', async (method, path, allow) => {
    const r = await send(path, { method, headers: admin });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe(allow);
    expect((await body(r)).error.code).toBe('method_not_allowed');
  });

  it('401 without credentials and 403 with wrong ones, on reads and mutations alike', async () => {
    for (const path of ['/ops/health', '/ops/metrics', '/ops/optimization/report']) {
      expect((await send(path)).status).toBe(401);
      expect((await send(path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
    }
    const r = await send('/ops/autonomous/enable', { method: 'POST' });
    expect(r.status).toBe(401);
    expect((await body(r)).error.code).toBe('unauthenticated');
  });

  it('403 for a read-only token on a mutating route, which then changes nothing', async () => {
    const r = await send('/ops/autonomous/enable', { method: 'POST', headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(r.status).toBe(403);
    expect((await body(r)).error.code).toBe('forbidden');
    expect(engine.getAutonomousStatus().enabled).toBe(false);
  });

  it('413 for a body larger than maxBodyBytes (declared or streamed)', async () => {
    const big = JSON.stringify({ interval_seconds: 60, pad: 'x'.repeat(5000) });
    const declared = await send('/ops/autonomous/enable', { method: 'POST', headers: adminJson, body: big });
    expect(declared.status).toBe(413);
    expect((await body(declared)).error.code).toBe('body_too_large');
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(500)));
        controller.close();
      },
    });
    const streamed = await send('/ops/autonomous/enable', { method: 'POST', headers: adminJson, body: chunks, duplex: 'half' });
    expect(streamed.status).toBe(413);
    expect(engine.getAutonomousStatus().enabled).toBe(false);
  });

  it.each([
    ['{not json', 'malformed_body'],
    ['[1,2]', 'malformed_body'],
    ['"text"', 'malformed_body'],
    ['{"interval_seconds":5}', 'invalid_field'],
    ['{"interval_seconds":"60"}', 'invalid_field'],
    ['{"stateFile":"/etc/passwd"}', 'unknown_field'],
    ['{"__proto__":{"polluted":true}}', 'unknown_field'],
  ])('400 for the body %s', async (text, code) => {
    const r = await send('/ops/autonomous/enable', { method: 'POST', headers: adminJson, body: text });
    expect(r.status).toBe(400);
    expect((await body(r)).error.code).toBe(code);
    expect(engine.getAutonomousStatus().enabled).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('400 for fields on a route that takes none', async () => {
    const r = await send('/ops/optimization/auto-optimize', { method: 'POST', headers: adminJson, body: '{"force":true}' });
    expect(r.status).toBe(400);
  });

  it('415 for a body that is not declared as JSON', async () => {
    const r = await send('/ops/autonomous/enable', { method: 'POST', headers: { ...admin, 'content-type': 'text/plain' }, body: '{}' });
    expect(r.status).toBe(415);
    expect((await body(r)).error.code).toBe('unsupported_media_type');
  });

  it('415 for a POST without Content-Type even when empty (what a cross-site form or no-cors fetch sends), changing nothing', async () => {
    for (const path of ['/ops/autonomous/enable', '/ops/optimization/auto-optimize', '/ops/autonomous/disable']) {
      const r = await send(path, { method: 'POST', headers: admin });
      expect(r.status).toBe(415);
    }
    const form = await send('/ops/autonomous/enable', { method: 'POST', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'interval_seconds=60' });
    expect(form.status).toBe(415);
    expect(engine.getAutonomousStatus().enabled).toBe(false);
  });
});

describe.each(transports)('closed engine and failing authorize through the $name', (transport) => {
  it('503 for health and for enabling autonomous mode once the engine is closed', async () => {
    const engine = new OptimizationEngine();
    const { send, close } = await transport.setup(createOptimizationHandler(engine, { authorize: 'allow-all' }));
    await engine.close();
    const health = await send('/health');
    expect(health.status).toBe(503);
    expect((await health.json() as { status: string }).status).toBe('down');
    const enable = await send('/autonomous/enable', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(enable.status).toBe(503);
    expect((await enable.json() as { error: { code: string } }).error.code).toBe('engine_closed');
    await close();
  });

  it('500 with a JSON body (and no detail) when authorize throws', async () => {
    const engine = new OptimizationEngine();
    const warnings: unknown[] = [];
    const handler = createOptimizationHandler(engine, {
      authorize: () => { throw new Error('secret-db-password in the stack'); },
      logger: { warn: (_m, d) => warnings.push(d) },
    });
    const { send, close } = await transport.setup(handler);
    const r = await send('/health');
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ error: { status: 500, code: 'internal_error', message: 'The request could not be answered' } });
    expect(warnings).toHaveLength(1);
    await close();
    await engine.close();
  });
});

describe('createOptimizationHandler options', () => {
  const engine = new OptimizationEngine();
  afterAll(() => engine.close());

  it('refuses to build without authorize unless told allow-all', () => {
    expect(() => createOptimizationHandler(engine, {} as never)).toThrow(/`authorize` is required/);
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-none' as never })).toThrow(TypeError);
    expect(() => createOptimizationHandler(engine, undefined as never)).toThrow(/`authorize` is required/);
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all' })).not.toThrow();
  });

  it('rejects bad options naming them', () => {
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all', basePath: 'ops' })).toThrow(/`basePath`/);
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all', maxBodyBytes: 0 })).toThrow(/`maxBodyBytes`/);
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all', registry: {} as never })).toThrow(/`registry`/);
    expect(() => createOptimizationHandler({} as never, { authorize: 'allow-all' })).toThrow(/`engine`/);
  });

  it('tolerates a trailing slash on basePath, but serves routes only at their exact path', async () => {
    const send = direct(createOptimizationHandler(engine, { authorize: 'allow-all', basePath: '/ops/' }));
    expect((await send('/ops/health')).status).toBe(200);
    for (const path of ['/ops/health/', '/ops//health', '/OPS/health', '/ops/Health', '/ops/health;x', '/ops/h%65alth']) expect((await send(path)).status).toBe(404);
  });
});

describe('prom-client registry', () => {
  it('adds the engine metrics to the service registry, served whole by GET /metrics', async () => {
    const engine = new OptimizationEngine();
    const registry = new Registry();
    new Counter({ name: 'service_requests_total', help: 'The service own counter', registers: [registry] }).inc(3);
    const send = direct(createOptimizationHandler(engine, { authorize: 'allow-all', registry }));
    await engine.optimizeAiCall('a', 'm', () => 'b');
    const r = await send('/metrics');
    expect(r.headers.get('content-type')).toBe(registry.contentType);
    const text = await r.text();
    expect(text).toContain('service_requests_total 3');
    expect(text).toContain('llm_optimizer_calls_total{outcome="miss"} 1');
    expect(text).toContain('llm_optimizer_call_duration_seconds_bucket{outcome="miss",le="+Inf"} 1');
    expect(text).toContain('llm_optimizer_call_duration_seconds_count{outcome="miss"} 1');
    expect(await registry.metrics()).toBe(text);
    // A second handler on the same engine and registry does not register twice.
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all', registry })).not.toThrow();
    await engine.close();
  });
});

describe('prom-client registry in OpenMetrics mode', () => {
  it('keeps counter names as prom-client renders them (one _total)', async () => {
    const engine = new OptimizationEngine();
    const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const send = direct(createOptimizationHandler(engine, { authorize: 'allow-all', registry }));
    await engine.optimizeAiCall('a', 'm', () => 'b');
    const text = await (await send('/metrics')).text();
    expect(text).toContain('llm_optimizer_calls_total{outcome="miss"} 1');
    expect(text).toContain('llm_optimizer_call_duration_seconds_count{outcome="miss"} 1');
    expect(text).not.toContain('_total_total');
    expect(text.endsWith('# EOF\n')).toBe(true);
    await engine.close();
  });
});

describe('Express', () => {
  it('mounts under a path, with or without express.json() before it', async () => {
    const engine = new OptimizationEngine();
    const app = express();
    app.use('/parsed', express.json(), toNodeListener(createOptimizationHandler(engine, { authorize: 'allow-all', basePath: '/parsed' })));
    app.use('/raw', toNodeListener(createOptimizationHandler(engine, { authorize: 'allow-all', basePath: '/raw' })));
    const server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const mount of ['/parsed', '/raw']) {
      expect((await fetch(`${base}${mount}/health`)).status).toBe(200);
      const on = await fetch(`${base}${mount}/autonomous/enable`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"interval_seconds":30}' });
      expect(on.status).toBe(200);
      expect((await on.json() as { interval_seconds: number }).interval_seconds).toBe(30);
      const bad = await fetch(`${base}${mount}/autonomous/enable`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
      expect(bad.status).toBe(400);
    }
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await engine.close();
  });
});

describe('a body already read before the handler', () => {
  it('answers 400 body_already_read when authorize read the body', async () => {
    const engine = new OptimizationEngine();
    const send = direct(createOptimizationHandler(engine, { authorize: async (request) => (await request.text(), true) }));
    const r = await send('/autonomous/enable', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"interval_seconds":30}' });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { status: 400, code: 'body_already_read' } });
    expect(engine.getAutonomousStatus().enabled).toBe(false);
    await engine.close();
  });

  it('answers 400 body_already_read when authorize only locked the body', async () => {
    const engine = new OptimizationEngine();
    const send = direct(createOptimizationHandler(engine, { authorize: (request) => (request.body?.getReader(), true) }));
    const r = await send('/optimization/auto-optimize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('body_already_read');
    await engine.close();
  });
});

describe('failures the handler turns into clear answers', () => {
  it('answers 503 state_file_unavailable, without the path, when the state file cannot be saved', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'llmoe-handler-'));
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    const warnings: string[] = [];
    const engine = new OptimizationEngine();
    const send = direct(createOptimizationHandler(engine, {
      authorize: 'allow-all', autonomous: { stateFile: join(blocker, 'state.json') }, logger: { warn: (message) => void warnings.push(message) },
    }));
    const r = await send('/autonomous/enable', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const text = await r.text();
    expect(r.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'state_file_unavailable' } });
    expect(text).not.toContain(dir);
    expect(warnings).toEqual(['POST /autonomous/enable: the state file cannot be saved']);
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 500, not a rejected promise, when its own logger throws', async () => {
    const engine = new OptimizationEngine();
    const send = direct(createOptimizationHandler(engine, {
      authorize: () => { throw new Error('authorize failed'); }, logger: { warn: () => { throw new Error('logger failed'); } },
    }));
    expect((await send('/health')).status).toBe(500);
    await engine.close();
  });
});
