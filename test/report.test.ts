import { afterEach, describe, expect, it } from 'vitest';
import { efficiencyScore, OptimizationEngine, type OptimizationEngineOptions } from '../src/index.js';
import { testClock, type TestClock } from './monitor/fixtures.js';

const engines: OptimizationEngine[] = [];
function setup(options: OptimizationEngineOptions = {}): { engine: OptimizationEngine; clock: TestClock } {
  const clock = testClock(Date.UTC(2026, 0, 2, 3, 4, 5));
  const engine = new OptimizationEngine({ clock, ...options, monitor: { sampleIntervalMs: false, ...options.monitor } });
  engines.push(engine);
  return { engine, clock };
}
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

describe('efficiencyScore', () => {
  it('is 70 at 0 % hits, 85 at 50 %, 100 at 100 %', () => {
    expect(efficiencyScore(0, 0)).toBe(70);
    expect(efficiencyScore(0.5, 0)).toBe(85);
    expect(efficiencyScore(1, 0)).toBe(100);
  });

  it('takes 10 per anomaly, at most 30, and stays within [0, 100]', () => {
    expect(efficiencyScore(1, 1)).toBe(90);
    expect(efficiencyScore(1, 3)).toBe(70);
    expect(efficiencyScore(1, 7)).toBe(70);
    expect(efficiencyScore(0, 100)).toBe(40);
    expect(efficiencyScore(2, 0)).toBe(100);
    expect(efficiencyScore(-5, 3)).toBe(0);
  });
});

describe('engine.getOptimizationReport', () => {
  it('counts model calls where exec ran: a caller that joined a failing call is an error but not a model call', async () => {
    const { engine } = setup();
    let fail!: (error: Error) => void;
    const exec = (): Promise<string> => new Promise((_, reject) => (fail = reject));
    const calls = [engine.optimizeAiCall('x', 'm', exec), engine.optimizeAiCall('x', 'm', exec)].map((p) => p.catch(() => 'failed'));
    await new Promise((resolve) => setImmediate(resolve));
    fail(new Error('down'));
    expect(await Promise.all(calls)).toEqual(['failed', 'failed']);
    await engine.optimizeAiCall('y', 'm', () => 'v');
    await engine.optimizeAiCall('y', 'm', () => 'never');
    const { summary, cache } = engine.getOptimizationReport();
    expect(summary).toMatchObject({ total_calls: 4, errors: 2, model_calls: 2, requests_saved: 1, answered_without_model_percent: 33.33 });
    expect(cache).toMatchObject({ misses: 3, coalesced: 0, model_calls: 2, answered_without_model_percent: 33.33 });
  });

  it('summarises calls, counting coalesced calls as saved in the effective hit rate that drives the score', async () => {
    const { engine, clock } = setup({ costPerRequestUsd: 0.01 });
    const exec = (p: unknown): string => {
      clock.advance(100);
      return `a:${String(p)}`;
    };
    await engine.optimizeAiCall('one', 'm', exec); // miss
    await engine.optimizeAiCall('one', 'm', exec); // hit
    await engine.optimizeAiCall('one', 'm', exec); // hit
    let release!: (v: string) => void;
    const slow = (): Promise<string> => new Promise((resolve) => (release = resolve));
    const first = engine.optimizeAiCall('two', 'm', slow); // miss
    const second = engine.optimizeAiCall('two', 'm', slow); // coalesced (a lookup miss for the cache)
    release('b');
    await Promise.all([first, second]);
    await expect(engine.optimizeAiCall('three', 'm', () => Promise.reject(new Error('down')))).rejects.toThrow('down'); // error
    await engine.optimizeAiCall('four', 'm', exec, { cache: 'bypass' }); // bypass: no lookup

    const report = engine.getOptimizationReport();
    const stats = engine.getCacheStats();
    // Lookups: 2 hits + 4 misses (one, two, two-coalesced, three). Saved: 2 hits + 1 coalesced.
    expect(report.summary).toMatchObject({
      total_calls: 7,
      hit_rate_percent: stats.cache.hit_rate_percent,
      effective_hit_rate_percent: 50,
      requests_saved: 3,
      model_calls: 4,
      errors: 1,
      anomalies: 0,
      efficiency_score: 85,
      status: 'good',
      generated_at: '2026-01-02T03:04:05.200Z',
      cost_saved_usd: 0.03,
    });
    expect(stats.cache.hit_rate_percent).toBeCloseTo(33.33);
    expect(report.summary.avg_response_time_ms).toBe(66.67); // model calls: 'one' 100 ms, 'two' 0, 'four' (bypass) 100; errors and hits are not latency
    expect(report.cache).toMatchObject({ ...stats.cache, max_bytes: null, evictions: 0, miss_causes: { new: 4, expired: 0, evicted: 0 } });
    expect(report.cache.bytes).toBeGreaterThan(0);
    expect(report.performance_impact).toEqual(stats.performance_impact);
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ summary: { efficiency_score: 85 } });
  });

  it('is 70 and fair for an engine that has seen nothing', () => {
    const { engine } = setup();
    const report = engine.getOptimizationReport();
    expect(report.summary).toMatchObject({ efficiency_score: 70, status: 'fair', total_calls: 0, hit_rate_percent: 0, avg_response_time_ms: null });
    expect(report.anomalies).toEqual([]);
    expect(report.recommendations).toEqual([]);
    expect(report.optimizations_applied).toEqual([]);
    expect(report.trends.responseTimeMs?.status).toBe('insufficient_data');
  });

  it('lists recent anomalies and takes 10 points each from the score, at most 30', () => {
    const { engine } = setup({ monitor: { thresholds: { responseTimeMs: 100, memoryBytes: 100, cpuPercent: 50 } } });
    const events: string[] = [];
    engine.on('anomaly-detect', (a) => events.push(a.type));
    engine.monitor.recordMetric({ responseTimeMs: 500 });
    expect(engine.getOptimizationReport().summary).toMatchObject({ anomalies: 1, efficiency_score: 60, status: 'poor' });
    engine.monitor.recordMetric({ responseTimeMs: 1, memoryBytes: 500, cpuPercent: 90 });
    for (let i = 0; i < 10; i++) engine.monitor.recordCall({ model: 'm', scope: '', outcome: 'error', durationMs: 1, timestampMs: engine.monitor.now });
    const report = engine.getOptimizationReport();
    expect(report.anomalies.map((a) => a.type).sort()).toEqual(['error_rate', 'high_cpu', 'high_memory', 'slow_response']);
    expect(report.summary).toMatchObject({ anomalies: 4, efficiency_score: 40 });
    expect(events.sort()).toEqual(['error_rate', 'high_cpu', 'high_memory', 'slow_response']);
    expect(report.anomalies[0]).toEqual(expect.objectContaining({ type: expect.any(String), severity: expect.any(String), message: expect.any(String), value: expect.any(Number), baseline: expect.any(Number), timestamp: expect.any(Number) }));
  });

  it('includes trends, recommendations with evidence and the optimizer\'s changes with their status', async () => {
    const { engine, clock } = setup({ cache: { ttlMs: 1000 } });
    for (const _ of [0, 1]) {
      for (let i = 0; i < 30; i++) await engine.optimizeAiCall(`p${i}`, 'm', (p) => `a:${p as string}`);
      clock.advance(2000);
    }
    for (let i = 0; i < 30; i++) await engine.optimizeAiCall(`p${i}`, 'm', (p) => `a:${p as string}`);
    engine.autoOptimize();
    const report = engine.getOptimizationReport();
    expect(report.recommendations[0]).toMatchObject({ type: 'raise_ttl', evidence: { expired_misses: 60, new_misses: 30 } });
    expect(report.optimizations_applied).toMatchObject([{ type: 'cache_ttl', status: 'applied', before: { ttl_ms: 1000 }, after: { ttl_ms: 2000 } }]);
    expect(report.trends.hitRate).toBeDefined();
    expect(report.cache.ttl_seconds).toBe(2);
  });
});
