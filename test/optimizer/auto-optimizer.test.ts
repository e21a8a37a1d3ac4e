import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, type EngineEvents, type OptimizationEngineOptions } from '../../src/index.js';
import { createOptimizationHandler } from '../../src/http.js';
import { noise, testClock, type TestClock } from '../monitor/fixtures.js';
import { createManualClock } from '../../src/testing.js';
import { adminJson, bearerAuthorize } from '../http/helpers.js';

const engines: OptimizationEngine[] = [];
function setup(options: OptimizationEngineOptions = {}): { engine: OptimizationEngine; clock: TestClock; events: { apply: EngineEvents['optimization-apply'][]; revert: EngineEvents['optimization-revert'][] } } {
  const clock = testClock(0);
  const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false, ...options.monitor }, ...options, ...(options.monitor ? { monitor: { sampleIntervalMs: false, ...options.monitor } } : {}) });
  engines.push(engine);
  const events = { apply: [] as EngineEvents['optimization-apply'][], revert: [] as EngineEvents['optimization-revert'][] };
  engine.on('optimization-apply', (e) => events.apply.push(e));
  engine.on('optimization-revert', (e) => events.revert.push(e));
  return { engine, clock, events };
}
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  delete (globalThis as { gc?: unknown }).gc;
});

const answer = (prompt: unknown): string => `answer to ${String(prompt)}`;

async function round(engine: OptimizationEngine, count: number, prefix = 'p', value: (p: string) => string = answer): Promise<void> {
  for (let i = 0; i < count; i++) await engine.optimizeAiCall(`${prefix}${i}`, 'm', (p) => value(p as string));
}

describe('autoOptimize: cache TTL', () => {
  it('leaves the cache alone when misses are new prompts', async () => {
    const { engine } = setup({ cache: { ttlMs: 1000 } });
    await round(engine, 30);
    expect(engine.autoOptimize()).toEqual({ status: 'no_action_needed', count: 0, optimizations: [], reverted: [] });
    expect(engine.cache.getStats().ttlMs).toBe(1000);
  });

  it('raises the TTL when misses are mostly expirations, records before/after and emits optimization-apply', async () => {
    const { engine, clock, events } = setup({ cache: { ttlMs: 1000 } });
    await round(engine, 30);
    engine.autoOptimize();
    clock.advance(2000);
    await round(engine, 30);
    const result = engine.autoOptimize();
    expect(result).toMatchObject({ status: 'optimizations_applied', count: 1 });
    expect(result.optimizations[0]).toMatchObject({
      type: 'cache_ttl', timestamp: 2000, before: { ttl_ms: 1000 }, after: { ttl_ms: 2000 },
      evidence: { lookups: 30, hit_rate: 0, expired_misses: 30, new_misses: 0 },
    });
    expect(engine.cache.getStats().ttlMs).toBe(2000);
    expect(events.apply).toEqual([{ type: 'cache_ttl', action: result.optimizations[0]?.action, before: { ttl_ms: 1000 }, after: { ttl_ms: 2000 }, timestamp: 2000 }]);
  });

  it('never raises the TTL beyond maxTtlMs', async () => {
    const { engine, clock } = setup({ cache: { ttlMs: 1000 }, optimizer: { maxTtlMs: 1500 } });
    await round(engine, 30);
    clock.advance(2000);
    await round(engine, 30);
    expect(engine.autoOptimize().optimizations[0]?.after).toEqual({ ttl_ms: 1500 });
    clock.advance(5000);
    await round(engine, 30);
    clock.advance(5000);
    await round(engine, 30);
    engine.autoOptimize(); // judged (and reverted or kept), but never above the bound
    expect(engine.cache.getStats().ttlMs).toBeLessThanOrEqual(1500);
  });

  it('keeps the new TTL when the hit rate improved by the hysteresis margin', async () => {
    const { engine, clock, events } = setup({ cache: { ttlMs: 1000 } });
    await round(engine, 30);
    clock.advance(2000);
    await round(engine, 30);
    engine.autoOptimize(); // TTL 2000 from t = 2000; judged on a window starting at t ≥ 3000
    clock.advance(1500);
    await round(engine, 30); // expired under the old TTL: rewritten with the new one
    expect(engine.autoOptimize().reverted).toEqual([]); // window [2000, 3500]: too early to judge
    clock.advance(1500);
    await round(engine, 30); // 1500 ms old < 2000: hits
    expect(engine.autoOptimize().reverted).toEqual([]);
    expect(engine.cache.getStats().ttlMs).toBe(2000);
    expect(events.revert).toEqual([]);
    expect(engine.getOptimizationReport().optimizations_applied[0]).toMatchObject({ status: 'kept', result: { metric: 'hitRate', before: 0, after: 1 } });
  });

  it('reverts the TTL when the next judged window shows no improvement, and emits optimization-revert', async () => {
    const { engine, clock, events } = setup({ cache: { ttlMs: 1000 } });
    await round(engine, 30);
    clock.advance(2000);
    await round(engine, 30);
    engine.autoOptimize(); // applied at t = 2000
    clock.advance(500);
    await round(engine, 30, 'q');
    expect(engine.autoOptimize().reverted).toEqual([]); // window starts at 2000 < 2000 + old TTL
    clock.advance(5000);
    await round(engine, 30, 'r');
    expect(engine.autoOptimize().reverted).toEqual([]); // window starts at 2500: still too early
    clock.advance(500);
    await round(engine, 30, 's'); // window [7500, 8000]: 30 lookups, no hits
    const result = engine.autoOptimize();
    expect(result.reverted).toMatchObject([{ type: 'cache_ttl', before: { ttl_ms: 2000 }, after: { ttl_ms: 1000 }, timestamp: 8000 }]);
    expect(result.reverted[0]?.action).toMatch(/^revert: /);
    expect(engine.cache.getStats().ttlMs).toBe(1000);
    expect(events.revert).toHaveLength(1);
    expect(engine.getOptimizationReport().optimizations_applied[0]).toMatchObject({ status: 'reverted', result: { before: 0, after: 0 } });
  });

  it('waits for the cooldown (doubled after a revert) before the same rule acts again', async () => {
    const { engine, clock } = setup({ cache: { ttlMs: 1000 }, optimizer: { cooldownMs: 10_000 } });
    const expireAndMiss = async (ms = 2000): Promise<void> => {
      clock.advance(ms);
      await round(engine, 30);
    };
    await round(engine, 30);
    engine.autoOptimize();
    await expireAndMiss();
    expect(engine.autoOptimize().count).toBe(1); // t = 2000, cooldown until 12 000
    await expireAndMiss(); // t = 4000
    engine.autoOptimize();
    await round(engine, 30, 'n');
    clock.advance(100);
    expect(engine.autoOptimize().reverted).toHaveLength(1); // window [4000, 4100] judged: no hits; now cooldown 20 000
    engine.cache.clear();
    for (const t of [10_000, 15_000]) {
      clock.t = t;
      await round(engine, 30);
      engine.autoOptimize();
      await expireAndMiss();
      expect(engine.autoOptimize().count).toBe(0); // all misses expired, but t < 4100 + 20 000
    }
    clock.t = 30_000;
    await round(engine, 30); // expired again; the cooldown is over
    expect(engine.autoOptimize().optimizations[0]?.type).toBe('cache_ttl');
  });

  it('only runs the rules it is allowed to', async () => {
    const { engine, clock } = setup({ cache: { ttlMs: 1000 }, optimizer: { rules: ['cache_capacity'] } });
    await round(engine, 30);
    clock.advance(2000);
    await round(engine, 30);
    expect(engine.autoOptimize().status).toBe('no_action_needed');
  });
});

describe('autoOptimize: cache capacity', () => {
  it('raises capacity when misses are mostly evictions, within maxEntries, and keeps it when hits follow', async () => {
    // LRU: the 'k' keys below must fill the raised room; W-TinyLFU would (rightly) keep the twice-seen 'p' keys instead.
    const { engine } = setup({ cache: { maxEntries: 10, policy: 'lru' }, optimizer: { maxEntries: 15 } });
    await round(engine, 20);
    engine.autoOptimize();
    await round(engine, 20); // each one was evicted
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'cache_capacity', before: { max_entries: 10 }, after: { max_entries: 15 } });
    expect(change?.evidence.evicted_misses).toBeGreaterThanOrEqual(10); // the cache's ghost list remembers most of them
    expect(engine.cache.getStats().maxEntries).toBe(15);
    await round(engine, 15, 'k');
    await round(engine, 15, 'k');
    engine.autoOptimize();
    expect(engine.getOptimizationReport().optimizations_applied[0]?.status).toBe('kept');
  });

  it('does not grow the cache under memory pressure', async () => {
    const { engine } = setup({ cache: { maxEntries: 10 }, monitor: { thresholds: { memoryBytes: 1 } }, optimizer: { rules: ['cache_capacity'] } });
    await round(engine, 20);
    engine.autoOptimize();
    await round(engine, 20);
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 100 });
    expect(engine.autoOptimize().count).toBe(0);
  });
});

describe('autoOptimize: memory', () => {
  const big = (p: string): string => `${p}:${'x'.repeat(2000)}`;

  it('halves the byte budget when the cache holds much of the heap, runs global.gc, and reverts when memory did not drop', async () => {
    const gc = vi.fn();
    (globalThis as { gc?: unknown }).gc = gc;
    const { engine, clock, events } = setup({ monitor: { thresholds: { memoryBytes: 1000 } }, optimizer: { minBytes: 1000, rules: ['memory'] } });
    await round(engine, 30, 'p', big);
    const bytes = engine.cache.getStats().bytes;
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000 });
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'memory', before: { max_bytes: Infinity }, after: { max_bytes: Math.floor(bytes / 2) } });
    expect(gc).toHaveBeenCalledTimes(1);
    expect(engine.cache.getStats().bytes).toBeLessThanOrEqual(bytes / 2);
    clock.advance(1000);
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000 });
    expect(engine.autoOptimize().reverted).toHaveLength(1);
    expect(engine.cache.getStats().maxBytes).toBe(Infinity);
    expect(events.revert[0]).toMatchObject({ type: 'memory', after: { max_bytes: Infinity } });
  });

  it('keeps the trim when memory dropped', async () => {
    const { engine, clock } = setup({ monitor: { thresholds: { memoryBytes: 1000 } }, optimizer: { minBytes: 1000, rules: ['memory'] } });
    await round(engine, 30, 'p', big);
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000 });
    engine.autoOptimize();
    clock.advance(1000);
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 20_000 });
    expect(engine.autoOptimize().reverted).toEqual([]);
    expect(engine.getOptimizationReport().optimizations_applied[0]?.status).toBe('kept');
  });

  it('only runs global.gc when the cache is too small to matter, and nothing when gc is not exposed', async () => {
    const { engine } = setup({ monitor: { thresholds: { memoryBytes: 1000 } }, optimizer: { rules: ['memory'] } });
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000_000 });
    expect(engine.autoOptimize().count).toBe(0);
    const gc = vi.fn();
    (globalThis as { gc?: unknown }).gc = gc;
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'memory', action: 'run global.gc()', before: {}, after: {} });
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('does not call global.gc when `gc: false`', async () => {
    const gc = vi.fn();
    (globalThis as { gc?: unknown }).gc = gc;
    const { engine } = setup({ monitor: { thresholds: { memoryBytes: 1000 } }, optimizer: { gc: false } });
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000_000 });
    expect(engine.autoOptimize().count).toBe(0);
    expect(gc).not.toHaveBeenCalled();
  });
});

describe('autoOptimize: concurrency', () => {
  it('throttles on high CPU, not below minConcurrency, and keeps it when CPU fell', () => {
    const { engine, clock } = setup({ maxConcurrency: 8, optimizer: { minConcurrency: 7 } });
    for (let i = 0; i < 5; i++) engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 95 });
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'throttle', before: { max_concurrency: 8 }, after: { max_concurrency: 7 }, evidence: { cpu_percent: 95 } });
    expect(engine.maxConcurrency).toBe(7);
    clock.advance(1000);
    engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 40 });
    expect(engine.autoOptimize().reverted).toEqual([]);
    expect(engine.maxConcurrency).toBe(7);
  });

  it('throttles when latency rises with the number of calls in flight (queueing in the model server)', () => {
    const { engine, clock } = setup();
    for (let i = 0; i < 60; i++) {
      const inFlight = i % 6;
      engine.monitor.recordCall({ model: 'm', scope: '', outcome: 'miss', durationMs: 1000 * (1 + inFlight) + noise(i), timestampMs: clock.now(), inFlight });
    }
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'throttle', before: { max_concurrency: Infinity }, after: { max_concurrency: 2 }, evidence: { peak_in_flight: 6 } });
    expect(engine.maxConcurrency).toBe(2);
  });

  it('lowers concurrency on degrading latency and reverts it when latency did not recover', () => {
    const { engine, clock, events } = setup({ maxConcurrency: 4, monitor: { trendWindow: 50 } });
    for (let i = 0; i < 150; i++) engine.monitor.recordMetric({ responseTimeMs: (i < 100 ? 800 : 1600) + noise(i) * 10 });
    const [change] = engine.autoOptimize().optimizations;
    expect(change).toMatchObject({ type: 'rebalance', before: { max_concurrency: 4 }, after: { max_concurrency: 3 }, evidence: { latency_metric: 'responseTimeMs' } });
    clock.advance(1000);
    for (let i = 0; i < 10; i++) engine.monitor.recordMetric({ responseTimeMs: 1600 + noise(i) * 10 });
    expect(engine.autoOptimize().reverted).toMatchObject([{ type: 'rebalance', after: { max_concurrency: 4 } }]);
    expect(engine.maxConcurrency).toBe(4);
    expect(events.revert).toHaveLength(1);
  });

  it('does not let another rule act on a setting reverted in the same evaluation', () => {
    const { engine, clock } = setup({ maxConcurrency: 8, monitor: { trendWindow: 50 }, optimizer: { minConcurrency: 2 } });
    for (let i = 0; i < 5; i++) engine.monitor.recordMetric({ responseTimeMs: 800, cpuPercent: 95 });
    expect(engine.autoOptimize().optimizations).toMatchObject([{ type: 'throttle', after: { max_concurrency: 6 } }]);
    clock.advance(1000);
    // CPU stays high (throttle did not help) and latency now degrades (rebalance would want to act).
    for (let i = 0; i < 150; i++) engine.monitor.recordMetric({ responseTimeMs: (i < 100 ? 800 : 1600) + noise(i) * 10, cpuPercent: 95 });
    const result = engine.autoOptimize();
    expect(result.reverted).toMatchObject([{ type: 'throttle', after: { max_concurrency: 8 } }]);
    expect(result.optimizations).toEqual([]);
    expect(engine.maxConcurrency).toBe(8);
    clock.advance(1000);
    engine.monitor.recordMetric({ responseTimeMs: 1600 });
    expect(engine.autoOptimize().optimizations).toMatchObject([{ type: 'rebalance', before: { max_concurrency: 8 }, after: { max_concurrency: 6 } }]);
  });

  it('leaves a change alone when someone else changed the setting since (superseded)', () => {
    const { engine, clock, events } = setup({ maxConcurrency: 4, monitor: { trendWindow: 50 } });
    for (let i = 0; i < 150; i++) engine.monitor.recordMetric({ responseTimeMs: (i < 100 ? 800 : 1600) + noise(i) * 10 });
    engine.autoOptimize();
    engine.maxConcurrency = 2;
    clock.advance(1000);
    for (let i = 0; i < 10; i++) engine.monitor.recordMetric({ responseTimeMs: 1600 });
    engine.autoOptimize();
    expect(engine.maxConcurrency).toBe(2);
    expect(events.revert).toEqual([]);
    expect(engine.getOptimizationReport().optimizations_applied[0]?.status).toBe('superseded');
  });

  it('does nothing with too little to go on', () => {
    const { engine } = setup();
    expect(engine.autoOptimize()).toMatchObject({ status: 'no_action_needed', count: 0 });
  });
});

describe('autoOptimize: options', () => {
  it('rejects unknown and bad bounds, naming them', () => {
    const make = (optimizer: unknown) => () => new OptimizationEngine({ optimizer: optimizer as never, monitor: { sampleIntervalMs: false } });
    expect(make({ maxTTL: 1 })).toThrow(/optimizer.maxTTL/);
    expect(make({ rules: ['cache_ttl', 'magic'] })).toThrow(/optimizer.rules/);
    expect(make({ rules: 'cache_ttl' })).toThrow(/optimizer.rules/);
    expect(make({ hysteresis: 2 })).toThrow(/optimizer.hysteresis/);
    expect(make({ minConcurrency: 0 })).toThrow(/optimizer.minConcurrency/);
    expect(make({ gc: 'yes' })).toThrow(/optimizer.gc/);
    expect(make({ maxBytes: Infinity })).not.toThrow();
  });
});


describe('autoOptimize: changes are undone once their cause is gone', () => {
  /** An engine on the test kit's manual clock; CPU and latency come from a fake sampler (`recordMetric`), never from this machine. */
  function calmSetup(optimizer: OptimizationEngineOptions['optimizer'] = {}, extra: OptimizationEngineOptions = {}) {
    const clock = createManualClock(0);
    const engine = new OptimizationEngine({
      clock, maxConcurrency: 16, monitor: { sampleIntervalMs: false, thresholds: { cpuPercent: 1000 } },
      optimizer: { cooldownMs: 1000, ...optimizer }, ...extra,
    });
    engines.push(engine);
    const revert: EngineEvents['optimization-revert'][] = [];
    engine.on('optimization-revert', (e) => revert.push(e));
    /** One evaluation window of 1 s with the given CPU. */
    const evaluate = (cpuPercent: number) => {
      clock.advance(1000);
      engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent });
      return engine.autoOptimize();
    };
    return { engine, clock, revert, evaluate };
  }

  it('a CPU spike then recovery restores maxConcurrency to its configured value within calmEvaluations evaluations', () => {
    const { engine, revert, evaluate } = calmSetup();
    expect(evaluate(95).optimizations).toMatchObject([{ type: 'throttle', after: { max_concurrency: 12 } }]);
    expect(evaluate(85).optimizations).toMatchObject([{ type: 'throttle', after: { max_concurrency: 9 } }]); // the first step helped: kept
    evaluate(75); // helped again; 75 % is under the trigger but not below it by the hysteresis margin (72 %): not calm yet
    expect(engine.maxConcurrency).toBe(9);
    expect(engine.getOptimizationReport().optimizations_applied.map((o) => o.status)).toEqual(['kept', 'kept']);
    expect(evaluate(5).reverted).toEqual([]);
    expect(evaluate(5).reverted).toEqual([]);
    const third = evaluate(5);
    expect(third.reverted).toMatchObject([{ type: 'throttle', before: { max_concurrency: 9 }, after: { max_concurrency: 16 }, reason: 'the cause of the change is gone' }]);
    expect(third.reverted[0]?.action).toMatch(/^restore: max_concurrency 16 \(throttle calm for 3 evaluations\)$/);
    expect(engine.maxConcurrency).toBe(16);
    expect(revert.at(-1)).toMatchObject({ after: { max_concurrency: 16 } });
    for (let i = 0; i < 20; i++) evaluate(5);
    expect(engine.maxConcurrency).toBe(16);
  });

  it('a run of calm windows broken by a hot one starts counting again (hysteresis in time)', () => {
    const { engine, evaluate } = calmSetup({ calmEvaluations: 2 });
    evaluate(95);
    evaluate(40);
    evaluate(79); // under the 80 % trigger, above 72 %: breaks the calm run
    expect(engine.maxConcurrency).toBe(12);
    evaluate(40);
    expect(engine.maxConcurrency).toBe(12);
    evaluate(40);
    expect(engine.maxConcurrency).toBe(16);
  });

  it('sustained high CPU that lowering does not improve never ratchets the limit down: each step is reverted', () => {
    const { engine, evaluate } = calmSetup();
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      evaluate(95);
      seen.add(engine.maxConcurrency);
    }
    expect(Math.min(...seen)).toBe(12);
    expect(engine.getOptimizationReport().optimizations_applied.every((o) => o.status !== 'kept')).toBe(true);
  });

  it('reverts a lowering that cost throughput even though CPU fell (less work is not an improvement)', async () => {
    const { engine, clock } = calmSetup();
    const calls = async (n: number) => {
      for (let i = 0; i < n; i++) await engine.optimizeAiCall('same', 'm', () => 'a');
    };
    engine.autoOptimize(); // opens the first window
    clock.advance(1000);
    await calls(100);
    engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 95 });
    expect(engine.autoOptimize().optimizations).toMatchObject([{ type: 'throttle', after: { max_concurrency: 12 } }]);
    clock.advance(1000);
    await calls(30); // CPU fell, but so did the calls answered per second: from 100 to 30
    engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 60 });
    expect(engine.autoOptimize().reverted).toMatchObject([{ type: 'throttle', after: { max_concurrency: 16 } }]);
    expect(engine.maxConcurrency).toBe(16);
  });

  it('does not throttle on a high_cpu anomaly when the CPU measured in the window is low', () => {
    const { engine, clock } = calmSetup({}, { monitor: { sampleIntervalMs: false, thresholds: { cpuPercent: 1 } } });
    clock.advance(1000);
    engine.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 5 });
    expect(engine.monitor.detectAnomalies().map((a) => a.type)).toContain('high_cpu');
    expect(engine.autoOptimize().optimizations).toEqual([]);
    expect(engine.maxConcurrency).toBe(16);
  });

  it('leaves a limit someone else set since alone: it is theirs, never put back', () => {
    const { engine, evaluate } = calmSetup();
    evaluate(95);
    engine.maxConcurrency = 5;
    for (let i = 0; i < 10; i++) evaluate(5);
    expect(engine.maxConcurrency).toBe(5);
  });

  it('restores the byte budget the memory rule trimmed once memory is back to normal', async () => {
    const { engine, evaluate } = calmSetup({ rules: ['memory'], minBytes: 1000, maxHeapBytes: 30_000 });
    for (let i = 0; i < 30; i++) await engine.optimizeAiCall(`p${i}`, 'm', () => `${i}:${'x'.repeat(2000)}`);
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 50_000 });
    expect(engine.autoOptimize().optimizations).toMatchObject([{ type: 'memory', before: { max_bytes: Infinity } }]);
    const memory = (memoryBytes: number) => {
      engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes });
      return evaluate(5);
    };
    memory(20_000); // kept: memory fell; calm 1
    memory(20_000);
    expect(engine.cache.getStats().maxBytes).toBeLessThan(Infinity);
    expect(memory(20_000).reverted).toMatchObject([{ type: 'memory', after: { max_bytes: Infinity } }]);
    expect(engine.cache.getStats().maxBytes).toBe(Infinity);
  });

  it('restores a raised capacity once the extra room is unused (going back evicts nothing)', async () => {
    const { engine, clock } = calmSetup({ rules: ['cache_capacity'], maxEntries: 40, minSamples: 5 }, { cache: { maxEntries: 10 } });
    const round = async (n: number, prefix: string) => {
      for (let i = 0; i < n; i++) await engine.optimizeAiCall(`${prefix}${i}`, 'm', () => 'a');
    };
    await round(20, 'p');
    engine.autoOptimize();
    await round(20, 'p'); // each one was evicted
    expect(engine.autoOptimize().optimizations).toMatchObject([{ type: 'cache_capacity', after: { max_entries: 20 } }]);
    engine.cache.clear();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await round(2, 'q');
      await round(2, 'q'); // 2 entries in a cache of 20: the raise is unused
      engine.autoOptimize();
    }
    expect(engine.cache.getStats().maxEntries).toBe(10);
  });
});

describe('a long monitor history (historySize 200 000)', () => {
  /** Fills the in-flight history with 200 000 model calls, as a busy service would. */
  function busyEngine() {
    const { engine, clock } = setup({ monitor: { historySize: 200_000 } });
    for (let i = 0; i < 200_000; i++) {
      engine.monitor.recordCall({ model: 'm', scope: '', outcome: 'miss', durationMs: 100, timestampMs: clock.now(), inFlight: i % 7 });
    }
    clock.advance(1000);
    return engine;
  }

  it('autoOptimize() evaluates it without overflowing the stack', () => {
    const engine = busyEngine();
    expect(engine.monitor.getHistory('inFlight')).toHaveLength(200_000);
    expect(engine.autoOptimize().status).toMatch(/^(optimizations_applied|no_action_needed)$/);
  });

  it('POST /optimization/auto-optimize answers 200, not 500', async () => {
    const handler = createOptimizationHandler(busyEngine(), { authorize: bearerAuthorize });
    const response = await handler(new Request('http://test.local/optimization/auto-optimize', { method: 'POST', headers: adminJson }));
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toMatch(/^(optimizations_applied|no_action_needed)$/);
  });
});
