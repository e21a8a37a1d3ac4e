import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createOptimizationHandler } from '../../src/http.js';
import { bearerAuthorize, READ_TOKEN, TOKEN } from './helpers.js';

const STATUSES = new Set([200, 400, 401, 403, 404, 405, 413, 415, 501, 503]);
const SEGMENTS = ['optimization', 'report', 'cache-stats', 'auto-optimize', 'autonomous', 'enable', 'disable', 'status', 'health', 'metrics', 'ops', '..', '.', '%2e%2e', '%00', '', '%2F'];

const method = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get', 'post'),
  fc.stringMatching(/^[A-Za-z]{1,10}$/).filter((m) => !['CONNECT', 'TRACE', 'TRACK'].includes(m.toUpperCase())),
);
const path = fc.tuple(
  fc.constantFrom('', '/ops', '/OPS', '/op'),
  fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 12 }).map(encodeURIComponent), fc.string({ maxLength: 8 })), { maxLength: 5 }),
  fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
).map(([base, segments, query]) => `${base}/${segments.join('/')}${query === undefined ? '' : `?${query}`}`);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
const header = fc.oneof(
  fc.tuple(fc.constantFrom('content-type'), fc.oneof(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON'), headerValue)),
  fc.tuple(fc.constantFrom('content-length'), fc.oneof(fc.nat().map(String), headerValue)),
  fc.tuple(fc.constantFrom('authorization'), fc.oneof(fc.constantFrom(`Bearer ${TOKEN}`, `Bearer ${READ_TOKEN}`, 'Bearer x', ''), headerValue)),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), headerValue),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('{}', '{"interval_seconds":60}', '{"__proto__":{"x":1}}', '[]', 'null', '{', '{"interval_seconds":1e400}'),
  fc.record({ interval_seconds: fc.oneof(fc.double(), fc.integer(), fc.string()) }).map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 16_000, max: 40_000 }).map((n) => 'x'.repeat(n)),
);

const request = fc.record({ method, path, headers: fc.array(header, { maxLength: 6 }), body });

function build(r: { method: string; path: string; headers: [string, string][]; body: string | Uint8Array | undefined }): Request | undefined {
  const upper = r.method.toUpperCase();
  try {
    return new Request(`http://fuzz.local${r.path}`, {
      method: r.method,
      headers: r.headers,
      body: upper === 'GET' || upper === 'HEAD' ? null : ((r.body ?? null) as BodyInit | null),
    });
  } catch {
    return undefined; // Not a request the fetch API can even build: nothing reaches a handler.
  }
}

async function checkResponse(response: Response, method: string): Promise<void> {
  expect(response).toBeInstanceOf(Response);
  expect(STATUSES.has(response.status)).toBe(true);
  const text = await response.text();
  if (method.toUpperCase() === 'HEAD') return expect(text).toBe('');
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/plain')) return expect(response.status).toBe(200);
  expect(type).toBe('application/json; charset=utf-8');
  const parsed = JSON.parse(text) as { error?: { status: number; code: string; message: string } };
  if (response.status >= 400) {
    expect(parsed.error?.status).toBe(response.status);
    expect(typeof parsed.error?.code).toBe('string');
    expect(typeof parsed.error?.message).toBe('string');
  }
}

describe('10 000 random requests', () => {
  const engine = new OptimizationEngine();
  let optimizeCalls = 0;
  Object.assign(engine, { getOptimizationReport: () => ({ summary: { efficiency_score: 70 } }), autoOptimize: () => (optimizeCalls++, { status: 'no_action_needed', count: 0, optimizations: [] }) });
  afterAll(() => engine.close());

  it('each gets a well-formed answer, and none changes anything without authorization', async () => {
    const guarded = createOptimizationHandler(engine, { authorize: bearerAuthorize, basePath: '/ops' });
    const open = createOptimizationHandler(engine, { authorize: 'allow-all' });
    let built = 0;
    await fc.assert(
      fc.asyncProperty(request, fc.boolean(), async (r, useOpen) => {
        const req = build(r);
        if (req === undefined) return;
        built++;
        const isAdmin = req.headers.get('authorization') === `Bearer ${TOKEN}`;
        const before = { enabled: engine.getAutonomousStatus().enabled, interval: engine.getAutonomousStatus().interval_seconds, optimizeCalls };
        const response = await (useOpen ? open : guarded)(req);
        await checkResponse(response, r.method);
        if (!useOpen && !isAdmin) {
          const after = engine.getAutonomousStatus();
          expect({ enabled: after.enabled, interval: after.interval_seconds, optimizeCalls }).toEqual(before);
        }
        if (response.status >= 400 && response.status !== 503) expect(optimizeCalls).toBe(before.optimizeCalls);
      }),
      { numRuns: 10_000 },
    );
    await engine.stopAutonomous();
    expect(built).toBeGreaterThan(9_000);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  }, 120_000);
});
