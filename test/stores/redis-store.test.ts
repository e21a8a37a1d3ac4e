import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisStore, type RedisStore } from '../../src/redis.js';
import { testCacheStore } from '../../src/testing.js';
import { connect, eventually, REDIS_URL, sleep, uniquePrefix, type NodeRedis } from './redis-helpers.js';

let client: NodeRedis;
let io: Redis;

beforeAll(async () => {
  client = await connect();
  io = new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true });
  io.on('error', () => undefined);
  await io.connect();
});

afterAll(async () => {
  client.destroy();
  io.disconnect();
});

testCacheStore(() => createRedisStore({ client, prefix: uniquePrefix('conformance'), timeoutMs: 2000 }), {
  describe, it, expect, name: 'Redis store, injected node-redis client',
});
testCacheStore(() => createRedisStore({ client: io, prefix: uniquePrefix('conformance-io'), timeoutMs: 2000 }), {
  describe, it, expect, name: 'Redis store, injected ioredis client',
});
testCacheStore(() => createRedisStore({ url: REDIS_URL, prefix: uniquePrefix('conformance-url'), timeoutMs: 2000 }), {
  describe, it, expect, name: 'Redis store, own client from a URL',
});

describe('createRedisStore', () => {
  it('keeps every key under its prefix, and clear() deletes that prefix only', async () => {
    const base = uniquePrefix('clear');
    const a = createRedisStore({ client, prefix: base });
    const b = createRedisStore({ client, prefix: `${base}x` });
    await a.set('v1:k', 'a', { ttlMs: 60_000 });
    await b.set('v1:k', 'b', { ttlMs: 60_000 });
    expect(await client.get(`${base}::v1:k`)).toBe('a');
    await a.clear();
    expect(await a.get('v1:k')).toBeUndefined();
    expect(await b.get('v1:k')).toBe('b');
    await b.clear();
  });

  it('clear() leaves the keys and locks of a prefix that starts with this one and a colon (X and X:staging)', async () => {
    const base = uniquePrefix('clear-nested');
    const stores = [base, `${base}:staging`, `${base}:v1`, `${base}:lock`].map((prefix) => createRedisStore({ client, prefix }));
    const [x, ...others] = stores as [RedisStore, ...RedisStore[]];
    for (const store of stores) {
      await store.set('v1:k', store.prefix, { ttlMs: 60_000 });
      expect(await store.acquire('v1:k', { ttlMs: 60_000 })).toBeDefined();
    }
    await x.clear();
    expect(await x.get('v1:k')).toBeUndefined();
    for (const store of others) {
      expect(await store.get('v1:k')).toBe(store.prefix);
      expect(await store.acquire('v1:k', { ttlMs: 60_000 })).toBeUndefined();
    }
    for (const store of stores) {
      await store.clear();
      await store.close();
    }
  });

  it('clear() of a prefix X:staging leaves the keys of X', async () => {
    const base = uniquePrefix('clear-outer');
    const outer = createRedisStore({ client, prefix: base });
    const inner = createRedisStore({ client, prefix: `${base}:staging` });
    await outer.set('staging:v1:k', 'outer', { ttlMs: 60_000 });
    await inner.set('v1:k', 'inner', { ttlMs: 60_000 });
    await inner.clear();
    expect(await outer.get('staging:v1:k')).toBe('outer');
    expect(await inner.get('v1:k')).toBeUndefined();
    await outer.clear();
  });

  it('refuses a prefix that could overlap another: with `::` or a trailing `:`', () => {
    for (const prefix of ['a::b', 'a:', '::', 'a*', 'a?', 'a[b]', 'a\\b']) {
      expect(() => createRedisStore({ client, prefix })).toThrow(/`prefix` must be a non-empty string without/);
    }
    expect(createRedisStore({ client, prefix: 'app:staging:eu-1' }).prefix).toBe('app:staging:eu-1');
  });

  it('clears more keys than one SCAN batch', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('many'), timeoutMs: 5000 });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => store.set(`k${i}`, 'x', { ttlMs: 60_000 })));
    await store.clear();
    const left = await client.sendCommand<[string, string[]]>(['SCAN', '0', 'MATCH', `${store.prefix}::*`, 'COUNT', '10000']);
    expect(left[1]).toEqual([]);
  });

  it('reads a value with its remaining Redis TTL (PTTL) in one command', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('get-ttl') });
    await store.set('k', 'v', { ttlMs: 30_000 });
    const read = await store.getWithTtl('k');
    expect(read?.value).toBe('v');
    expect(read?.ttlMs).toBeGreaterThan(0);
    expect(read?.ttlMs).toBeLessThanOrEqual(30_000);
    expect(await store.getWithTtl('absent')).toBeUndefined();
    await client.set(`${store.prefix}::forever`, 'x');
    expect(await store.getWithTtl('forever')).toEqual({ value: 'x', ttlMs: undefined });
    await store.clear();
  });

  it('stores a value with its TTL in Redis', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('ttl') });
    await store.set('k', 'v', { ttlMs: 30_000 });
    const pttl = await client.pTTL(`${store.prefix}::k`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
    await store.clear();
  });

  it('refuses to write and ignores on read a value over maxValueBytes', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('big'), maxValueBytes: 10 });
    await expect(store.set('k', '€€€€', { ttlMs: 1000 })).rejects.toMatchObject({ code: 'ERR_STORE' });
    await client.set(`${store.prefix}::k`, 'x'.repeat(11));
    expect(await store.get('k')).toBeUndefined();
    await store.clear();
  });

  it('keeps a held lock alive past its TTL until it is released', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('renew') });
    const token = await store.acquire('k', { ttlMs: 300 });
    expect(token).toBeTypeOf('string');
    await sleep(1000);
    expect(await store.acquire('k', { ttlMs: 300 })).toBeUndefined();
    await store.release('k', token!);
    expect(await store.acquire('k', { ttlMs: 300 })).toBeTypeOf('string');
    await store.clear();
    await store.close();
  });

  it.each([
    ['node-redis', () => client],
    ['ioredis', () => io],
  ] as const)('wakes waiters by pub/sub: one subscriber per store (%s), a message per release', async (_, pick) => {
    const store = createRedisStore({ client: pick(), prefix: uniquePrefix('pubsub'), timeoutMs: 2000 });
    const channel = `${store.prefix}::released`;
    const numsub = async (): Promise<number> => Number((await client.sendCommand<[string, number]>(['PUBSUB', 'NUMSUB', channel]))[1]);
    const listener = client.duplicate();
    listener.on('error', () => undefined);
    await listener.connect();
    const messages: string[] = [];
    await listener.subscribe(channel, (message) => void messages.push(message));
    const token = await store.acquire('v1:k', { ttlMs: 10_000 });
    const waits = [store.waitFor('v1:k', { timeoutMs: 30_000 }), store.waitFor('v1:k', { timeoutMs: 30_000 })];
    expect(await eventually(async () => (await numsub()) === 2)).toBe(true);
    await store.release('v1:k', token!);
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(await eventually(() => messages.length === 1)).toBe(true);
    expect(messages).toEqual(['v1:k']);
    await store.close();
    expect(await eventually(async () => (await numsub()) === 1)).toBe(true);
    listener.destroy();
  });

  it('rejects an aborted read with the signal reason', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('abort') });
    const reason = new Error('gone');
    await expect(store.get('k', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('refuses commands after close()', async () => {
    const store = createRedisStore({ url: REDIS_URL, prefix: uniquePrefix('closed') });
    expect(await eventually(async () => (await store.get('k').then(() => true, () => false)))).toBe(true);
    await store.close();
    await store.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('names bad options', () => {
    expect(() => createRedisStore({ prefix: 'p' })).toThrow(/exactly one of `client` and `url`, received neither/);
    expect(() => createRedisStore({ client, url: REDIS_URL, prefix: 'p' })).toThrow(/received both/);
    expect(() => createRedisStore({ client, prefix: '' })).toThrow(/`prefix`/);
    expect(() => createRedisStore({ client, prefix: 'a*' })).toThrow(/`prefix`/);
    expect(() => createRedisStore({ client, prefix: 'p', timeoutMs: 0 })).toThrow(/`timeoutMs`/);
    expect(() => createRedisStore({ url: '', prefix: 'p' })).toThrow(/`url`/);
    expect(() => createRedisStore({ client: {} as never, prefix: 'p' })).toThrow(/`client` must be a node-redis client/);
    expect(() => createRedisStore({ client, prefix: 'p', lockTtl: 1 } as never)).toThrow(/options\.lockTtl/);
  });

  it('says how to install `redis` when a URL is given without it', async () => {
    vi.resetModules();
    vi.doMock('redis', () => {
      throw new Error("Cannot find package 'redis'");
    });
    const { createRedisStore: create } = await import('../../src/redis.js');
    const store = create({ url: REDIS_URL, prefix: uniquePrefix('missing') });
    await expect(store.get('k')).rejects.toThrow(/Redis `GET` failed: .*npm install redis/);
    expect(store.health()).toMatchObject({ ok: false, lastError: expect.stringContaining('npm install redis') });
    vi.doUnmock('redis');
    await store.close();
  });
});
