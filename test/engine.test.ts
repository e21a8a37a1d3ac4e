import { describe, expect, it, vi } from 'vitest';
import { isOptimizerError, OptimizationEngine, optimizeAiCall, getDefaultEngine, type CallStatus, type ExecContext } from '../src/index.js';
import { deferred, fakeClock, flush } from './helpers.js';

const answer = (prompt: unknown) => `answer to ${JSON.stringify(prompt)}`;

describe('OptimizationEngine.optimizeAiCall', () => {
  it('serves the second identical call from cache', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(answer);
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe(answer('p'));
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status })).toBe(answer('p'));
    expect(exec).toHaveBeenCalledTimes(1);
    expect(status).toMatchObject({ outcome: 'hit', source: 'memory' });
  });

  it('treats params with keys in another order as the same call, and anything else as another', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(answer);
    await engine.optimizeAiCall('p', 'm', exec, { params: { temperature: 0, seed: 1 } });
    await engine.optimizeAiCall('p', 'm', exec, { params: { seed: 1, temperature: 0 } });
    expect(exec).toHaveBeenCalledTimes(1);
    await engine.optimizeAiCall('p', 'm', exec, { params: { seed: 2, temperature: 0 } });
    await engine.optimizeAiCall('p', 'm', exec, { params: { seed: 1, temperature: 0 }, scope: 'tenant-2' });
    await engine.optimizeAiCall([{ role: 'user', content: 'p' }], 'm', exec, { params: { seed: 1, temperature: 0 } });
    expect(exec).toHaveBeenCalledTimes(4);
  });

  it('runs exec once for 1000 concurrent identical calls and gives every caller the value', async () => {
    const engine = new OptimizationEngine();
    const gate = deferred<{ text: string }>();
    const exec = vi.fn(() => gate.promise);
    const calls = Array.from({ length: 1000 }, () => engine.optimizeAiCall('p', 'm', exec));
    await flush();
    gate.resolve({ text: 'shared' });
    const results = await Promise.all(calls);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.text === 'shared')).toBe(true);
    expect(new Set(results).size).toBe(1000);
    expect(engine.getCacheStats().performance_impact.requests_saved).toBe(999);
  });

  it('says that 1000 concurrent identical calls reached the model once: 999 coalesced, 99.9 % answered without it', async () => {
    const engine = new OptimizationEngine();
    const gate = deferred<string>();
    const calls = Array.from({ length: 1000 }, () => engine.optimizeAiCall('p', 'm', () => gate.promise));
    await flush();
    gate.resolve('shared');
    await Promise.all(calls);
    expect(engine.getCacheStats().cache).toMatchObject({
      hits: 0, misses: 1000, hit_rate_percent: 0, coalesced: 999, store_hits: 0, model_calls: 1, answered_without_model_percent: 99.9,
    });
    await engine.optimizeAiCall('p', 'm', () => 'never');
    await engine.optimizeAiCall('q', 'm', () => 'other', { cache: 'bypass' });
    await engine.optimizeAiCall('r', 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    // A failed call reached the model too.
    expect(engine.getCacheStats().cache).toMatchObject({ hits: 1, misses: 1001, coalesced: 999, model_calls: 3, answered_without_model_percent: 99.7 });
  });

  it('counts a call retried after transient errors as one model call', async () => {
    const engine = new OptimizationEngine({ retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0, isTransient: () => true } });
    let runs = 0;
    expect(await engine.optimizeAiCall('p', 'm', () => (++runs < 3 ? Promise.reject(new Error('flaky')) : 'v'))).toBe('v');
    expect(runs).toBe(3);
    expect(engine.getCacheStats().cache.model_calls).toBe(1);
  });

  it('gives every waiter the same error object unwrapped, and caches nothing', async () => {
    const engine = new OptimizationEngine();
    const failure = new Error('model exploded');
    const gate = deferred<string>();
    const exec = vi.fn(() => gate.promise);
    const calls = Array.from({ length: 5 }, () => engine.optimizeAiCall('p', 'm', exec));
    gate.reject(failure);
    const settled = await Promise.allSettled(calls);
    expect(settled.every((s) => s.status === 'rejected' && s.reason === failure)).toBe(true);
    expect(engine.cache.size).toBe(0);
    expect(await engine.optimizeAiCall('p', 'm', () => 'ok')).toBe('ok');
  });

  it('lets one waiter abort without affecting the others, and aborts exec only when all have gone', async () => {
    const engine = new OptimizationEngine();
    let execSignal: AbortSignal | undefined;
    const gate = deferred<string>();
    const exec = (_p: unknown, _m: string, ctx: ExecContext) => ((execSignal = ctx.signal), gate.promise);
    const a = new AbortController();
    const b = new AbortController();
    const first = engine.optimizeAiCall('p', 'm', exec, { signal: a.signal });
    const second = engine.optimizeAiCall('p', 'm', exec, { signal: b.signal });
    const third = engine.optimizeAiCall('p', 'm', exec);
    await flush();
    a.abort(new Error('caller A gave up'));
    await expect(first).rejects.toThrow('caller A gave up');
    expect(execSignal?.aborted).toBe(false);
    gate.resolve('done');
    expect(await second).toBe('done');
    expect(await third).toBe('done');

    const lone = new AbortController();
    const hang = deferred<string>();
    let loneSignal: AbortSignal | undefined;
    const pending = engine.optimizeAiCall('q', 'm', (_p, _m, ctx) => ((loneSignal = ctx.signal), hang.promise), { signal: lone.signal });
    await flush();
    lone.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(loneSignal?.aborted).toBe(true);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(answer);
    await expect(engine.optimizeAiCall('p', 'm', exec, { signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
    expect(exec).not.toHaveBeenCalled();
  });

  it('honours the cache modes', async () => {
    const engine = new OptimizationEngine();
    let n = 0;
    const exec = () => `v${++n}`;
    await expect(engine.optimizeAiCall('p', 'm', exec, { cache: 'only-if-cached' })).rejects.toMatchObject({ code: 'ERR_NOT_CACHED' });
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('v1');
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { cache: 'bypass', status })).toBe('v2');
    expect(status.outcome).toBe('bypass');
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('v1');
    expect(await engine.optimizeAiCall('p', 'm', exec, { cache: 'refresh' })).toBe('v3');
    expect(await engine.optimizeAiCall('p', 'm', exec, { cache: 'only-if-cached' })).toBe('v3');
  });

  it('serves an expired entry when exec fails and the call allows staleIfError', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 } });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(2000);
    const failure = new Error('down');
    await expect(engine.optimizeAiCall('p', 'm', () => Promise.reject(failure))).rejects.toBe(failure);
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', () => Promise.reject(failure), { staleIfError: true, status })).toBe('old');
    expect(status).toMatchObject({ stale: true, outcome: 'hit' });
  });

  it('does not cache undefined', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(() => undefined);
    await engine.optimizeAiCall('p', 'm', exec);
    await engine.optimizeAiCall('p', 'm', exec);
    expect(exec).toHaveBeenCalledTimes(2);
  });

  it('isolates returned objects from callers who mutate them', async () => {
    const engine = new OptimizationEngine();
    const first = await engine.optimizeAiCall('p', 'm', () => ({ list: [1] }));
    first.list.push(2);
    expect(await engine.optimizeAiCall('p', 'm', () => ({ list: [9] }))).toEqual({ list: [1] });
  });

  it('measures time saved from the exec time that produced each entry', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, costPerRequestUsd: 0.002 });
    await engine.optimizeAiCall('p', 'm', () => (clock.advance(1500), 'v'));
    await engine.optimizeAiCall('p', 'm', () => 'never');
    await engine.optimizeAiCall('p', 'm', () => 'never');
    expect(engine.getCacheStats()).toEqual({
      cache: {
        size: 1, max_size: 1000, hits: 2, misses: 1, hit_rate_percent: 66.67, ttl_seconds: 3600,
        coalesced: 0, store_hits: 0, model_calls: 1, answered_without_model_percent: 66.67,
        stale_served: 0, background_refreshes: { grace: 0, ahead: 0, soft_timeout: 0 }, refresh_failures: 0,
      },
      performance_impact: { requests_saved: 2, time_saved_estimate_seconds: 3, cost_saved_usd: 0.004 },
    });
  });

  it('counts reported tokens in cost saved', async () => {
    const engine = new OptimizationEngine({ costPer1kTokensUsd: 1 });
    const exec = (_p: unknown, _m: string, ctx: ExecContext) => (ctx.reportUsage({ promptTokens: 300, outputTokens: 200 }), 'v');
    await engine.optimizeAiCall('p', 'm', exec);
    await engine.optimizeAiCall('p', 'm', exec);
    expect(engine.getCacheStats().performance_impact.cost_saved_usd).toBe(0.5);
  });

  it('passes exec the prompt, model, a signal and the key', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn((_p: unknown, _m: string, ctx: ExecContext) => ctx.key);
    const key = await engine.optimizeAiCall([{ role: 'user', content: 'hi' }], 'llama', exec, { scope: 's' });
    expect(exec.mock.calls[0]?.[0]).toEqual([{ role: 'user', content: 'hi' }]);
    expect(exec.mock.calls[0]?.[1]).toBe('llama');
    expect(key).toMatch(/^v1:s:[0-9a-f]{64}$/);
  });

  it('emits typed events, and a throwing listener breaks nothing', async () => {
    const warnings: string[] = [];
    const engine = new OptimizationEngine({ logger: { warn: (m) => warnings.push(m) }, cache: { maxEntries: 1 } });
    const seen: string[] = [];
    for (const name of ['call-start', 'call-end', 'cache-hit', 'cache-miss', 'cache-write', 'cache-evict', 'call-coalesce', 'call-error'] as const) {
      engine.on(name, () => seen.push(name));
    }
    engine.on('call-end', () => {
      throw new Error('listener bug');
    });
    engine.on('cache-write', () => Promise.reject(new Error('async listener bug')));
    const gate = deferred<string>();
    const both = [engine.optimizeAiCall('p', 'm', () => gate.promise), engine.optimizeAiCall('p', 'm', () => 'x')];
    gate.resolve('v');
    expect(await Promise.all(both)).toEqual(['v', 'v']);
    expect(await engine.optimizeAiCall('p', 'm', () => 'x')).toBe('v');
    await engine.optimizeAiCall('q', 'm', () => 'w');
    await expect(engine.optimizeAiCall('r', 'm', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await flush();
    expect(new Set(seen)).toEqual(new Set(['call-start', 'call-end', 'cache-hit', 'cache-miss', 'cache-write', 'cache-evict', 'call-coalesce', 'call-error']));
    expect(warnings.some((w) => w.includes("'call-end' listener failed"))).toBe(true);
    expect(warnings.some((w) => w.includes("'cache-write' listener failed"))).toBe(true);
  });

  it('removes listeners with off and runs once-listeners once', async () => {
    const engine = new OptimizationEngine();
    const every = vi.fn();
    const one = vi.fn();
    engine.on('call-end', every).once('call-end', one);
    await engine.optimizeAiCall('p', 'm', () => 'v');
    engine.off('call-end', every);
    await engine.optimizeAiCall('p', 'm', () => 'v');
    expect(every).toHaveBeenCalledTimes(1);
    expect(one).toHaveBeenCalledTimes(1);
  });

  it('rejects bad arguments before doing any work, naming what was wrong', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(answer);
    await expect(engine.optimizeAiCall(5 as unknown as string, 'm', exec)).rejects.toThrow(TypeError);
    await expect(engine.optimizeAiCall('p', '', exec)).rejects.toThrow(/`model`/);
    await expect(engine.optimizeAiCall('p', 7 as unknown as string, exec)).rejects.toThrow(/`model`/);
    await expect(engine.optimizeAiCall('p', 'm', 'nope' as never)).rejects.toThrow(/`exec` must be a function/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { ttlMs: 0 })).rejects.toThrow(RangeError);
    await expect(engine.optimizeAiCall('p', 'm', exec, { ttlMs: Number.NaN })).rejects.toThrow(/`ttlMs`/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { cache: 'sometimes' as never })).rejects.toThrow(/`cache` must be one of/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { signal: {} as AbortSignal })).rejects.toThrow(/`signal`/);
    expect(exec).not.toHaveBeenCalled();
    expect(() => new OptimizationEngine({ cache: { maxEntries: -1 } })).toThrow(/`cache.maxEntries` must be/);
    expect(() => new OptimizationEngine({ monitor: { historySize: 0 } })).toThrow(/`monitor.historySize` must be/);
    expect(() => new OptimizationEngine({ maxConcurrency: 0 })).toThrow(/`maxConcurrency`/);
    expect(() => new OptimizationEngine({ cachee: {} } as object)).toThrow(/Unknown option `options.cachee`/);
    expect(() => new OptimizationEngine({ logger: {} as never })).toThrow(/`logger`/);
  });

  it('rejects new calls once closed and aborts the ones in flight', async () => {
    const engine = new OptimizationEngine();
    let signal: AbortSignal | undefined;
    const inflight = engine.optimizeAiCall('p', 'm', (_p, _m, ctx) => {
      signal = ctx.signal;
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    await flush();
    await engine.close();
    await expect(inflight).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(signal?.aborted).toBe(true);
    const error = await engine.optimizeAiCall('p', 'm', answer).catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code === 'ERR_CLOSED').toBe(true);
  });

  it('limits concurrent execs when maxConcurrency is set', async () => {
    const engine = new OptimizationEngine({ maxConcurrency: 2 });
    let running = 0;
    let peak = 0;
    const exec = async (p: unknown) => {
      peak = Math.max(peak, ++running);
      await flush();
      running--;
      return p;
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => engine.optimizeAiCall(`p${i}`, 'm', exec)));
    expect(peak).toBe(2);
    engine.maxConcurrency = 5;
    expect(engine.maxConcurrency).toBe(5);
  });
});

describe('optimizeAiCall (function form)', () => {
  it('uses one default engine, recreated after close', async () => {
    const exec = vi.fn(answer);
    await optimizeAiCall('fn-p', 'm', exec);
    await optimizeAiCall('fn-p', 'm', exec);
    expect(exec).toHaveBeenCalledTimes(1);
    const first = getDefaultEngine();
    await first.close();
    expect(getDefaultEngine()).not.toBe(first);
  });
});

describe('time saved', () => {
  it('counts the time exec ran, not the time a call queued behind the concurrency limit', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, maxConcurrency: 1 });
    const first = deferred<string>();
    const a = engine.optimizeAiCall('a', 'm', () => first.promise);
    const b = engine.optimizeAiCall('b', 'm', () => (clock.advance(100), 'B'));
    await flush();
    clock.advance(5000);
    first.resolve('A');
    await Promise.all([a, b]);
    await engine.optimizeAiCall('b', 'm', () => 'never');
    expect(engine.getCacheStats().performance_impact.time_saved_estimate_seconds).toBe(0.1);
  });
});

describe('miss causes with a shared store', () => {
  it('reports each call its own miss cause even when another call looks up while it waits on the store', async () => {
    const clock = fakeClock();
    const emptyStore = { name: 'empty', get: async () => undefined, set: async () => undefined, delete: async () => false, clear: async () => undefined };
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, store: emptyStore });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(2000);
    const expired: CallStatus = {};
    const fresh: CallStatus = {};
    const both = [engine.optimizeAiCall('p', 'm', () => 'new p', { status: expired }), engine.optimizeAiCall('q', 'm', () => 'q', { status: fresh })];
    await Promise.all(both);
    expect(expired.missCause).toBe('expired');
    expect(fresh.missCause).toBe('new');
  });
});

describe('review fixes', () => {
  class Answer {
    constructor(readonly text: string) {}
    get upper(): string {
      return this.text.toUpperCase();
    }
  }

  it('returns class instances intact and does not cache them; hits get copies of plain data', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(() => new Answer('hi'));
    const gate = deferred<void>();
    const slow = async () => (await gate.promise, exec());
    const both = [engine.optimizeAiCall('p', 'm', slow), engine.optimizeAiCall('p', 'm', slow)];
    gate.resolve();
    const [first, waiter] = await Promise.all(both);
    expect(first).toBeInstanceOf(Answer);
    expect(first?.upper).toBe('HI');
    expect(waiter).toBeInstanceOf(Answer);
    await engine.optimizeAiCall('p', 'm', slow);
    expect(exec).toHaveBeenCalledTimes(2);
    const withFunction = await engine.optimizeAiCall('f', 'm', () => ({ text: 'x', fn: () => 1 }));
    expect(withFunction.fn()).toBe(1);
  });

  it('does not store values whose size cannot be measured, and keeps its byte count finite', async () => {
    const engine = new OptimizationEngine();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(await engine.optimizeAiCall('c', 'm', () => cyclic)).toMatchObject({ a: 1 });
    expect(engine.cache.size).toBe(0);
    await engine.optimizeAiCall('n', 'm', () => 1n);
    expect(Number.isFinite(engine.cache.getStats().bytes)).toBe(true);
  });

  it('rejects calls in flight on close even when exec ignores its signal', async () => {
    const engine = new OptimizationEngine();
    const never = new Promise<string>(() => undefined);
    const pending = engine.optimizeAiCall('p', 'm', () => never);
    await flush();
    await engine.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('reports a rejected async onAnomaly to the logger instead of crashing', async () => {
    const warnings: string[] = [];
    const engine = new OptimizationEngine({
      logger: { warn: (m) => warnings.push(m) },
      monitor: { thresholds: { responseTimeMs: 5_000 }, sampleIntervalMs: false, onAnomaly: async () => Promise.reject(new Error('alerting down')) },
    });
    engine.monitor.recordMetric({ responseTimeMs: 6_000 });
    expect(engine.monitor.detectAnomalies()).toHaveLength(1);
    await flush();
    expect(warnings.some((w) => w.includes('onAnomaly'))).toBe(true);
  });

  it('does not count only-if-cached misses or caller aborts as model errors, nor serve them stale', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 100 } });
    for (let i = 0; i < 3; i++) await expect(engine.optimizeAiCall(`q${i}`, 'm', () => 'x', { cache: 'only-if-cached' })).rejects.toMatchObject({ code: 'ERR_NOT_CACHED' });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(200);
    const controller = new AbortController();
    const hang = new Promise<string>(() => undefined);
    const aborted = engine.optimizeAiCall('p', 'm', () => hang, { staleIfError: true, signal: controller.signal });
    await flush();
    controller.abort(new Error('client went away'));
    await expect(aborted).rejects.toThrow('client went away');
    expect(engine.monitor.outcomes.error).toBe(0);
  });

  it('runs exec once when an identical call finishes while another reads the shared store', async () => {
    const reads: Array<ReturnType<typeof deferred<undefined>>> = [];
    const store = {
      name: 'slow', set: async () => undefined, delete: async () => false, clear: async () => undefined,
      get: () => {
        const d = deferred<undefined>();
        reads.push(d);
        return d.promise;
      },
    };
    const engine = new OptimizationEngine({ store });
    const gate = deferred<string>();
    const exec = vi.fn(() => gate.promise);
    const first = engine.optimizeAiCall('p', 'm', exec);
    await flush();
    reads[0]?.resolve(undefined);
    await flush();
    const status: CallStatus = {};
    const second = engine.optimizeAiCall('p', 'm', exec, { status });
    await flush();
    gate.resolve('answer');
    expect(await first).toBe('answer');
    reads[1]?.resolve(undefined);
    expect(await second).toBe('answer');
    expect(exec).toHaveBeenCalledTimes(1);
    expect(status.outcome).toBe('coalesced');
  });

  it('rejects misspelt call options, and hands exec the prompt type it was given', async () => {
    const engine = new OptimizationEngine();
    await expect(engine.optimizeAiCall('p', 'm', () => 'x', { ttl: 5 } as never)).rejects.toThrow(/Unknown call option `ttl`/);
    const upper = (prompt: string) => prompt.toUpperCase();
    expect(await engine.optimizeAiCall('typed', 'm', (prompt) => upper(prompt))).toBe('TYPED');
  });

  it('stops a waiter at once when its signal aborts before it starts waiting', async () => {
    const engine = new OptimizationEngine();
    const controller = new AbortController();
    engine.on('cache-miss', () => controller.abort(new Error('gave up during the miss')));
    let execSignal: AbortSignal | undefined;
    const pending = engine.optimizeAiCall('p', 'm', (_p, _m, ctx) => ((execSignal = ctx.signal), new Promise<string>(() => undefined)), { signal: controller.signal });
    await expect(pending).rejects.toThrow('gave up during the miss');
    expect(execSignal?.aborted).toBe(true);
  });
});
