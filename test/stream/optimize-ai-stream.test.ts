import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { OptimizationEngine, isOptimizerError, type CallStatus } from '../../src/index.js';
import { chunk, collect, fakeStreamExec, flush, lastDone, MODEL, type Chunk } from './fake-source.js';


function setup(engineOptions: ConstructorParameters<typeof OptimizationEngine>[0] = {}) {
  const engine = new OptimizationEngine(engineOptions);
  const fake = fakeStreamExec<Chunk>();
  const open = (prompt = 'tell me a story', options: Parameters<typeof engine.optimizeAiStream<Chunk>>[3] = {}) =>
    engine.optimizeAiStream(prompt, MODEL, fake.exec, { isComplete: lastDone, ...options });
  return { engine, fake, open };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('optimizeAiStream: miss, store, replay', () => {
  it('streams a miss through as it arrives and replays the stored chunks on the next identical call', async () => {
    const { engine, fake, open } = setup();
    const first = open();
    const reading = first.next();
    await flush();
    expect(fake.opened).toHaveLength(1);
    fake.opened[0]?.push(chunk('Once'));
    expect(await reading).toEqual({ done: false, value: chunk('Once') });
    fake.opened[0]?.push(chunk(' upon', true));
    fake.opened[0]?.end();
    expect(await collect(first)).toEqual([chunk(' upon', true)]);

    const status: CallStatus = {};
    const second = open('tell me a story', { status });
    await second.ready;
    expect(await collect(second)).toEqual([chunk('Once'), chunk(' upon', true)]);
    expect(fake.opened).toHaveLength(1);
    expect(status.outcome).toBe('hit');
    expect(engine.cache.getStats()).toMatchObject({ hits: 1, misses: 1, writes: 1, size: 1 });
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, hit: 1 });
  });

  it('does not store a stream that ended incomplete, and runs the next identical call again', async () => {
    const { engine, fake, open } = setup();
    const status: CallStatus = {};
    const first = open('p', { status });
    await flush();
    fake.opened[0]?.push(chunk('cut off'));
    fake.opened[0]?.end();
    expect(await collect(first)).toEqual([chunk('cut off')]);
    expect(status.stored).toBe(false);
    expect(engine.cache.size).toBe(0);
    open('p');
    await flush();
    expect(fake.opened).toHaveLength(2);
  });

  it('stores every stream that ends without error when no isComplete is given', async () => {
    const engine = new OptimizationEngine();
    const fake = fakeStreamExec<string>();
    const first = engine.optimizeAiStream('p', MODEL, fake.exec);
    await flush();
    fake.opened[0]?.push('a');
    fake.opened[0]?.end();
    expect(await collect(first)).toEqual(['a']);
    expect(await collect(engine.optimizeAiStream('p', MODEL, fake.exec))).toEqual(['a']);
    expect(fake.opened).toHaveLength(1);
  });

  it('keeps stream entries apart from optimizeAiCall entries of the same request', async () => {
    const { engine, fake, open } = setup();
    await engine.optimizeAiCall('p', MODEL, () => 'a whole answer');
    const stream = open('p');
    await flush();
    expect(fake.opened).toHaveLength(1);
    fake.opened[0]?.push(chunk('x', true));
    fake.opened[0]?.end();
    expect(await collect(stream)).toEqual([chunk('x', true)]);
    expect(await engine.optimizeAiCall('p', MODEL, () => 'other')).toBe('a whole answer');
  });

  it('gives each consumer its own copy of every chunk', async () => {
    const { fake, open } = setup();
    const a = open();
    const b = open();
    await flush();
    fake.opened[0]?.push(chunk('same', true));
    fake.opened[0]?.end();
    const [fromA] = await collect(a);
    if (fromA !== undefined) fromA.text = 'changed';
    expect(await collect(b)).toEqual([chunk('same', true)]);
    expect(await collect(open())).toEqual([chunk('same', true)]);
  });

  it('replays with the original gaps between chunks when replay is "original"', async () => {
    vi.useFakeTimers();
    let now = 0;
    const { fake, open } = setup({ clock: { now: () => now } });
    const first = open();
    await vi.advanceTimersByTimeAsync(0);
    fake.opened[0]?.push(chunk('a'));
    await vi.advanceTimersByTimeAsync(0);
    now = 300;
    fake.opened[0]?.push(chunk('b', true));
    fake.opened[0]?.end();
    await collect(first);

    const replay = open('tell me a story', { replay: 'original' });
    expect(await replay.next()).toEqual({ done: false, value: chunk('a') });
    let second: IteratorResult<Chunk> | undefined;
    void replay.next().then((r) => (second = r));
    await vi.advanceTimersByTimeAsync(299);
    expect(second).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(second).toEqual({ done: false, value: chunk('b', true) });

    const instant = open();
    expect(await collect(instant)).toHaveLength(2);
  });
});

describe('optimizeAiStream: sharing one upstream', () => {
  it('gives concurrent identical streams one upstream; a late joiner reads the prefix, then live chunks', async () => {
    const { engine, fake, open } = setup();
    const early = open();
    await flush();
    fake.opened[0]?.push(chunk('one '));
    fake.opened[0]?.push(chunk('two '));
    await flush();
    const late = open();
    const lateRead = collect(late);
    const earlyRead = collect(early);
    await flush();
    fake.opened[0]?.push(chunk('three', true));
    fake.opened[0]?.end();
    const expected = [chunk('one '), chunk('two '), chunk('three', true)];
    expect(await earlyRead).toEqual(expected);
    expect(await lateRead).toEqual(expected);
    expect(fake.opened).toHaveLength(1);
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, coalesced: 1 });
    expect(engine.getCacheStats().performance_impact.requests_saved).toBe(1);
  });

  it('ends only the consumer that breaks out early; the others read to the end and the stream is stored', async () => {
    const { engine, fake, open } = setup();
    const quitter = open();
    const stayer = open();
    await flush();
    fake.opened[0]?.push(chunk('a'));
    for await (const c of quitter) {
      expect(c).toEqual(chunk('a'));
      break;
    }
    fake.opened[0]?.push(chunk('b', true));
    fake.opened[0]?.end();
    expect(await collect(stayer)).toEqual([chunk('a'), chunk('b', true)]);
    expect(fake.opened[0]?.aborted).toBe(false);
    expect(engine.cache.size).toBe(1);
  });

  it('aborting one consumer rejects its pending read with an AbortError and leaves the others reading', async () => {
    const { fake, open } = setup();
    const aborted = open();
    const other = open();
    await flush();
    const pending = aborted.next();
    aborted.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(aborted.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.opened[0]?.aborted).toBe(false);
    fake.opened[0]?.push(chunk('z', true));
    fake.opened[0]?.end();
    expect(await collect(other)).toEqual([chunk('z', true)]);
  });

  it('aborts the upstream once every consumer has gone, stores nothing and starts afresh next time', async () => {
    const { engine, fake, open } = setup();
    const a = open();
    const b = open();
    await flush();
    fake.opened[0]?.push(chunk('partial'));
    a.abort();
    expect(fake.opened[0]?.aborted).toBe(false);
    await b.return();
    expect(fake.opened[0]?.aborted).toBe(true);
    expect(engine.cache.size).toBe(0);
    open();
    await flush();
    expect(fake.opened).toHaveLength(2);
    expect(engine.monitor.outcomes.error).toBe(1);
  });

  it("stops a consumer when its own signal aborts, with the signal's reason", async () => {
    const { fake, open } = setup();
    const controller = new AbortController();
    const stream = open('p', { signal: controller.signal });
    await flush();
    const pending = stream.next();
    controller.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');
    expect(fake.opened[0]?.aborted).toBe(true);
  });

  it('sends an upstream error to every consumer, stores nothing, and runs the next call again', async () => {
    const { engine, fake, open } = setup();
    const a = open();
    const b = open();
    await flush();
    fake.opened[0]?.push(chunk('a'));
    const boom = new Error('model crashed');
    fake.opened[0]?.fail(boom);
    await expect(collect(a)).rejects.toBe(boom);
    await expect(collect(b)).rejects.toBe(boom);
    expect(engine.cache.size).toBe(0);
    expect(engine.monitor.outcomes.error).toBe(2);
    open();
    await flush();
    expect(fake.opened).toHaveLength(2);
  });

  it('rejects ready (and the first read) when the stream cannot start', async () => {
    const engine = new OptimizationEngine();
    const refused = new Error('404 model not found');
    const stream = engine.optimizeAiStream('p', MODEL, () => Promise.reject(refused));
    await expect(stream.ready).rejects.toBe(refused);
    await expect(stream.next()).rejects.toBe(refused);
  });
});

describe('optimizeAiStream: cache modes and lifecycle', () => {
  it("'bypass' neither shares, stores nor reads the cache", async () => {
    const { engine, fake, open } = setup();
    const a = open('p', { cache: 'bypass' });
    const b = open('p', { cache: 'bypass' });
    await flush();
    expect(fake.opened).toHaveLength(2);
    for (const up of fake.opened) {
      up.push(chunk('x', true));
      up.end();
    }
    await collect(a);
    await collect(b);
    expect(engine.cache.size).toBe(0);
    expect(engine.monitor.outcomes.bypass).toBe(2);
  });

  it("'only-if-cached' fails with ERR_NOT_CACHED on a miss and never runs exec", async () => {
    const { fake, open } = setup();
    const stream = open('p', { cache: 'only-if-cached' });
    const error: unknown = await stream.ready.catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code).toBe('ERR_NOT_CACHED');
    expect(fake.opened).toHaveLength(0);
  });

  it("'refresh' skips the lookup and replaces the stored stream", async () => {
    const { fake, open } = setup();
    const first = open();
    await flush();
    fake.opened[0]?.push(chunk('old', true));
    fake.opened[0]?.end();
    await collect(first);
    const refresh = open('tell me a story', { cache: 'refresh' });
    await flush();
    fake.opened[1]?.push(chunk('new', true));
    fake.opened[1]?.end();
    expect(await collect(refresh)).toEqual([chunk('new', true)]);
    expect(await collect(open())).toEqual([chunk('new', true)]);
  });

  it('serves an expired stream when the upstream fails and staleIfError allows it', async () => {
    let now = 0;
    const { fake, open } = setup({ clock: { now: () => now } });
    const first = open('p', { ttlMs: 1000 });
    await flush();
    fake.opened[0]?.push(chunk('kept', true));
    fake.opened[0]?.end();
    await collect(first);
    now = 5000;
    const status: CallStatus = {};
    const stream = open('p', { staleIfError: true, status });
    await flush();
    fake.opened[1]?.fail(new Error('down'));
    await stream.ready;
    expect(await collect(stream)).toEqual([chunk('kept', true)]);
    expect(status).toMatchObject({ outcome: 'hit', stale: true });
  });

  it('ends streams in flight with ERR_CLOSED when the engine closes, and refuses new ones', async () => {
    const { engine, fake, open } = setup();
    const stream = open();
    await flush();
    await engine.close();
    const error: unknown = await collect(stream).catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code).toBe('ERR_CLOSED');
    expect(fake.opened[0]?.aborted).toBe(true);
    await expect(open().ready).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('reports bad options through the stream, naming the option', async () => {
    const { open } = setup();
    await expect(open('p', { replay: 'slow' as 'instant' }).ready).rejects.toThrow(/`replay`/);
    await expect(open('p', { isComplete: 42 as unknown as () => boolean }).ready).rejects.toThrow(/`isComplete`/);
  });

  it('aborts the upstream of a stream whose iterable has its own abort()', async () => {
    const engine = new OptimizationEngine();
    const abort = vi.fn();
    const iterable = {
      abort,
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<string>>(() => undefined) }),
    };
    const stream = engine.optimizeAiStream('p', MODEL, () => Promise.resolve(iterable));
    await stream.ready;
    stream.abort();
    expect(abort).toHaveBeenCalledOnce();
  });
});

describe('review fixes', () => {
  it('does not store an empty stream by default', async () => {
    const { OptimizationEngine } = await import('../../src/index.js');
    const engine = new OptimizationEngine();
    let opened = 0;
    const exec = async function* () {
      opened++;
      yield* [];
    };
    for (let i = 0; i < 2; i++) {
      const chunks: unknown[] = [];
      for await (const chunk of engine.optimizeAiStream('p', 'm', exec)) chunks.push(chunk);
      expect(chunks).toEqual([]);
    }
    expect(opened).toBe(2);
  });

  it('removes its abort listener from a long-lived signal when the stream fails before it is read', async () => {
    const { OptimizationEngine } = await import('../../src/index.js');
    const engine = new OptimizationEngine({ retry: false, breaker: false });
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const { signal } = controller;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
    for (let i = 0; i < 5; i++) {
      const stream = engine.optimizeAiStream(`p${i}`, 'm', () => Promise.reject(new Error('upstream down')), { signal });
      await expect(stream.ready).rejects.toThrow('upstream down');
    }
    expect(added).toBeGreaterThan(0);
    expect(removed).toBe(added);
  });
});

describe('optimizeAiStream: types', () => {
  it('hands execStream the prompt with the type it was given (a string prompt to a client that takes strings)', async () => {
    const engine = new OptimizationEngine();
    // Compiles only when `prompt` is a string here (it was `string | ChatMessage[]`): `npm run typecheck` checks it.
    async function* streamText(text: string): AsyncGenerator<string> {
      yield text.toUpperCase();
    }
    const stream = engine.optimizeAiStream('hello', 'm', (prompt) => {
      expectTypeOf(prompt).toExtend<string>();
      return streamText(prompt);
    });
    expect(await collect(stream)).toEqual(['HELLO']);
    await engine.close();
  });
});
