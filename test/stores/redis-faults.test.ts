import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus, EngineEvents } from '../../src/index.js';
import { createRedisStore, type RedisStore } from '../../src/redis.js';
import { eventually, freePort, sleep, storeReady, TestRedis, uniquePrefix } from './redis-helpers.js';

/** Fast settings so recovery happens within a test; the defaults are longer. */
const FAST = { timeoutMs: 100, retryAfterMs: 50 };

let server: TestRedis;

beforeAll(async () => {
  server = await TestRedis.start();
});

afterAll(async () => {
  await server.stop();
});

function engineOn(store: RedisStore): { engine: OptimizationEngine; errors: EngineEvents['store-error'][] } {
  const engine = new OptimizationEngine({ store });
  const errors: EngineEvents['store-error'][] = [];
  engine.on('store-error', (e) => void errors.push(e));
  return { engine, errors };
}

/** Calls with distinct prompts; every one must succeed with its own exec's answer. */
async function callsSucceed(engine: OptimizationEngine, label: string, n = 20): Promise<boolean> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => engine.optimizeAiCall(`${label} ${i}`, 'm', () => `answer ${label} ${i}`)));
  return answers.every((a, i) => a === `answer ${label} ${i}`);
}

/** True once a value written by `writer` is served to a fresh engine from the store. */
async function sharingWorks(writer: OptimizationEngine, store: RedisStore, label: string): Promise<boolean> {
  return eventually(async () => {
    const prompt = `${label} ${Math.random()}`;
    await writer.optimizeAiCall(prompt, 'm', () => 'shared');
    await sleep(10);
    const status: CallStatus = {};
    const reader = new OptimizationEngine({ store });
    await reader.optimizeAiCall(prompt, 'm', () => 'not shared', { status });
    return status.source === 'store';
  });
}

describe('the Redis store fails open and recovers by itself', () => {
  it('Redis down at start: calls succeed, health is degraded, and it recovers when Redis comes up', async () => {
    const port = await freePort();
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('down-at-start'), ...FAST });
    const { engine, errors } = engineOn(store);
    expect(await callsSucceed(engine, 'before')).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    // The calls may have ended before the refusal was seen (a call waits at most `timeoutMs` for the first connection).
    await expect(store.ready()).rejects.toThrow(/ECONNREFUSED/);
    expect(store.health()).toMatchObject({ ok: false });
    expect(store.health().lastError).toBeTypeOf('string');
    expect((await engine.health()).checks.store?.status).toBe('degraded');
    const late = await TestRedis.startOn(port);
    try {
      expect(await sharingWorks(engine, store, 'after')).toBe(true);
      expect(store.health().ok).toBe(true);
      expect((await engine.health()).checks.store).toEqual({ status: 'ok' });
    } finally {
      await store.close();
      await late.stop();
    }
  });

  it('Redis dying mid-run and restarting: every call succeeds, and sharing resumes without a restart', async () => {
    const store = createRedisStore({ url: server.url, prefix: uniquePrefix('restart'), ...FAST });
    const { engine, errors } = engineOn(store);
    expect(await sharingWorks(engine, store, 'before')).toBe(true);
    await server.stop();
    expect(await callsSucceed(engine, 'during')).toBe(true);
    expect(await callsSucceed(engine, 'during again')).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(store.health().ok).toBe(false);
    await server.start();
    expect(await sharingWorks(engine, store, 'after')).toBe(true);
    expect(await eventually(() => store.health().ok)).toBe(true);
    await store.close();
  });

  it('Redis too slow (CLIENT PAUSE): calls succeed past timeoutMs with ERR_TIMEOUT store errors', async () => {
    const store = createRedisStore({ url: server.url, prefix: uniquePrefix('slow'), ...FAST });
    const { engine, errors } = engineOn(store);
    expect(await sharingWorks(engine, store, 'before')).toBe(true);
    await server.command(['CLIENT', 'PAUSE', '1500', 'ALL']);
    // One call waits for at most one store deadline: after a timeout its next commands are skipped.
    const timeoutsPerCall: number[] = [];
    for (let i = 0; i < 30; i++) {
      const before = errors.length;
      expect(await engine.optimizeAiCall(`sequential ${i}`, 'm', () => i)).toBe(i);
      timeoutsPerCall.push(errors.slice(before).filter((e) => (e.error as { code?: string }).code === 'ERR_TIMEOUT').length);
    }
    expect(timeoutsPerCall.reduce((a, b) => a + b)).toBeGreaterThan(0);
    expect(await callsSucceed(engine, 'paused')).toBe(true);
    expect(Math.max(...timeoutsPerCall)).toBeLessThanOrEqual(1);
    expect(await sharingWorks(engine, store, 'after')).toBe(true);
    await store.close();
  });

  it('Redis flushed: calls succeed and recompute what was lost', async () => {
    const store = createRedisStore({ url: server.url, prefix: uniquePrefix('flush'), timeoutMs: 2000 });
    await storeReady(store);
    const { engine, errors } = engineOn(store);
    await engine.optimizeAiCall('q', 'm', () => 'first');
    await sleep(10);
    await server.command(['FLUSHALL']);
    const fresh = new OptimizationEngine({ store });
    expect(await fresh.optimizeAiCall('q', 'm', () => 'recomputed')).toBe('recomputed');
    expect(await engine.optimizeAiCall('q', 'm', () => 'unused')).toBe('first');
    expect(errors).toEqual([]);
    await store.close();
  });

  it('an injected ioredis client with its offline queue on is bounded by timeoutMs while Redis is down', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    client.on('error', () => undefined);
    const store = createRedisStore({ client, prefix: uniquePrefix('ioredis-outage'), ...FAST });
    const { engine, errors } = engineOn(store);
    expect(await sharingWorks(engine, store, 'before')).toBe(true);
    await server.stop();
    expect(await callsSucceed(engine, 'during')).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    await server.start();
    expect(await sharingWorks(engine, store, 'after')).toBe(true);
    client.disconnect();
  });
});


describe('a Redis that answers with an error reply is not down', () => {
  it('a key of the wrong type at one request is a miss for that request only: the store stays healthy and repairs the key', async () => {
    const prefix = uniquePrefix('wrongtype');
    const raw = new Redis(server.url, { lazyConnect: true });
    await raw.connect();
    try {
      const a = createRedisStore({ url: server.url, prefix, timeoutMs: 2000 });
      const b = createRedisStore({ url: server.url, prefix, timeoutMs: 2000 });
      await Promise.all([a.ready(), b.ready()]);
      const { engine: ea } = engineOn(a);
      const { engine: eb, errors } = engineOn(b);
      await ea.optimizeAiCall('good', 'm', () => 'from a');
      const bad: CallStatus = {};
      await ea.optimizeAiCall('bad', 'm', () => 'x', { cache: 'bypass', status: bad });
      await raw.rpush(`${prefix}::${bad.key ?? ''}`, 'junk');
      expect(await eb.optimizeAiCall('bad', 'm', () => 'fresh')).toBe('fresh');
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect([e.operation, (e.error as Error).message]).toEqual(['get', expect.stringMatching(/^Redis refused `EVAL`: WRONGTYPE/)]);
      expect(b.health().ok).toBe(true);
      // Another request is still served from the store by B, not recomputed.
      const status: CallStatus = {};
      expect(await eb.optimizeAiCall('good', 'm', () => 'recomputed', { status })).toBe('from a');
      expect(status.source).toBe('store');
      // B's answer replaced the wrong-typed key.
      expect(await eventually(async () => (await raw.type(`${prefix}::${bad.key ?? ''}`)) === 'string')).toBe(true);
      await Promise.all([ea.close(), eb.close()]);
    } finally {
      raw.disconnect();
    }
  });

  it('a call with ttlMs 1e19 does not switch the store off: its entry is written with a TTL Redis takes', async () => {
    const prefix = uniquePrefix('huge-ttl');
    const a = createRedisStore({ url: server.url, prefix, timeoutMs: 2000 });
    const b = createRedisStore({ url: server.url, prefix, timeoutMs: 2000 });
    await Promise.all([a.ready(), b.ready()]);
    const { engine: ea, errors } = engineOn(a);
    const { engine: eb } = engineOn(b);
    await ea.optimizeAiCall('forever', 'm', () => 'kept', { ttlMs: 1e19 });
    expect(await eventually(async () => {
      const status: CallStatus = {};
      await eb.optimizeAiCall('forever', 'm', () => 'recomputed', { status });
      return status.source === 'store';
    })).toBe(true);
    expect(errors).toEqual([]);
    expect(a.health().ok).toBe(true);
    await Promise.all([ea.close(), eb.close()]);
  });

  it('after a failure, a clock set back an hour does not keep the store switched off for that hour', async () => {
    let now = 1_000_000;
    const port = await freePort();
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('clock-back'), clock: { now: () => now }, ...FAST, connectTimeoutMs: 300 });
    await expect(store.ready()).rejects.toThrow();
    now -= 3_600_000;
    await expect(store.get('k')).rejects.toThrow(/skipped/);
    now += 60;
    // retryAfterMs (50 ms) later on the clock as set: a probe is let through (it fails against the dead port, not "skipped").
    await expect(store.get('k')).rejects.toThrow(/^Redis `GET` (failed|did not answer)/);
    await store.close();
  });
});
