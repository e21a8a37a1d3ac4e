import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore, OptimizationEngine } from '../../src/index.js';
import type { CacheStore, CallStatus, EngineEvents } from '../../src/index.js';
import { fakeClock } from '../helpers.js';
import { createOptimizationHandler } from '../../src/http.js';
import { createRedisStore } from '../../src/redis.js';
import { freePort } from '../stores/redis-helpers.js';

const MODEL = 'llama3.1:8b';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function storeErrors(engine: OptimizationEngine): EngineEvents['store-error'][] {
  const seen: EngineEvents['store-error'][] = [];
  engine.on('store-error', (e) => void seen.push(e));
  return seen;
}

/** The full key of a request, as the engine computes it. */
async function keyOf(engine: OptimizationEngine, prompt: string, scope?: string): Promise<string> {
  const status: CallStatus = {};
  await engine.optimizeAiCall(prompt, MODEL, () => 'x', { cache: 'bypass', status, ...(scope === undefined ? {} : { scope }) });
  return status.key!;
}

/** The same store without `getWithTtl`: a store that does not say how long a value has left. */
function withoutTtl(store: CacheStore): CacheStore {
  return {
    name: store.name, get: (k) => store.get(k), set: (k, v, o) => store.set(k, v, o), delete: (k) => store.delete(k), clear: () => store.clear(),
    acquire: (k, o) => store.acquire!(k, o), release: (k, t) => store.release!(k, t), waitFor: (k, o) => store.waitFor!(k, o),
  };
}

/** A store whose every method fails, or never answers. */
function brokenStore(mode: 'reject' | 'hang', extra: Partial<CacheStore> = {}): CacheStore {
  const fail = (): Promise<never> => (mode === 'reject' ? Promise.reject(new Error('store down')) : new Promise<never>(() => undefined));
  return {
    name: 'broken', timeoutMs: 20, get: fail, set: fail, delete: fail, clear: fail,
    acquire: fail, release: fail, waitFor: fail, ...extra,
  };
}

describe('shared store (L2) behind the in-process cache', () => {
  it('serves a second engine from the store, reports it as a store hit, and promotes it to memory', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    const exec = vi.fn(async () => ({ text: 'answer', n: [1, 2] }));
    expect(await a.optimizeAiCall('q', MODEL, exec)).toEqual({ text: 'answer', n: [1, 2] });
    const hits: EngineEvents['cache-hit'][] = [];
    b.on('cache-hit', (e) => void hits.push(e));
    const first: CallStatus = {};
    expect(await b.optimizeAiCall('q', MODEL, exec, { status: first })).toEqual({ text: 'answer', n: [1, 2] });
    const second: CallStatus = {};
    await b.optimizeAiCall('q', MODEL, exec, { status: second });
    expect(exec).toHaveBeenCalledTimes(1);
    expect(first).toMatchObject({ outcome: 'hit', source: 'store' });
    expect(second).toMatchObject({ outcome: 'hit', source: 'memory' });
    expect(hits.map((h) => h.source)).toEqual(['store', 'memory']);
    expect(b.getCacheStats().performance_impact.requests_saved).toBe(2);
    expect(b.store).toBe(store);
  });

  it('keeps scopes apart in the store', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    await a.optimizeAiCall('q', MODEL, () => 'tenant a', { scope: 'a' });
    expect(await b.optimizeAiCall('q', MODEL, () => 'tenant b', { scope: 'b' })).toBe('tenant b');
    expect(await b.optimizeAiCall('q', MODEL, () => 'never', { scope: 'a' })).toBe('tenant a');
  });

  it('runs exec once for identical misses of two engines at once', async () => {
    const store = createMemoryStore();
    const engines = [new OptimizationEngine({ store }), new OptimizationEngine({ store })];
    const gate = deferred<void>();
    const exec = vi.fn(async () => {
      await gate.promise;
      return 'shared';
    });
    const calls = engines.flatMap((e) => Array.from({ length: 50 }, () => e.optimizeAiCall('same', MODEL, exec)));
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve();
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['shared']));
    expect(exec).toHaveBeenCalledTimes(1);
  });

  it('reports a call answered by another engine through the lock as coalesced from the store, not as a model call', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    const gate = deferred<void>();
    const holder = a.optimizeAiCall('q', MODEL, async (_p, _m, { reportUsage }) => {
      await gate.promise;
      reportUsage({ promptTokens: 7, outputTokens: 5 });
      return 'from a';
    });
    await new Promise((r) => setTimeout(r, 10));
    const exec = vi.fn(async () => 'from b');
    const statuses: [CallStatus, CallStatus] = [{}, {}];
    // The second call on b joins b's own flight, which waits on a's lock.
    const waiting = [b.optimizeAiCall('q', MODEL, exec, { status: statuses[0] }), b.optimizeAiCall('q', MODEL, exec, { status: statuses[1] })];
    await new Promise((r) => setTimeout(r, 10));
    gate.resolve();
    expect(await holder).toBe('from a');
    expect(await Promise.all(waiting)).toEqual(['from a', 'from a']);
    expect(exec).not.toHaveBeenCalled();
    for (const status of statuses) expect(status).toMatchObject({ outcome: 'coalesced', source: 'store' });
    const { summary } = b.getOptimizationReport();
    expect(summary).toMatchObject({ model_calls: 0, requests_saved: 2, effective_hit_rate_percent: 100, total_calls: 2 });
    expect(b.getCacheStats().performance_impact.requests_saved).toBe(2);
    expect(b.monitor.getHistory('responseTimeMs')).toEqual([]);
    expect(a.getOptimizationReport().summary).toMatchObject({ model_calls: 1, requests_saved: 0 });
  });

  it('lets a waiting engine compute when the lock holder errs, and passes the error to its own callers only', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    const gate = deferred<void>();
    const failing = a.optimizeAiCall('q', MODEL, async () => {
      await gate.promise;
      throw new Error('model down');
    });
    await new Promise((r) => setTimeout(r, 10));
    const waiting = b.optimizeAiCall('q', MODEL, async () => 'from b');
    gate.resolve();
    await expect(failing).rejects.toThrow('model down');
    expect(await waiting).toBe('from b');
  });

  it('takes over when the lock holder died without releasing (the lock expires)', async () => {
    const store = createMemoryStore({ lockTtlMs: 50 });
    const b = new OptimizationEngine({ store });
    const key = await keyOf(b, 'q');
    expect(await store.acquire!(key, { ttlMs: 50 })).toBeTypeOf('string');
    const exec = vi.fn(async () => 'taken over');
    expect(await b.optimizeAiCall('q', MODEL, exec)).toBe('taken over');
    expect(exec).toHaveBeenCalledTimes(1);
  });

  it('stops waiting for another holder after lockWaitMs and computes itself', async () => {
    const store = createMemoryStore({ lockWaitMs: 30 });
    const b = new OptimizationEngine({ store });
    const key = await keyOf(b, 'q');
    await store.acquire!(key, { ttlMs: 60_000 });
    expect(await b.optimizeAiCall('q', MODEL, async () => 'did not wait forever')).toBe('did not wait forever');
  });

  it('ends a waiting call at its own signal, leaving the holder unaffected', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    const gate = deferred<void>();
    const holder = a.optimizeAiCall('q', MODEL, async () => {
      await gate.promise;
      return 'from a';
    });
    await new Promise((r) => setTimeout(r, 10));
    const controller = new AbortController();
    const exec = vi.fn(async () => 'from b');
    const waiter = b.optimizeAiCall('q', MODEL, exec, { signal: controller.signal });
    const reason = new Error('user left');
    controller.abort(reason);
    await expect(waiter).rejects.toBe(reason);
    gate.resolve();
    expect(await holder).toBe('from a');
    expect(exec).not.toHaveBeenCalled();
  });

  it.each(['reject', 'hang'] as const)('fails open when every store call fails (%s): the call succeeds with store-error events', async (mode) => {
    const warn = vi.fn();
    const engine = new OptimizationEngine({ store: brokenStore(mode), logger: { warn } });
    const errors = storeErrors(engine);
    expect(await engine.optimizeAiCall('q', MODEL, () => 'still works')).toBe('still works');
    expect(await engine.optimizeAiCall('q2', MODEL, () => 'again')).toBe('again');
    await new Promise((r) => setTimeout(r, 40));
    expect(new Set(errors.map((e) => e.operation))).toEqual(new Set(['get', 'acquire', 'set']));
    expect(errors.every((e) => e.store === 'broken')).toBe(true);
    if (mode === 'hang') expect(errors[0]?.error).toMatchObject({ code: 'ERR_TIMEOUT' });
    // One warning per operation, however many failures.
    expect(warn.mock.calls.length).toBe(3);
  });

  it('warns again after a clock set back, instead of staying silent for the length of the jump', async () => {
    const warn = vi.fn();
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, store: brokenStore('reject'), logger: { warn } });
    const gets = (): number => warn.mock.calls.filter(([message]) => String(message).includes('failed to get')).length;
    await engine.optimizeAiCall('q1', MODEL, () => 'a');
    expect(gets()).toBe(1);
    clock.advance(-86_400_000);
    await engine.optimizeAiCall('q2', MODEL, () => 'b');
    expect(gets()).toBe(2);
  });

  /** A memory store behind a `ready()` the test settles, with the engine's deadline `timeoutMs`. */
  function connecting(timeoutMs: number): { store: CacheStore; ready: ReturnType<typeof deferred<void>> } {
    const memory = createMemoryStore();
    const ready = deferred<void>();
    const store: CacheStore = { ...withoutTtl(memory), name: 'connecting', timeoutMs, ready: () => ready.promise };
    return { store, ready };
  }

  it('holds store operations for a store not ready yet, within their deadline, then shares', async () => {
    const { store, ready } = connecting(5000);
    const engines = [new OptimizationEngine({ store }), new OptimizationEngine({ store })];
    const errors = engines.flatMap(storeErrors);
    const exec = vi.fn(async () => 'shared');
    const calls = engines.map((e) => e.optimizeAiCall('q', MODEL, exec));
    await new Promise((r) => setTimeout(r, 30));
    expect(exec).not.toHaveBeenCalled();
    ready.resolve();
    expect(await Promise.all(calls)).toEqual(['shared', 'shared']);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([]);
  });

  it('waits for a store that is not ready at most its deadline once per call, then skips it until it is ready', async () => {
    const { store, ready } = connecting(20);
    const engine = new OptimizationEngine({ store });
    const errors = storeErrors(engine);
    const timeouts = (): number => errors.filter((e) => (e.error as { code?: string }).code === 'ERR_TIMEOUT').length;
    expect(await engine.optimizeAiCall('first', MODEL, () => 'a')).toBe('a');
    expect(timeouts()).toBe(1);
    expect(errors[0]).toMatchObject({ operation: 'get', error: { message: expect.stringMatching(/was not ready for `get` within 40 ms/) } });
    expect(errors.slice(1).map((e) => e.operation)).toEqual(['acquire', 'set']);
    expect(errors.slice(1).every((e) => /skipped `\w+`: it is not ready yet/.test((e.error as Error).message))).toBe(true);
    expect(await engine.optimizeAiCall('second', MODEL, () => 'b')).toBe('b');
    expect(timeouts()).toBe(1);
    ready.resolve();
    await new Promise((r) => setTimeout(r, 5));
    await engine.optimizeAiCall('third', MODEL, () => 'c');
    await new Promise((r) => setTimeout(r, 5));
    const reader = new OptimizationEngine({ store });
    expect(await reader.optimizeAiCall('third', MODEL, () => 'not shared')).toBe('c');
  });

  it('stops holding when the store says it cannot get ready, and goes on without it', async () => {
    const store = { ...brokenStore('reject'), ready: () => Promise.reject(new Error('no connection')) };
    const engine = new OptimizationEngine({ store });
    const errors = storeErrors(engine);
    expect(await engine.optimizeAiCall('q', MODEL, () => 'still works')).toBe('still works');
    expect(errors.map((e) => e.operation)).toContain('get');
  });

  it('computes without waiting when waiting for the lock fails', async () => {
    const memory = createMemoryStore();
    const store: CacheStore = {
      name: 'no-wait', get: (k) => memory.get(k), set: (k, v, o) => memory.set(k, v, o), delete: (k) => memory.delete(k),
      clear: () => memory.clear(), acquire: async () => undefined, release: async () => undefined,
      waitFor: async () => Promise.reject(new Error('cannot wait')),
    };
    const engine = new OptimizationEngine({ store });
    const errors = storeErrors(engine);
    expect(await engine.optimizeAiCall('q', MODEL, () => 'computed')).toBe('computed');
    expect(errors.map((e) => e.operation)).toContain('wait');
  });

  it('refuses a value JSON would change with ERR_SERIALIZATION, and still returns it', async () => {
    const store = createMemoryStore();
    const engine = new OptimizationEngine({ store });
    const errors = storeErrors(engine);
    class Answer {
      text = 'x';
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const values: unknown[] = [
      { when: new Date(0) }, new Answer(), { n: Number.NaN }, [1, undefined], new Map(), { big: 1n }, cyclic,
    ];
    for (const [i, value] of values.entries()) expect(await engine.optimizeAiCall(`q${i}`, MODEL, () => value)).toEqual(value);
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toHaveLength(values.length);
    expect(errors.every((e) => (e.error as { code?: string }).code === 'ERR_SERIALIZATION')).toBe(true);
    expect(String((errors[0]?.error as Error).message)).toMatch(/`value.when` cannot be stored .* instance of Date/);
  });

  it('round-trips plain JSON with undefined properties, null and Uint8Array answers', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    const bytes = new Uint8Array([0, 1, 255, 128]);
    await a.optimizeAiCall('bytes', MODEL, () => bytes);
    await a.optimizeAiCall('json', MODEL, () => ({ a: null, b: undefined, c: [true, 1.5, 'é'] }));
    const read = await b.optimizeAiCall('bytes', MODEL, () => new Uint8Array());
    expect(read).toBeInstanceOf(Uint8Array);
    expect([...read]).toEqual([0, 1, 255, 128]);
    expect(await b.optimizeAiCall('json', MODEL, () => null)).toEqual({ a: null, c: [true, 1.5, 'é'] });
  });

  it('serves but does not store an answer larger than the store takes', async () => {
    const store = createMemoryStore({ maxValueBytes: 300 });
    const engine = new OptimizationEngine({ store });
    const errors = storeErrors(engine);
    const big = 'x'.repeat(400);
    expect(await engine.optimizeAiCall('q', MODEL, () => big)).toBe(big);
    expect(await store.get(await keyOf(engine, 'q'))).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('does not read or write the store for bypass, writes it on refresh, reads it for only-if-cached', async () => {
    const store = createMemoryStore();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    await a.optimizeAiCall('q', MODEL, () => 'bypassed', { cache: 'bypass' });
    await expect(b.optimizeAiCall('q', MODEL, () => 'x', { cache: 'only-if-cached' })).rejects.toMatchObject({ code: 'ERR_NOT_CACHED' });
    await a.optimizeAiCall('q', MODEL, () => 'refreshed', { cache: 'refresh' });
    await new Promise((r) => setTimeout(r, 5));
    expect(await b.optimizeAiCall('q', MODEL, () => 'x', { cache: 'only-if-cached' })).toBe('refreshed');
  });

  describe('entries it cannot trust are misses', () => {
    async function plant(text: (key: string) => string): Promise<{ engine: OptimizationEngine; key: string; store: CacheStore; errors: EngineEvents['store-error'][] }> {
      const store = createMemoryStore();
      const engine = new OptimizationEngine({ store });
      const key = await keyOf(engine, 'q', 'tenant');
      await store.set(key, text(key), { ttlMs: 60_000 });
      return { engine, key, store, errors: storeErrors(engine) };
    }
    const envelope = (key: string, d: string, extra = ''): string => `{"v":1,"k":${JSON.stringify(key)},"c":0,"e":1e15,"x":5,"n":0,"t":"j","d":${d}${extra}}`;

    it('an entry written under another key is deleted and recomputed', async () => {
      const { engine, key, store, errors } = await plant(() => envelope('v1:other:abc', '"wrong tenant"'));
      expect(await engine.optimizeAiCall('q', MODEL, () => 'right', { scope: 'tenant' })).toBe('right');
      expect(errors[0]?.error).toMatchObject({ code: 'ERR_SERIALIZATION' });
      await new Promise((r) => setTimeout(r, 5));
      expect(JSON.parse((await store.get(key))!)).toMatchObject({ k: key, d: 'right' });
    });

    it.each([
      ['__proto__', (key: string) => envelope(key, '{"__proto__":{"polluted":true}}')],
      ['constructor.prototype', (key: string) => envelope(key, '{"constructor":{"prototype":{"polluted":true}}}')],
      ['garbage', () => 'not json at all'],
      ['an array', () => '[1,2]'],
      ['no version', () => '{"k":"x"}'],
      ['missing fields', (key: string) => `{"v":1,"k":${JSON.stringify(key)}}`],
      ['an unknown encoding', (key: string) => envelope(key, '1').replace('"t":"j"', '"t":"z"')],
      ['bytes that are not a string', (key: string) => envelope(key, '1').replace('"t":"j"', '"t":"b"')],
      ['a __proto__ key spelt with a JSON escape', (key: string) => envelope(key, '{"\\u005f_proto__":{"polluted":true}}')],
      ['counters at -1e300', (key: string) => envelope(key, '"x"').replace('"x":5,"n":0', '"x":-1e300,"n":-1e300')],
      ['an expiry of 8.64e15 + 1', (key: string) => envelope(key, '"x"').replace('"e":1e15', '"e":8640000000000001')],
      ['a 200 000-deep nested array', (key: string) => envelope(key, `${'['.repeat(200_000)}${']'.repeat(200_000)}`)],
      ['invalid base64', (key: string) => envelope(key, '"%%%"').replace('"t":"j"', '"t":"b"')],
    ])('an entry with %s is refused, deleted, and nothing is polluted', async (_, text) => {
      const { engine, errors, store, key } = await plant(text);
      expect(await engine.optimizeAiCall('q', MODEL, () => 'fresh', { scope: 'tenant' })).toBe('fresh');
      expect(errors[0]?.error).toMatchObject({ code: 'ERR_SERIALIZATION' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await new Promise((r) => setTimeout(r, 5));
      expect(JSON.parse((await store.get(key))!)).toMatchObject({ d: 'fresh' });
    });

    it('an escaped __proto__ key never reaches the caller as an own property', async () => {
      const { engine } = await plant((key) => envelope(key, '{"\\u005f_proto__":{"isAdmin":true},"text":"hi"}'));
      const value = await engine.optimizeAiCall('q', MODEL, () => ({ text: 'fresh' }), { scope: 'tenant' });
      expect(Object.hasOwn(value, '__proto__')).toBe(false);
      expect((Object.assign({}, value) as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    });

    it('savings never count what an entry claims beyond range', async () => {
      const { engine } = await plant((key) => envelope(key, '"x"').replace('"x":5,"n":0', '"x":-1e300,"n":-1e300'));
      await engine.optimizeAiCall('q', MODEL, () => 'fresh', { scope: 'tenant' });
      await engine.optimizeAiCall('q', MODEL, () => 'again', { scope: 'tenant' });
      expect(engine.getCacheStats().performance_impact.time_saved_estimate_seconds).toBeGreaterThanOrEqual(0);
    });

    it('an entry of another format version is a miss, without an error', async () => {
      const { engine, errors } = await plant((key) => envelope(key, '"old"').replace('"v":1', '"v":2'));
      expect(await engine.optimizeAiCall('q', MODEL, () => 'fresh', { scope: 'tenant' })).toBe('fresh');
      expect(errors).toEqual([]);
    });

    it('an entry past its expiry time is a miss (a store that does not say its TTL)', async () => {
      const { engine } = await plant((key) => envelope(key, '"expired"').replace('"e":1e15', '"e":1'));
      const reader = new OptimizationEngine({ store: withoutTtl(engine.store as CacheStore) });
      expect(await reader.optimizeAiCall('q', MODEL, () => 'fresh', { scope: 'tenant' })).toBe('fresh');
    });

    it('a store answering something other than a string is a miss', async () => {
      const { acquire: _, ...rest } = brokenStore('reject');
      const store: CacheStore = { ...rest, get: async () => 42 as unknown as string };
      const engine = new OptimizationEngine({ store });
      const errors = storeErrors(engine);
      expect(await engine.optimizeAiCall('q', MODEL, () => 'fresh')).toBe('fresh');
      expect(errors[0]?.error).toMatchObject({ code: 'ERR_SERIALIZATION' });
    });
  });

  it('reports the store in engine.health(): degraded while the store says it is not ok', async () => {
    let ok = false;
    const store = { ...brokenStore('reject'), health: () => ({ ok, lastError: ok ? undefined : 'connection refused', since: 0 }) };
    const engine = new OptimizationEngine({ store });
    const degraded = await engine.health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.checks.store).toEqual({ status: 'degraded', reason: 'broken store unavailable: connection refused' });
    ok = true;
    expect((await engine.health()).checks.store).toEqual({ status: 'ok' });
    const { health: _, ...noHealth } = store;
    expect((await new OptimizationEngine({ store: noHealth }).health()).checks.store).toEqual({ status: 'ok' });
    expect((await new OptimizationEngine().health()).checks.store).toBeUndefined();
  });

  it.each([
    ['connect ECONNREFUSED 10.1.2.3:6379', 'connection refused'],
    ['getaddrinfo ENOTFOUND redis.internal.example', 'host not found'],
    ['Redis did not connect within 2000 ms (`connectTimeoutMs`)', 'timed out'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'authentication failed'],
    ['Socket closed unexpectedly', 'connection lost'],
    ['something else at cache-7.internal', 'its last operation failed'],
  ])('keeps the store\'s own message (%s) out of /health, naming only its cause', async (lastError, cause) => {
    const store = { ...brokenStore('reject'), health: () => ({ ok: false, lastError, since: 0 }) };
    const engine = new OptimizationEngine({ store });
    const handler = createOptimizationHandler(engine, { authorize: 'allow-all' });
    const body = await (await handler(new Request('http://localhost/health'))).text();
    expect(body).toContain(`broken store unavailable: ${cause}`);
    for (const secret of ['10.1.2.3', '6379', 'redis.internal', 'cache-7', 'WRONGPASS']) expect(body).not.toContain(secret);
    expect(store.health().lastError).toBe(lastError);
  });

  it('serves /health without the address of a Redis store that refuses connections', async () => {
    const port = await freePort();
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: 'health-address', connectTimeoutMs: 60_000 });
    const engine = new OptimizationEngine({ store });
    try {
      await store.ready().catch(() => undefined);
      expect(store.health().lastError).toContain(`127.0.0.1:${port}`);
      const handler = createOptimizationHandler(engine, { authorize: 'allow-all' });
      const body = await (await handler(new Request('http://localhost/health'))).text();
      expect(body).toContain('redis store unavailable: connection refused');
      expect(body).not.toContain('127.0.0.1');
      expect(body).not.toContain(String(port));
    } finally {
      await engine.close();
    }
  });

  it('names a `store` option that is not a store', () => {
    expect(() => new OptimizationEngine({ store: {} as CacheStore })).toThrow(/`store` must be a CacheStore/);
  });
});

describe('entry times come from the writer\'s clock', () => {
  const HOUR = 3_600_000;
  /** A writer whose clock is `skewMs` off the store's and the reader's, and a reader with a 1 s TTL. */
  function pair(skewMs: number, storeHasTtl = true) {
    const clock = fakeClock();
    const memory = createMemoryStore({ clock });
    const store = storeHasTtl ? memory : withoutTtl(memory);
    const writer = new OptimizationEngine({ store, clock: { now: () => clock.now() + skewMs } });
    const reader = new OptimizationEngine({ store, cache: { ttlMs: 1000 }, clock });
    return { clock, writer, reader };
  }

  it('a writer an hour ahead: the reader keeps the entry no longer than its own TTL and the store\'s', async () => {
    const { clock, writer, reader } = pair(HOUR);
    await writer.optimizeAiCall('q', MODEL, () => 'shared', { ttlMs: 1000 });
    await new Promise((r) => setTimeout(r, 5));
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed')).toBe('shared');
    clock.advance(2500);
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed')).toBe('computed');
  });

  it('a writer an hour ahead with a long TTL: the promoted entry lives one reader TTL', async () => {
    const { clock, writer, reader } = pair(HOUR);
    await writer.optimizeAiCall('q', MODEL, () => 'shared', { ttlMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5));
    const status: CallStatus = {};
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed', { status })).toBe('shared');
    expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
    clock.advance(1001);
    const again: CallStatus = {};
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed', { status: again })).toBe('shared');
    expect(again).toMatchObject({ outcome: 'hit', source: 'store' });
  });

  it('a writer an hour behind: fresh shared entries are still hits', async () => {
    const { writer, reader } = pair(-HOUR);
    await writer.optimizeAiCall('q', MODEL, () => 'shared', { ttlMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5));
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed')).toBe('shared');
  });

  it('without a store TTL, the writer\'s own TTL still caps an entry from a clock far ahead', async () => {
    const { clock, writer, reader } = pair(HOUR, false);
    await writer.optimizeAiCall('q', MODEL, () => 'shared', { ttlMs: 500 });
    await new Promise((r) => setTimeout(r, 5));
    expect(await reader.optimizeAiCall('q', MODEL, () => 'computed')).toBe('shared');
    clock.advance(600);
    expect(await reader.optimizeAiCall('q', MODEL, () => 'memory miss')).not.toBe('shared');
  });
});

describe('writes to a slow store', () => {
  it('stops writing when 1000 writes are in flight, and says so', async () => {
    const never = new Promise<never>(() => undefined);
    const store: CacheStore = {
      name: 'slow', timeoutMs: 60_000, get: async () => undefined, set: () => never, delete: async () => false, clear: async () => undefined,
    };
    const engine = new OptimizationEngine({ store });
    const errors: EngineEvents['store-error'][] = [];
    engine.on('store-error', (e) => void errors.push(e));
    await Promise.all(Array.from({ length: 1001 }, (_, i) => engine.optimizeAiCall(`q${i}`, MODEL, () => i)));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'set', error: { code: 'ERR_STORE' } });
  });
});
