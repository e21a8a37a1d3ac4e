import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus, EngineEvents } from '../../src/index.js';
import { createRedisStore, type RedisStore } from '../../src/redis.js';
import { connect, freePort, sleep, slowProxy, uniquePrefix, type NodeRedis } from './redis-helpers.js';

/**
 * A store's first connection (loading `redis`, then connecting) takes longer than its command
 * deadline: ~370 ms + 60–130 ms against the default `timeoutMs` of 200 ms. A proxy that holds
 * connections for 800 ms makes that happen deterministically, with `timeoutMs` 250.
 */
const CONNECT_DELAY_MS = 800;
const FAST = { timeoutMs: 250, retryAfterMs: 50 };

let client: NodeRedis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  client = await connect();
  return () => client.destroy();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function proxy(delayMs = CONNECT_DELAY_MS): Promise<string> {
  const p = await slowProxy(delayMs);
  cleanup.push(() => p.close());
  return p.url;
}

function store(url: string, options: Partial<Parameters<typeof createRedisStore>[0]> = {}): RedisStore {
  const s = createRedisStore({ url, prefix: uniquePrefix('startup'), ...FAST, ...options });
  cleanup.push(() => s.close());
  return s;
}

function storeErrors(engine: OptimizationEngine): EngineEvents['store-error'][] {
  const seen: EngineEvents['store-error'][] = [];
  engine.on('store-error', (e) => void seen.push(e));
  return seen;
}

describe('a url-mode store while its first connection is being made', () => {
  it('makes a direct clear() wait for the connection instead of failing, and stays healthy', async () => {
    const s = store(await proxy());
    await s.set('k', 'v', { ttlMs: 60_000 }).catch(() => undefined);
    const cleared = s.clear();
    // Well past `timeoutMs`, still connecting: not an outage.
    await sleep(FAST.timeoutMs * 2);
    expect(s.health()).toMatchObject({ ok: true, lastError: undefined });
    await expect(cleared).resolves.toBeUndefined();
    expect(await s.get('k')).toBeUndefined();
    expect(s.health().ok).toBe(true);
  });

  it('lets two engines starting together share: exec runs once, the waiting call is coalesced from the store', async () => {
    const url = await proxy();
    const prefix = uniquePrefix('startup-pair');
    const [sa, sb] = [store(url, { prefix }), store(url, { prefix })] as [RedisStore, RedisStore];
    const [a, b] = [new OptimizationEngine({ store: sa }), new OptimizationEngine({ store: sb })];
    const errors = [...storeErrors(a), ...storeErrors(b)];
    const exec = vi.fn(async () => {
      await sleep(200);
      return 'one answer';
    });
    const statuses: [CallStatus, CallStatus] = [{}, {}];
    const answers = await Promise.all([
      a.optimizeAiCall('startup question', 'm', exec, { status: statuses[0] }),
      b.optimizeAiCall('startup question', 'm', exec, { status: statuses[1] }),
    ]);
    expect(answers).toEqual(['one answer', 'one answer']);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(statuses.map((s) => s.outcome).sort()).toEqual(['coalesced', 'miss']);
    expect(errors).toEqual([]);
    // The answer was written: a third engine reads it.
    await sleep(20);
    const c = new OptimizationEngine({ store: sb });
    const status: CallStatus = {};
    expect(await c.optimizeAiCall('startup question', 'm', () => 'recomputed', { status })).toBe('one answer');
    expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
    await sa.clear();
  });

  it('ready() resolves once connected', async () => {
    const s = store(await proxy());
    await expect(s.ready()).resolves.toBeUndefined();
    expect(await s.get('k')).toBeUndefined();
  });

  it('ready() rejects when the connection does not come within connectTimeoutMs; Redis then counts as down', async () => {
    const s = store(await proxy(Number.POSITIVE_INFINITY), { connectTimeoutMs: 300, retryAfterMs: 10_000 });
    const read = s.get('k');
    await expect(s.ready()).rejects.toThrow(/Redis is unavailable: Redis did not connect within 300 ms/);
    await expect(read).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/Redis `GET` failed: Redis did not connect/) });
    expect(s.health()).toMatchObject({ ok: false, lastError: expect.stringContaining('did not connect within 300 ms') });
    await expect(s.clear()).rejects.toThrow(/Redis `SCAN` skipped: Redis is unavailable \(Redis did not connect within 300 ms/);
  });

  it('ready() rejects at once with the reason when Redis refuses the connection, and the engine goes on without it', async () => {
    const s = store(`redis://127.0.0.1:${await freePort()}`, { connectTimeoutMs: 60_000 });
    await expect(s.ready()).rejects.toThrow(/Redis is unavailable: .*ECONNREFUSED/);
    const engine = new OptimizationEngine({ store: s });
    expect(await engine.optimizeAiCall('q', 'm', () => 'still works')).toBe('still works');
  });

  it('ready() resolves at once with an injected client, and rejects after close()', async () => {
    const s = createRedisStore({ client, prefix: uniquePrefix('ready-injected') });
    await expect(s.ready()).resolves.toBeUndefined();
    await s.close();
    await expect(s.ready()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('a call whose signal aborts while the store connects ends with the signal reason', async () => {
    const s = store(await proxy());
    const reason = new Error('caller left');
    const controller = new AbortController();
    const read = s.get('k', { signal: controller.signal });
    controller.abort(reason);
    await expect(read).rejects.toBe(reason);
    expect(s.health().ok).toBe(true);
  });

  it('names a bad connectTimeoutMs', () => {
    expect(() => createRedisStore({ url: 'redis://127.0.0.1:1', prefix: 'p', connectTimeoutMs: 0 })).toThrow(/`connectTimeoutMs`/);
  });
});
