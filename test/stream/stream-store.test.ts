import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  OptimizationEngine, createMemoryStore, isOptimizerError,
  type CacheStore, type CallStatus, type StreamExecFunction,
} from '../../src/index.js';
import { parseEnvelope } from '../../src/cache/envelope.js';
import { chunk, collect, fakeStreamExec, flush, lastDone, MODEL, type Chunk } from './fake-source.js';

const STORY = [chunk('Once'), chunk(' upon', true)];

/** A memory store whose calls are counted and whose writes can be awaited. */
function countingStore(inner: CacheStore = createMemoryStore()) {
  const gets: string[] = [];
  const sets: { key: string; value: string; ttlMs: number }[] = [];
  let written: Promise<void> = Promise.resolve();
  const store: CacheStore = {
    ...inner,
    name: 'counting',
    get: (key) => (gets.push(key), inner.get(key)),
    set: (key, value, options) => {
      sets.push({ key, value, ttlMs: options.ttlMs });
      written = inner.set(key, value, options);
      return written;
    },
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
  };
  return { store, gets, sets, written: () => written };
}

/** A store that never holds anything, whose reads answer as `get` says. */
function storeWithGet(get: CacheStore['get']): CacheStore {
  return { name: 'scripted', get, set: () => Promise.resolve(), delete: () => Promise.resolve(false), clear: () => Promise.resolve() };
}

/** A streaming exec that yields `chunks` and counts its runs. */
function story(chunks: Chunk[] = STORY): { exec: StreamExecFunction<Chunk>; runs: () => number } {
  let runs = 0;
  const exec: StreamExecFunction<Chunk> = async function* () {
    runs++;
    await Promise.resolve();
    yield* chunks;
  };
  return { exec, runs: () => runs };
}

const engines: OptimizationEngine[] = [];
function engineOn(store: CacheStore, options: ConstructorParameters<typeof OptimizationEngine>[0] = {}) {
  const engine = new OptimizationEngine({ store, retry: false, ...options });
  engines.push(engine);
  const open = (exec: StreamExecFunction<Chunk>, opts: Parameters<typeof engine.optimizeAiStream<Chunk>>[3] = {}, prompt = 'tell me a story') =>
    engine.optimizeAiStream(prompt, MODEL, exec, { isComplete: lastDone, ...opts });
  return { engine, open };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('optimizeAiStream with a shared store (L2)', () => {
  it('writes a complete stream to the store as its chunk list, in the same envelope, under a key apart from optimizeAiCall entries', async () => {
    const shared = countingStore();
    const { engine, open } = engineOn(shared.store, { cache: { ttlMs: 60_000 } });
    expect(await collect(open(story().exec))).toEqual(STORY);
    await shared.written();
    expect(shared.sets).toHaveLength(1);
    const [written] = shared.sets;
    expect(written?.key).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(written?.ttlMs).toBe(60_000);
    expect(parseEnvelope(written!.value, written!.key)?.value).toEqual(STORY);

    await engine.optimizeAiCall('tell me a story', MODEL, () => 'a whole answer');
    await shared.written();
    expect(shared.sets).toHaveLength(2);
    expect(shared.sets[1]?.key).not.toBe(written?.key);
  });

  it('replays a chunk list another engine stored, without running execStream, and promotes it to L1', async () => {
    const shared = countingStore();
    const a = engineOn(shared.store);
    const b = engineOn(shared.store);
    const first = story();
    expect(await collect(a.open(first.exec))).toEqual(STORY);
    await shared.written();

    const second = story([chunk('never')]);
    const status: CallStatus = {};
    const replayed = b.open(second.exec, { status });
    await replayed.ready;
    expect(await collect(replayed)).toEqual(STORY);
    expect(second.runs()).toBe(0);
    expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
    expect(b.engine.cache.size).toBe(1);
    expect(b.engine.getCacheStats().performance_impact.requests_saved).toBe(1);

    const reads = shared.gets.length;
    const again: CallStatus = {};
    expect(await collect(b.open(second.exec, { status: again }))).toEqual(STORY);
    expect(again).toMatchObject({ outcome: 'hit', source: 'memory' });
    expect(shared.gets).toHaveLength(reads);
  });

  it('never writes a stream that was incomplete, failed or abandoned', async () => {
    const shared = countingStore();
    const { open } = engineOn(shared.store);
    await collect(open(story([chunk('cut off')]).exec, {}, 'incomplete'));
    const failing: StreamExecFunction<Chunk> = async function* () {
      await Promise.resolve();
      yield chunk('a');
      throw new Error('model crashed');
    };
    await collect(open(failing, {}, 'failed')).catch(() => undefined);
    const fake = fakeStreamExec<Chunk>();
    const left = open(fake.exec, {}, 'abandoned');
    await flush();
    fake.opened[0]?.push(chunk('partial'));
    await left.next();
    await left.return();
    await flush();
    expect(shared.sets).toHaveLength(0);
  });

  it('joins a stream in flight in this process without reading the store, and reads the store once for concurrent misses', async () => {
    const shared = countingStore();
    const { engine, open } = engineOn(shared.store);
    const fake = fakeStreamExec<Chunk>();
    const a = open(fake.exec);
    const b = open(fake.exec);
    await flush();
    expect(shared.gets).toHaveLength(1);
    expect(fake.opened).toHaveLength(1);
    const c = open(fake.exec);
    expect(shared.gets).toHaveLength(1);
    fake.opened[0]?.push(chunk('one', true));
    fake.opened[0]?.end();
    expect(await Promise.all([collect(a), collect(b), collect(c)])).toEqual([[chunk('one', true)], [chunk('one', true)], [chunk('one', true)]]);
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, coalesced: 2 });
  });

  it('fails open: a store that rejects every call emits store-error and the stream is served from execStream', async () => {
    const broken: CacheStore = {
      name: 'broken',
      get: () => Promise.reject(new Error('store down')),
      set: () => Promise.reject(new Error('store down')),
      delete: () => Promise.reject(new Error('store down')),
      clear: () => Promise.resolve(),
    };
    const { engine, open } = engineOn(broken);
    const errors: string[] = [];
    engine.on('store-error', ({ operation }) => errors.push(operation));
    const run = story();
    expect(await collect(open(run.exec))).toEqual(STORY);
    await flush();
    expect(errors).toEqual(['get', 'set']);
    expect(await collect(open(run.exec))).toEqual(STORY);
    expect(run.runs()).toBe(1);
  });

  it("gives up on a store read at the store's deadline and streams from execStream", async () => {
    vi.useFakeTimers();
    const hanging: CacheStore = {
      name: 'hanging', timeoutMs: 100,
      get: () => new Promise<never>(() => undefined),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(false),
      clear: () => Promise.resolve(),
    };
    const { engine, open } = engineOn(hanging);
    const errors: unknown[] = [];
    engine.on('store-error', ({ error }) => errors.push(error));
    const run = story();
    const stream = open(run.exec);
    let settled = false;
    void stream.ready.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(119);
    expect(run.runs()).toBe(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await collect(stream)).toEqual(STORY);
    expect(run.runs()).toBe(1);
    expect(isOptimizerError(errors[0]) && errors[0].code).toBe('ERR_TIMEOUT');
  });

  it('a consumer that aborts or returns during the store read starts no upstream stream', async () => {
    let release!: () => void;
    const slow = storeWithGet(() => new Promise<undefined>((resolve) => (release = () => resolve(undefined))));
    const { engine, open } = engineOn(slow);
    const run = story();
    const aborted = open(run.exec, {}, 'aborted');
    const pending = aborted.next();
    aborted.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');

    const returned = open(run.exec, {}, 'returned');
    expect(await returned.return()).toEqual({ done: true, value: undefined });
    expect(await returned.next()).toEqual({ done: true, value: undefined });

    const thrown = open(run.exec, {}, 'thrown');
    const oops = new Error('consumer failed');
    await expect((thrown as Required<typeof thrown>).throw(oops)).rejects.toBe(oops);
    expect(await thrown.next()).toEqual({ done: true, value: undefined });

    const controller = new AbortController();
    const signalled = open(run.exec, { signal: controller.signal }, 'signalled');
    controller.abort(new Error('signal'));
    await expect(signalled.ready).rejects.toThrow('signal');
    release();
    await flush();
    expect(run.runs()).toBe(0);
    expect(engine.monitor.outcomes.error).toBe(4);
  });

  it("answers 'only-if-cached' from the store, and fails with ERR_NOT_CACHED when the store has nothing either", async () => {
    const shared = countingStore();
    const a = engineOn(shared.store);
    const b = engineOn(shared.store);
    await collect(a.open(story().exec));
    await shared.written();
    const run = story();
    expect(await collect(b.open(run.exec, { cache: 'only-if-cached' }))).toEqual(STORY);
    const missing = await b.open(run.exec, { cache: 'only-if-cached' }, 'another prompt').ready.catch((e: unknown) => e);
    expect(isOptimizerError(missing) && missing.code).toBe('ERR_NOT_CACHED');
    expect(run.runs()).toBe(0);
  });

  it("'refresh' skips the store read and writes the new stream to the store", async () => {
    const shared = countingStore();
    const { open } = engineOn(shared.store);
    await collect(open(story().exec));
    const reads = shared.gets.length;
    const fresh = [chunk('new', true)];
    expect(await collect(open(story(fresh).exec, { cache: 'refresh' }))).toEqual(fresh);
    await shared.written();
    expect(shared.gets).toHaveLength(reads);
    expect(shared.sets).toHaveLength(2);
    const b = engineOn(shared.store);
    expect(await collect(b.open(story().exec))).toEqual(fresh);
  });

  it('ends a stream waiting on the store with ERR_CLOSED when the engine closes', async () => {
    const slow = storeWithGet(() => new Promise<never>(() => undefined));
    const { engine, open } = engineOn(slow);
    const run = story();
    const stream = open(run.exec);
    await engine.close();
    const error = await collect(stream).catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code).toBe('ERR_CLOSED');
    expect(run.runs()).toBe(0);
  });

  it("keeps a stream's own miss cause when another call's lookup runs during its store read", async () => {
    let now = 1_000_000;
    const shared = countingStore();
    const { open } = engineOn(shared.store, { clock: { now: () => now } });
    await collect(open(story().exec, { ttlMs: 1000 }, 'p'));
    await shared.written();
    now += 5000;
    const status: CallStatus = {};
    const expired = open(story().exec, { status }, 'p');
    const other = open(story().exec, {}, 'q');
    expect(await collect(expired)).toEqual(STORY);
    await collect(other);
    expect(status).toMatchObject({ outcome: 'miss', missCause: 'expired' });
  });

  it('two engines that miss the same stream at once each stream it (no cross-instance coalescing for streams)', async () => {
    const shared = countingStore();
    const a = engineOn(shared.store);
    const b = engineOn(shared.store);
    const run = story();
    expect(await Promise.all([collect(a.open(run.exec)), collect(b.open(run.exec))])).toEqual([STORY, STORY]);
    expect(run.runs()).toBe(2);
  });
});
