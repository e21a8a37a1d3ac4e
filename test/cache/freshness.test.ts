import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus, EngineEvents } from '../../src/index.js';
import { resolveFreshness, shouldRefreshAhead } from '../../src/cache/freshness.js';
import { deferred, fakeClock, flush } from '../helpers.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function refreshes(engine: OptimizationEngine): EngineEvents['cache-refresh'][] {
  const seen: EngineEvents['cache-refresh'][] = [];
  engine.on('cache-refresh', (e) => void seen.push(e));
  return seen;
}

describe('XFetch: shouldRefreshAhead', () => {
  it('always refreshes at or past expiry, never far from it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 60_000 }), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (now, execMs, beta, r) => {
      expect(shouldRefreshAhead(now, now, execMs, beta, () => r)).toBe(true);
      expect(shouldRefreshAhead(now, now - 1, execMs, beta, () => r)).toBe(true);
      const far = now + Math.max(1, execMs) * beta * 25;
      expect(shouldRefreshAhead(now, far, execMs, beta, () => r)).toBe(false);
    }));
  });

  it('is monotone: a draw that refreshes at some distance from expiry refreshes at every smaller one', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (gapA, gapB, execMs, r) => {
      const [near, far] = gapA < gapB ? [gapA, gapB] : [gapB, gapA];
      if (shouldRefreshAhead(0, far, execMs, 1, () => r)) expect(shouldRefreshAhead(0, near, execMs, 1, () => r)).toBe(true);
    }));
  });

  it('refreshes with probability exp(-gap / (execMs × beta)) (seeded draws)', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) + 0.5) / 2 ** 31;
    for (const gap of [500, 1000, 2000]) {
      let hits = 0;
      for (let i = 0; i < 20_000; i++) if (shouldRefreshAhead(0, gap, 1000, 1, random)) hits++;
      expect(Math.abs(hits / 20_000 - Math.exp(-gap / 1000))).toBeLessThan(0.02);
    }
  });
});

describe('freshness options', () => {
  it('are validated, naming the option', () => {
    expect(() => new OptimizationEngine({ freshness: { graceMs: -1 } })).toThrow(/`freshness.graceMs` must be a non-negative finite number, received -1/);
    expect(() => new OptimizationEngine({ freshness: { softTimeoutMs: 0 } })).toThrow(/`freshness.softTimeoutMs` must be a positive/);
    expect(() => new OptimizationEngine({ freshness: { refreshAhead: { beta: 0 } } })).toThrow(/`freshness.refreshAhead.beta`/);
    expect(() => new OptimizationEngine({ freshness: { refreshAhead: 'yes' as never } })).toThrow(/`freshness.refreshAhead` must be an object/);
    expect(() => new OptimizationEngine({ freshness: { maxBackgroundRefreshes: 1.5 } })).toThrow(/`freshness.maxBackgroundRefreshes` must be an integer/);
    expect(() => new OptimizationEngine({ freshness: { grace: 1 } as never })).toThrow(/Unknown option `freshness.grace`/);
    expect(resolveFreshness(undefined)).toEqual({ graceMs: 0, beta: 0, softTimeoutMs: undefined, maxBackgroundRefreshes: 32 });
    expect(resolveFreshness({ refreshAhead: true }).beta).toBe(1);
  });

  it('per call: graceMs, softTimeoutMs and tags are checked before any work', async () => {
    const engine = new OptimizationEngine();
    const exec = vi.fn(() => 'v');
    await expect(engine.optimizeAiCall('p', 'm', exec, { graceMs: -5 })).rejects.toThrow(/`graceMs` must be a non-negative/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { softTimeoutMs: Number.NaN })).rejects.toThrow(/`softTimeoutMs` must be a positive/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { tags: 'a' as never })).rejects.toThrow(/`tags` must be an array/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { tags: ['ok', ''] })).rejects.toThrow(/`tags\[1\]` must be a non-empty string/);
    await expect(engine.optimizeAiCall('p', 'm', exec, { tags: Array.from({ length: 17 }, (_, i) => `t${i}`) })).rejects.toThrow(/at most 16/);
    expect(exec).not.toHaveBeenCalled();
  });
});

describe('stale-while-revalidate (graceMs)', () => {
  it('serves an entry in its grace at once and refreshes it once in the background', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 60_000 } });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    const next = deferred<string>();
    const exec = vi.fn(() => next.promise);
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status })).toBe('old');
    expect(status).toMatchObject({ outcome: 'hit', stale: true, staleReason: 'grace', revalidating: true });
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('old');
    expect(exec).toHaveBeenCalledTimes(1);
    next.resolve('new');
    await flush();
    const fresh: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status: fresh })).toBe('new');
    expect(fresh.stale).toBeUndefined();
    expect(seen).toMatchObject([{ reason: 'grace', outcome: 'stored', model: 'm' }]);
    expect(engine.getCacheStats().cache).toMatchObject({ stale_served: 2, background_refreshes: { grace: 1, ahead: 0, soft_timeout: 0 } });
  });

  it('a caller missing the key while it is refreshed joins the refresh', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 } });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    const next = deferred<string>();
    const exec = vi.fn(() => next.promise);
    expect(await engine.optimizeAiCall('p', 'm', exec, { graceMs: 1000 })).toBe('old');
    const status: CallStatus = {};
    const missing = engine.optimizeAiCall('p', 'm', exec, { status });
    next.resolve('new');
    expect(await missing).toBe('new');
    expect(status.outcome).toBe('coalesced');
    expect(exec).toHaveBeenCalledTimes(1);
  });

  it('a caller joining the refresh and leaving does not abort it', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 1000 } });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    const next = deferred<string>();
    let signal: AbortSignal | undefined;
    const exec = vi.fn((_p: unknown, _m: string, ctx: { signal: AbortSignal }) => ((signal = ctx.signal), next.promise));
    await engine.optimizeAiCall('p', 'm', exec);
    const leaving = new AbortController();
    const joined = engine.optimizeAiCall('p', 'm', exec, { cache: 'refresh', signal: leaving.signal });
    leaving.abort(new Error('left'));
    await expect(joined).rejects.toThrow('left');
    expect(signal?.aborted).toBe(false);
    next.resolve('new');
    await flush();
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('new');
  });

  it('a failed refresh keeps the old entry until its grace ends, reported as an event, never an unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 }, retry: false, breaker: false });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(2000);
    const failure = new Error('model down');
    const failing = vi.fn(() => Promise.reject(failure));
    expect(await engine.optimizeAiCall('p', 'm', failing)).toBe('old');
    await flush();
    expect(seen).toMatchObject([{ reason: 'grace', outcome: 'error', error: failure }]);
    expect(await engine.optimizeAiCall('p', 'm', failing)).toBe('old');
    await flush();
    expect(failing).toHaveBeenCalledTimes(2);
    clock.advance(5000);
    await expect(engine.optimizeAiCall('p', 'm', failing)).rejects.toBe(failure);
    expect(engine.getCacheStats().cache.refresh_failures).toBe(2);
    await flush();
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  it('an incomplete refresh is not stored: the old entry stays', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 } });
    const seen = refreshes(engine);
    const isComplete = (v: unknown): boolean => v !== 'trunc';
    await engine.optimizeAiCall('p', 'm', () => 'old', { isComplete });
    clock.advance(1500);
    expect(await engine.optimizeAiCall('p', 'm', () => 'trunc', { isComplete })).toBe('old');
    await flush();
    expect(seen).toMatchObject([{ outcome: 'not-stored' }]);
    expect(await engine.optimizeAiCall('p', 'm', () => 'trunc', { isComplete })).toBe('old');
  });

  it('gives no grace to an entry seen before its creation (the clock was set back)', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 60_000 } });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(-5000);
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', () => 'new', { status })).toBe('new');
    expect(status.stale).toBeUndefined();
  });

  it('only-if-cached serves the entry in its grace without refreshing it', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 } });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    const exec = vi.fn(() => 'new');
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { cache: 'only-if-cached', status })).toBe('old');
    expect(exec).not.toHaveBeenCalled();
    expect(status.revalidating).toBeUndefined();
  });

  it('refreshes at most maxBackgroundRefreshes at once; beyond, the entry is served and the refresh skipped', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000, maxBackgroundRefreshes: 1 } });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('a', 'm', () => 'old a');
    await engine.optimizeAiCall('b', 'm', () => 'old b');
    clock.advance(1500);
    const hold = deferred<string>();
    expect(await engine.optimizeAiCall('a', 'm', () => hold.promise)).toBe('old a');
    const exec = vi.fn(() => 'new b');
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('b', 'm', exec, { status })).toBe('old b');
    expect(exec).not.toHaveBeenCalled();
    expect(status.revalidating).toBeUndefined();
    expect(seen).toMatchObject([{ reason: 'grace', outcome: 'skipped' }]);
    hold.resolve('new a');
    await flush();
    expect(await engine.optimizeAiCall('b', 'm', exec)).toBe('old b');
    await flush();
    expect(exec).toHaveBeenCalledTimes(1);
  });

  it('engine.close() aborts a background refresh; its end is an event', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 } });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    let signal: AbortSignal | undefined;
    await engine.optimizeAiCall('p', 'm', (_p, _m, ctx) => ((signal = ctx.signal), new Promise<string>(() => undefined)));
    await engine.close();
    await flush();
    expect(signal?.aborted).toBe(true);
    expect(seen).toMatchObject([{ outcome: 'error', error: { code: 'ERR_CLOSED' } }]);
  });

  it('background refreshes wait for the throttle like any model call', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 }, maxConcurrency: 1 });
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(1500);
    const busy = deferred<string>();
    const other = engine.optimizeAiCall('other', 'm', () => busy.promise);
    const exec = vi.fn(() => 'new');
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('old');
    await flush();
    expect(exec).not.toHaveBeenCalled();
    busy.resolve('x');
    await other;
    await flush();
    expect(exec).toHaveBeenCalledTimes(1);
  });
});

describe('refresh-ahead', () => {
  it('refreshes a hot entry shortly before expiry, serving the current answer meanwhile', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.01); // -ln(0.01) ≈ 4.6: refresh within 4.6 × execMs of expiry
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 60_000 }, freshness: { refreshAhead: true } });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => (clock.advance(1000), 'old'));
    const exec = vi.fn(() => 'new');
    clock.advance(50_000); // 9 s before expiry: too early
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('old');
    expect(exec).not.toHaveBeenCalled();
    clock.advance(6000); // 3 s before expiry
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'm', exec, { status })).toBe('old');
    expect(status).toMatchObject({ outcome: 'hit', revalidating: true });
    expect(status.stale).toBeUndefined();
    await flush();
    expect(exec).toHaveBeenCalledTimes(1);
    clock.advance(10_000); // past the first entry's expiry
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('new');
    expect(seen).toMatchObject([{ reason: 'ahead', outcome: 'stored' }]);
  });

  it('under steady load a popular answer never expires (real random draws)', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 10_000 }, freshness: { refreshAhead: { beta: 2 } } });
    let version = 0;
    const exec = (): string => (clock.advance(500), `v${++version}`);
    await engine.optimizeAiCall('p', 'm', exec);
    const outcomes = new Set<string>();
    for (let i = 0; i < 600; i++) {
      clock.advance(100);
      const status: CallStatus = {};
      await engine.optimizeAiCall('p', 'm', exec, { status });
      outcomes.add(`${status.outcome}${status.stale === true ? ' stale' : ''}`);
      await flush();
    }
    expect([...outcomes]).toEqual(['hit']);
    expect(version).toBeGreaterThan(5);
    expect(engine.getCacheStats().cache.misses).toBe(1);
  });
});

describe('soft timeout (softTimeoutMs)', () => {
  it('answers with the expired entry when the model is slower, then stores what the model returns', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, freshness: { softTimeoutMs: 200 } });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(5000);
    const next = deferred<string>();
    let signal: AbortSignal | undefined;
    const leaving = new AbortController();
    const status: CallStatus = {};
    const call = engine.optimizeAiCall('p', 'm', (_p, _m, ctx) => ((signal = ctx.signal), next.promise), { status, signal: leaving.signal });
    await vi.advanceTimersByTimeAsync(200);
    expect(await call).toBe('old');
    expect(status).toMatchObject({ outcome: 'hit', stale: true, staleReason: 'soft-timeout', revalidating: true });
    leaving.abort(new Error('caller gone'));
    expect(signal?.aborted).toBe(false);
    next.resolve('new');
    await flush();
    expect(await engine.optimizeAiCall('p', 'm', () => 'never')).toBe('new');
    expect(seen).toMatchObject([{ reason: 'soft-timeout', outcome: 'stored' }]);
  });

  it('waits for the model when it answers in time, or when there is no expired entry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 } });
    const slow = deferred<string>();
    const first = engine.optimizeAiCall('p', 'm', () => slow.promise, { softTimeoutMs: 10 });
    await vi.advanceTimersByTimeAsync(1000);
    slow.resolve('computed');
    expect(await first).toBe('computed');
    clock.advance(5000);
    const quick = engine.optimizeAiCall('p', 'm', async () => 'recomputed', { softTimeoutMs: 10 });
    expect(await quick).toBe('recomputed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a computation that fails after the soft timeout is an event, never an unhandled rejection', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, retry: false });
    const seen = refreshes(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    clock.advance(5000);
    const next = deferred<string>();
    const call = engine.optimizeAiCall('p', 'm', () => next.promise, { softTimeoutMs: 50 });
    await vi.advanceTimersByTimeAsync(50);
    expect(await call).toBe('old');
    next.reject(new Error('boom'));
    await flush();
    expect(seen).toMatchObject([{ reason: 'soft-timeout', outcome: 'error' }]);
  });
});
