import { describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, type CallStatus, type EngineEvents } from '../src/index.js';
import { createManualClock } from '../src/testing.js';

const lone = 'tenant-\uD800';
const failingHash = (): string => {
  throw new Error('hash failed');
};

/** Calls `call` and says whether it threw synchronously instead of returning a promise. */
function throwsSynchronously(call: () => unknown): boolean {
  try {
    const result = call();
    if (result instanceof Promise) result.catch(() => undefined);
    return false;
  } catch {
    return true;
  }
}

describe('the call path: a scope with a lone surrogate', () => {
  it('answers misses and hits, with a status object and every listener, instead of a URIError', async () => {
    const engine = new OptimizationEngine();
    const keys: string[] = [];
    for (const event of ['cache-hit', 'cache-miss', 'cache-write', 'cache-evict'] as const) engine.on(event, ({ key }) => void keys.push(key));
    const exec = vi.fn(() => 'answer');
    expect(await engine.optimizeAiCall('p', 'm', exec, { scope: lone })).toBe('answer');
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { scope: lone, status })).toBe('answer');
    expect(status).toMatchObject({ outcome: 'hit', key: expect.stringMatching(/^v1:tenant-%uD800:[0-9a-f]{64}$/) as unknown });
    expect(engine.cache.delete('p', 'm', { scope: lone })).toBe(true);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
  });
});

describe('the call path never throws synchronously', () => {
  it('rejects a hit whose status asks for the key of a custom hash that throws, rather than throwing', async () => {
    const engine = new OptimizationEngine({ cache: { hash: failingHash } });
    engine.cache.set('p', 'm', 'cached');
    expect(throwsSynchronously(() => engine.optimizeAiCall('p', 'm', () => 'fresh', { status: {} }))).toBe(false);
    await expect(engine.optimizeAiCall('p', 'm', () => 'fresh', { status: {} })).rejects.toThrow('hash failed');
  });

  it('serves a hit when only a listener wanted the key, and tells the logger why the event is missing', async () => {
    const warn = vi.fn();
    const engine = new OptimizationEngine({ cache: { hash: failingHash }, logger: { warn } });
    const hits = vi.fn();
    engine.on('cache-hit', hits);
    engine.cache.set('p', 'm', 'cached');
    expect(await engine.optimizeAiCall('p', 'm', () => 'fresh')).toBe('cached');
    expect(hits).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith("The 'cache-hit' event could not be built", expect.any(Error));
  });

  it('deletes, evicts and clears when the cache-evict payload cannot be built, keeping the cache consistent', () => {
    const engine = new OptimizationEngine({ cache: { hash: failingHash, maxEntries: 1 } });
    engine.on('cache-evict', () => undefined);
    engine.cache.set('a', 'm', 1);
    expect(engine.cache.set('b', 'm', 2)).toBe(true);
    expect(engine.cache.size).toBe(1);
    expect(engine.cache.delete('b', 'm')).toBe(true);
    expect(engine.cache.size).toBe(0);
    engine.cache.set('c', 'm', 3);
    expect(() => engine.cache.clear()).not.toThrow();
    expect(engine.cache.get('c', 'm')).toBeUndefined();
  });
});

describe('the call path: a status object that cannot be written', () => {
  it.each([
    ['frozen', () => Object.freeze({}) as CallStatus],
    ['with a throwing setter', () => Object.defineProperty({}, 'outcome', { set: () => { throw new Error('no'); } }) as CallStatus],
  ])('still answers misses and hits when the status is %s, and reports it', async (_, make) => {
    const warn = vi.fn();
    const engine = new OptimizationEngine({ logger: { warn } });
    expect(await engine.optimizeAiCall('p', 'm', () => 'answer', { status: make() })).toBe('answer');
    expect(await engine.optimizeAiCall('p', 'm', () => 'fresh', { status: make() })).toBe('answer');
    expect(warn).toHaveBeenCalledWith('The `status` object could not be written', expect.any(Error));
  });

  it('fills in a writable status as before', async () => {
    const engine = new OptimizationEngine();
    const status: CallStatus = {};
    await engine.optimizeAiCall('p', 'm', () => 'answer', { status });
    expect(status).toMatchObject({ outcome: 'miss', missCause: 'new', stored: true, key: expect.any(String) as unknown });
  });

  it('refuses a status that is not an object, or an isComplete that is not a function, before exec runs', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(() => 'answer');
    await expect(engine.optimizeAiCall('p', 'm', exec, { status: 'yes' as unknown as CallStatus })).rejects.toThrow('`status` must be an object the call fills in, received "yes"');
    await expect(engine.optimizeAiCall('p', 'm', exec, { isComplete: true as unknown as () => boolean })).rejects.toThrow('`isComplete` must be a function, received true');
    expect(exec).not.toHaveBeenCalled();
  });
});

describe('the call path: a logger that throws', () => {
  it('does not fail a call whose listener throws', async () => {
    const engine = new OptimizationEngine({ logger: { warn: () => { throw new Error('logger down'); } } });
    engine.on('call-end', () => {
      throw new Error('listener down');
    });
    expect(await engine.optimizeAiCall('p', 'm', () => 'answer')).toBe('answer');
    expect(await engine.optimizeAiCall('p', 'm', () => 'fresh')).toBe('answer');
  });
});

describe('the call path: params the engine keys by', () => {
  it('refuses the stream marker in a call\'s params, so a call is never served a stream\'s chunk list', async () => {
    const engine = new OptimizationEngine();
    async function* chunks(): AsyncGenerator<string> {
      yield 'chunk';
    }
    for await (const _ of engine.optimizeAiStream('p', 'm', () => chunks())) void _;
    const exec = vi.fn(() => 'answer');
    await expect(engine.optimizeAiCall('p', 'm', exec, { params: { 'llmoe:stream': true } })).rejects.toThrow("`params['llmoe:stream']` is reserved");
    // Nor through a toJSON() standing for the marker (the key counts an object as what toJSON returns).
    await expect(engine.optimizeAiCall('p', 'm', exec, { params: { toJSON: () => ({ 'llmoe:stream': true }) } })).rejects.toThrow('a `toJSON` method at its top level is not allowed');
    expect(exec).not.toHaveBeenCalled();
    // A toJSON deeper down is a value like a Date: allowed, keyed by what it returns.
    expect(await engine.optimizeAiCall('p', 'm', exec, { params: { when: new Date(0) } })).toBe('answer');
  });
});

const DAY_MS = 86_400_000;

describe('durations when the clock jumps back', () => {
  it('never counts negative time saved, durations or ages when the clock jumps back while exec runs', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 10));
    const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false } });
    const ends: EngineEvents['call-end'][] = [];
    engine.on('call-end', (e) => ends.push(e));
    const first: CallStatus = {};
    // NTP (or an operator) sets the clock back a day while the model answers.
    await engine.optimizeAiCall('p', 'm', () => (clock.set(clock.now() - DAY_MS), 'v'), { status: first });
    const hits: CallStatus[] = [];
    for (let i = 0; i < 3; i++) {
      const status: CallStatus = {};
      expect(await engine.optimizeAiCall('p', 'm', () => 'never', { status })).toBe('v');
      hits.push(status);
    }
    const { performance_impact: impact } = engine.getCacheStats();
    expect(impact.time_saved_estimate_seconds).toBe(0);
    expect(impact.requests_saved).toBe(3);
    expect(first.durationMs).toBe(0);
    for (const status of hits) expect(status).toMatchObject({ outcome: 'hit', ageMs: 0, durationMs: 0 });
    expect(ends.map((e) => e.durationMs)).toEqual([0, 0, 0, 0]);
    expect(engine.cache.analyzeAccessPatterns().hotKeys[0]?.ageMs).toBe(0);
    expect(engine.monitor.getHistory('responseTimeMs').every((ms) => ms >= 0)).toBe(true);
    await engine.close();
  });

  it('never reports a negative duration for a failed call across a jump back', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 10));
    const engine = new OptimizationEngine({ clock, retry: false, monitor: { sampleIntervalMs: false } });
    const errors: EngineEvents['call-error'][] = [];
    engine.on('call-error', (e) => errors.push(e));
    const status: CallStatus = {};
    const failure = new Error('model down');
    await expect(engine.optimizeAiCall('p', 'm', () => (clock.set(clock.now() - DAY_MS), Promise.reject(failure)), { status })).rejects.toBe(failure);
    expect(errors[0]?.durationMs).toBe(0);
    expect(status.durationMs).toBe(0);
    await engine.close();
  });
});

describe('durations when the clock jumps back (streams)', () => {
  it('a streamed answer timed across a jump back saves 0 s when replayed, not minus the jump', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 10));
    const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false } });
    async function* chunks() {
      yield 'a';
      clock.set(clock.now() - DAY_MS);
      yield 'b';
    }
    const read = async () => {
      const out: string[] = [];
      for await (const chunk of engine.optimizeAiStream('p', 'm', () => chunks())) out.push(chunk);
      return out.join('');
    };
    expect(await read()).toBe('ab');
    expect(await read()).toBe('ab');
    expect(engine.getCacheStats().performance_impact).toMatchObject({ requests_saved: 1, time_saved_estimate_seconds: 0 });
    expect(engine.getCacheStats().cache).toMatchObject({ hits: 1, misses: 1, model_calls: 1, answered_without_model_percent: 50 });
    await engine.close();
  });
});

describe("the call path: cache 'bypass' ends with the caller's signal and with close()", () => {
  /** An exec that never settles and ignores its signal, recording the signal it was given. */
  function hangingExec(): { exec: (prompt: unknown, model: string, context: { signal: AbortSignal }) => Promise<string>; signals: AbortSignal[] } {
    const signals: AbortSignal[] = [];
    return { signals, exec: (_p, _m, { signal }) => (signals.push(signal), new Promise<string>(() => undefined)) };
  }

  it('rejects with the reason of the caller signal, and aborts the signal exec was given', async () => {
    const engine = new OptimizationEngine({ retry: false });
    const { exec, signals } = hangingExec();
    const controller = new AbortController();
    const status: CallStatus = {};
    const call = engine.optimizeAiCall('p', 'm', exec, { cache: 'bypass', signal: controller.signal, status });
    await new Promise((r) => setTimeout(r, 5));
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(signals[0]?.aborted).toBe(true);
    expect(status.outcome).toBe('error');
    // A caller's own abort says nothing about the model.
    expect(engine.getCircuitStates()[0]?.consecutive_failures ?? 0).toBe(0);
  });

  it('rejects with ERR_CLOSED when the engine closes', async () => {
    const engine = new OptimizationEngine({ retry: false });
    const { exec, signals } = hangingExec();
    const call = engine.optimizeAiCall('p', 'm', exec, { cache: 'bypass' });
    await new Promise((r) => setTimeout(r, 5));
    await engine.close();
    await expect(call).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(signals[0]?.aborted).toBe(true);
  });
});

describe('the call path: cache-write reports the TTL it was given', () => {
  it('says ttlMs 600000 for a TTL of 600000 on a clock with fractions of a ms (it said 600001)', async () => {
    let now = 1_000_000.4;
    const engine = new OptimizationEngine({ clock: { now: () => now }, cache: { ttlMs: 600_000 } });
    const writes: number[] = [];
    engine.on('cache-write', ({ ttlMs }) => void writes.push(ttlMs));
    await engine.optimizeAiCall('p', 'm', () => 'a');
    now += 0.3;
    await engine.optimizeAiCall('q', 'm', () => 'b', { ttlMs: 1234 });
    expect(writes).toEqual([600_000, 1234]);
  });
});

describe("the call path: values: 'shared'", () => {
  it('stores the value exec returned and hands that same object to every caller, hit and coalesced', async () => {
    const engine = new OptimizationEngine();
    const value = Object.freeze({ text: 'answer' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exec = vi.fn(async () => (await gate, value));
    const calls = [engine.optimizeAiCall('p', 'm', exec, { values: 'shared' }), engine.optimizeAiCall('p', 'm', exec, { values: 'shared' })];
    release();
    const [miss, coalesced] = await Promise.all(calls);
    const hit = await engine.optimizeAiCall('p', 'm', exec, { values: 'shared' });
    expect(exec).toHaveBeenCalledTimes(1);
    expect([miss, coalesced, hit].every((v) => v === value)).toBe(true);
  });

  it("still gives 'copy' callers of the same entry a private copy", async () => {
    const engine = new OptimizationEngine();
    const value = { list: [1] };
    await engine.optimizeAiCall('p', 'm', () => value, { values: 'shared' });
    const copy = await engine.optimizeAiCall('p', 'm', () => ({ list: [9] }));
    expect(copy).toEqual({ list: [1] });
    expect(copy).not.toBe(value);
  });

  it('shares stored chunk lists of streams too', async () => {
    const engine = new OptimizationEngine();
    const chunks = [{ t: 'a' }, { t: 'b' }];
    const exec = vi.fn(async function* () {
      yield* chunks;
    });
    const read = async () => {
      const out: unknown[] = [];
      for await (const chunk of engine.optimizeAiStream('p', 'm', exec, { values: 'shared' })) out.push(chunk);
      return out;
    };
    await read();
    const replayed = await read();
    expect(exec).toHaveBeenCalledTimes(1);
    expect(replayed[0]).toBe(chunks[0]);
  });

  it('refuses an unknown mode, naming the option', async () => {
    const engine = new OptimizationEngine();
    await expect(engine.optimizeAiCall('p', 'm', () => 'v', { values: 'frozen' as never })).rejects.toThrow(/`values`/);
  });
});
