import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus, EngineEvents } from '../../src/index.js';
import { createRedisStore, type RedisStore } from '../../src/redis.js';
import { fakeClock } from '../helpers.js';
import { connect, eventually, REDIS_URL, storeReady, TestRedis, uniquePrefix, type NodeRedis } from './redis-helpers.js';
import { killWorkers, startWorker, type Worker } from './worker-process.js';

let redis: NodeRedis;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await connect();
});

afterEach(async () => {
  killWorkers();
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

afterAll(() => {
  redis.destroy();
});

async function subscribers(prefix: string, url = REDIS_URL): Promise<number> {
  const client = url === REDIS_URL ? redis : await connect(url);
  try {
    return Number((await client.sendCommand<[string, number]>(['PUBSUB', 'NUMSUB', `${prefix}::invalidate`]))[1]);
  } finally {
    if (client !== redis) client.destroy();
  }
}

/** Two engines, each with its own Redis store on one prefix (two replicas, in one process). */
async function replicas(name: string, options: { maxStaleMs?: number } = {}, url = REDIS_URL): Promise<{ prefix: string; stores: RedisStore[]; engines: OptimizationEngine[] }> {
  const prefix = uniquePrefix(name);
  const stores = [0, 1].map(() => createRedisStore({ url, prefix, timeoutMs: 2000, ...options }));
  await Promise.all(stores.map(storeReady));
  const engines = stores.map((store) => new OptimizationEngine({ store }));
  closers.push(async () => {
    await stores[0]!.clear();
    await Promise.all(engines.map((engine) => engine.close()));
  });
  expect(await eventually(async () => (await subscribers(prefix, url)) === 2)).toBe(true);
  return { prefix, stores, engines };
}

async function valueKeys(prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}::v1:*`)).sort();
}

describe('invalidation across replicas over Redis', () => {
  it('a tag invalidated on one replica leaves the store and every replica\'s in-process cache', async () => {
    const { prefix, engines: [a, b] } = await replicas('tag');
    await a!.optimizeAiCall('q1', 'm', () => 'one', { tags: ['product:1'] });
    await a!.optimizeAiCall('q2', 'm', () => 'two', { tags: ['product:2'] });
    expect(await eventually(async () => (await valueKeys(prefix)).length === 2)).toBe(true);
    const status: CallStatus = {};
    expect(await b!.optimizeAiCall('q1', 'm', () => 'recomputed', { status })).toBe('one');
    expect(status.source).toBe('store');
    expect(b!.cache.get('q1', 'm')).toBe('one');
    const heard: EngineEvents['cache-invalidate'][] = [];
    b!.on('cache-invalidate', (e) => void heard.push(e));
    expect(await a!.invalidate({ tag: 'product:1' })).toEqual({ memory: 1, store: 1 });
    expect(await eventually(() => b!.cache.get('q1', 'm') === undefined)).toBe(true);
    expect(heard).toEqual([{ origin: 'remote', command: { type: 'match', tag: 'product:1' }, removed: 1 }]);
    expect(await valueKeys(prefix)).toHaveLength(1);
    const exec = vi.fn(() => 'fresh');
    expect(await b!.optimizeAiCall('q1', 'm', exec)).toBe('fresh');
    expect(await b!.optimizeAiCall('q2', 'm', () => 'recomputed')).toBe('two');
  });

  it('by model, by scope, by prompt and clear() reach the other replica and the store', async () => {
    const { prefix, engines: [a, b] } = await replicas('kinds');
    const fill = async (): Promise<void> => {
      for (const [prompt, model, scope] of [['p', 'm1', 't1'], ['p', 'm2', 't1'], ['p', 'm1', 't2'], ['q', 'm1', 't2']] as const) {
        await a!.optimizeAiCall(prompt, model, () => `${prompt}${model}${scope}`, { scope });
        await b!.optimizeAiCall(prompt, model, () => 'recomputed', { scope });
      }
    };
    await fill();
    expect(b!.cache.size).toBe(4);
    expect(await a!.invalidate({ model: 'm2' })).toEqual({ memory: 1, store: 1 });
    expect(await eventually(() => b!.cache.size === 3)).toBe(true);
    expect(await a!.clear({ scope: 't2' })).toEqual({ memory: 2, store: 2 });
    expect(await eventually(() => b!.cache.size === 1)).toBe(true);
    expect(await a!.delete('p', 'm1', { scope: 't1' })).toBe(true);
    expect(await eventually(() => b!.cache.size === 0)).toBe(true);
    expect(await valueKeys(prefix)).toEqual([]);
    await fill();
    expect(await a!.clear()).toEqual({ memory: 4, store: 4 });
    expect(await eventually(() => b!.cache.size === 0)).toBe(true);
    expect(await redis.keys(`${prefix}::*`)).toEqual([]);
  });

  it('writes index entries that expire with their values (no index outlives what it indexes)', async () => {
    const { prefix, engines: [a] } = await replicas('index-ttl');
    await a!.optimizeAiCall('p', 'm', () => 'v', { tags: ['t'], ttlMs: 60_000 });
    expect(await eventually(async () => (await redis.exists(`${prefix}::idx:t:t`)) === 1)).toBe(true);
    const ttl = await redis.pTTL(`${prefix}::idx:t:t`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.zRange(`${prefix}::idx:m:m`, 0, -1)).toHaveLength(1);
  });

  it('a replica whose subscriber reconnects drops what it shared with the store (it may have missed messages)', async () => {
    // A private server: killing its subscriber connections must not touch other tests'.
    const server = await TestRedis.start();
    closers.push(() => server.stop());
    const { prefix, engines: [a, b] } = await replicas('gap', {}, server.url);
    await a!.optimizeAiCall('p', 'm', () => 'v');
    await b!.optimizeAiCall('p', 'm', () => 'recomputed');
    expect(b!.cache.size).toBe(1);
    const heard: EngineEvents['cache-invalidate'][] = [];
    b!.on('cache-invalidate', (e) => void heard.push(e));
    a!.on('cache-invalidate', (e) => void heard.push(e));
    // Kill the subscriber connections: node-redis (url mode) reconnects and subscribes again.
    await server.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    expect(await eventually(() => heard.filter((e) => e.origin === 'resubscribe').length === 2)).toBe(true);
    expect(a!.cache.size + b!.cache.size).toBe(0);
    expect(await eventually(async () => (await subscribers(prefix, server.url)) === 2)).toBe(true);
    const status: CallStatus = {};
    expect(await b!.optimizeAiCall('p', 'm', () => 'recomputed', { status })).toBe('v');
    expect(status.source).toBe('store');
  });

  it('a subscriber that ends for good (injected client, no reconnect) is opened again later, and that is a gap too', async () => {
    const server = await TestRedis.start();
    const client = await connect(server.url);
    closers.push(async () => (client.destroy(), await server.stop()));
    const prefix = uniquePrefix('ended');
    const store = createRedisStore({ client, prefix, timeoutMs: 2000 });
    const engine = new OptimizationEngine({ store });
    closers.push(() => engine.close());
    expect(await eventually(async () => (await subscribers(prefix, server.url)) === 1)).toBe(true);
    await engine.optimizeAiCall('p', 'm', () => 'v');
    const heard: EngineEvents['cache-invalidate'][] = [];
    engine.on('cache-invalidate', (e) => void heard.push(e));
    await server.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    // The store retries 5 s after the subscriber ended (an unref'd timer), then drops what it shared.
    expect(await eventually(() => heard.some((e) => e.origin === 'resubscribe'), 15_000)).toBe(true);
    expect(engine.cache.size).toBe(0);
    expect(await subscribers(prefix, server.url)).toBe(1);
  }, 30_000);

  it('caps how long a shared answer lives in memory at maxStaleMs, then reads the store again', async () => {
    const prefix = uniquePrefix('max-stale');
    const store = createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000, maxStaleMs: 1000 });
    await storeReady(store);
    const clock = fakeClock();
    const engine = new OptimizationEngine({ store, clock });
    closers.push(async () => (await store.clear(), await engine.close()));
    await engine.optimizeAiCall('p', 'm', () => 'v');
    const exec = vi.fn(() => 'recomputed');
    const inMemory: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status: inMemory })).toBe('v');
    expect(inMemory.source).toBe('memory');
    clock.advance(1001);
    expect(await eventually(async () => (await valueKeys(prefix)).length === 1)).toBe(true);
    const fromStore: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status: fromStore })).toBe('v');
    expect(fromStore.source).toBe('store');
    expect(exec).not.toHaveBeenCalled();
    expect(() => createRedisStore({ url: REDIS_URL, prefix, maxStaleMs: 0 })).toThrow(/`maxStaleMs` must be a positive/);
  });

  it('ignores malformed and foreign messages on the channel', async () => {
    const { prefix, engines: [, b] } = await replicas('garbage');
    await b!.optimizeAiCall('p', 'm', () => 'v', { tags: ['t'] });
    const heard: EngineEvents['cache-invalidate'][] = [];
    b!.on('cache-invalidate', (e) => void heard.push(e));
    for (const text of ['not json', '{"v":1,"o":"x","c":{"type":"match","tag":"t","value":"x"}}', '{"v":2,"o":"x","c":{"type":"match"}}', '{"v":1,"c":{"type":"match"}}']) {
      await redis.publish(`${prefix}::invalidate`, text);
    }
    await redis.publish(`${prefix}::invalidate`, JSON.stringify({ v: 1, o: 'someone', c: { type: 'match', tag: 'other' } }));
    await redis.publish(`${prefix}::invalidate`, JSON.stringify({ v: 1, o: 'someone', c: { type: 'match', tag: 't' } }));
    // One channel delivers in order: once the last message is heard, every earlier one was handled.
    expect(await eventually(() => heard.length >= 2)).toBe(true);
    expect(heard).toEqual([
      { origin: 'remote', command: { type: 'match', tag: 'other' }, removed: 0 },
      { origin: 'remote', command: { type: 'match', tag: 't' }, removed: 1 },
    ]);
  });
});

describe('invalidation across processes over Redis', () => {
  async function workers(prefix: string, n: number): Promise<Worker[]> {
    const started = await Promise.all(Array.from({ length: n }, () => startWorker(prefix)));
    expect(await eventually(async () => (await subscribers(prefix)) === n, 20_000)).toBe(true);
    return started;
  }

  it('three processes: one invalidates a tag, the other two stop serving it from memory', async () => {
    const prefix = uniquePrefix('processes');
    closers.push(async () => void (await redis.unlink(await redis.keys(`${prefix}::*`)).catch(() => 0)));
    const [a, b, c] = await workers(prefix, 3);
    for (const w of [a!, b!, c!]) {
      w.send({ cmd: 'call', prompt: 'tagged', tags: ['doc:7'] });
      await w.next((m) => m.done === true);
      w.send({ cmd: 'call', prompt: 'other' });
      await w.next((m) => m.done === true);
    }
    for (const w of [a!, b!]) {
      w.send({ cmd: 'has', prompt: 'tagged' });
      expect(await w.next((m) => 'has' in m)).toEqual({ has: true });
    }
    c!.send({ cmd: 'invalidate', filter: { tag: 'doc:7' } });
    expect(await c!.next((m) => 'result' in m)).toEqual({ result: { memory: 1, store: 1 } });
    for (const w of [a!, b!]) {
      expect(await w.next((m) => m.invalidated === 'remote')).toMatchObject({ removed: 1, type: 'match' });
      w.send({ cmd: 'has', prompt: 'tagged' });
      expect(await w.next((m) => 'has' in m)).toEqual({ has: false });
      w.send({ cmd: 'has', prompt: 'other' });
      expect(await w.next((m) => 'has' in m)).toEqual({ has: true });
    }
    b!.send({ cmd: 'call', prompt: 'tagged', tags: ['doc:7'] });
    expect(await b!.next((m) => m.done === true)).toMatchObject({ results: [`answer computed by ${b!.pid}`] });
  }, 60_000);

  it('a delete by prompt on one process reaches the other', async () => {
    const prefix = uniquePrefix('processes-delete');
    closers.push(async () => void (await redis.unlink(await redis.keys(`${prefix}::*`)).catch(() => 0)));
    const [a, b] = await workers(prefix, 2);
    a!.send({ cmd: 'call', prompt: 'q', scope: 'tenant' });
    await a!.next((m) => m.done === true);
    b!.send({ cmd: 'call', prompt: 'q', scope: 'tenant' });
    expect(await b!.next((m) => m.done === true)).toMatchObject({ sources: ['store'] });
    a!.send({ cmd: 'delete', prompt: 'q', scope: 'tenant' });
    expect(await a!.next((m) => 'deleted' in m)).toEqual({ deleted: true });
    expect(await b!.next((m) => m.invalidated === 'remote')).toMatchObject({ removed: 1, type: 'keys' });
    b!.send({ cmd: 'has', prompt: 'q', scope: 'tenant' });
    expect(await b!.next((m) => 'has' in m)).toEqual({ has: false });
  }, 60_000);
});
