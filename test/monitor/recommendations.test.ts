import { describe, expect, it } from 'vitest';
import type { CallSample } from '../../src/index.js';
import { cacheStats, noise, monitorFactory, testClock, type TestClock } from './fixtures.js';

const monitor = monitorFactory();

function modelCall(clock: TestClock, overrides: Partial<CallSample>): CallSample {
  return { model: 'm', scope: '', outcome: 'miss', durationMs: 1000, timestampMs: clock.now(), ...overrides };
}

describe('PerformanceMonitor.getRecommendations: causes', () => {
  it('misses mostly expirations → raise the TTL, with the miss counts as evidence', () => {
    const m = monitor(testClock());
    const [r] = m.getRecommendations({ cache: cacheStats({ missCauses: { new: 10, expired: 70, evicted: 10, rejected: 0 } }) });
    expect(r).toMatchObject({ type: 'raise_ttl', priority: 'high', evidence: { expired_misses: 70, misses: 90, ttl_seconds: 3600, hit_rate_percent: 10 } });
    expect(r?.action).toMatch(/ttlMs/);
  });

  it('misses mostly evictions → raise capacity', () => {
    const m = monitor(testClock());
    const [r] = m.getRecommendations({ cache: cacheStats({ evictions: 500, missCauses: { new: 10, expired: 5, evicted: 75, rejected: 0 } }) });
    expect(r).toMatchObject({ type: 'raise_capacity', evidence: { evicted_misses: 75, max_entries: 1000, evictions: 500 } });
  });

  it('counts keys the policy refused admission as a want of room, reported apart', () => {
    const m = monitor(testClock());
    const [r] = m.getRecommendations({ cache: cacheStats({ evictions: 500, missCauses: { new: 10, expired: 5, evicted: 30, rejected: 45 } }) });
    expect(r).toMatchObject({ type: 'raise_capacity', evidence: { evicted_misses: 30, rejected_misses: 45 } });
    expect(r?.message).toMatch(/^83.33 % of cache misses were entries evicted for room or refused admission/);
  });

  it('misses mostly new prompts → says no cache setting helps', () => {
    const m = monitor(testClock());
    const [r] = m.getRecommendations({ cache: cacheStats({ missCauses: { new: 85, expired: 3, evicted: 2, rejected: 0 } }) });
    expect(r).toMatchObject({ type: 'new_prompts', priority: 'low', evidence: { new_misses: 85 } });
  });

  it('says nothing about the cache with too few misses or a good hit rate', () => {
    const m = monitor(testClock());
    expect(m.getRecommendations({ cache: cacheStats({ misses: 10, missCauses: { new: 0, expired: 10, evicted: 0, rejected: 0 } }) })).toEqual([]);
    expect(m.getRecommendations({ cache: cacheStats({ hitRate: 0.9, missCauses: { new: 0, expired: 90, evicted: 0, rejected: 0 } }) })).toEqual([]);
    expect(m.getRecommendations()).toEqual([]);
  });

  it('cold model loads → set keep_alive, with how many and how long', () => {
    const clock = testClock();
    const m = monitor(clock);
    for (let i = 0; i < 20; i++) m.recordCall(modelCall(clock, { durationMs: 6000, usage: { loadMs: i % 4 === 0 ? 5000 : 5 } }));
    const [r] = m.getRecommendations();
    expect(r).toMatchObject({ type: 'set_keep_alive', evidence: { cold_loads: 5, model_calls: 20, mean_load_ms: 5000 } });
    expect(r?.action).toMatch(/keep_alive/);
  });

  it('latency rising with concurrency → throttle, suggesting the in-flight level that splits the samples', () => {
    const clock = testClock();
    const m = monitor(clock);
    for (let i = 0; i < 60; i++) {
      const inFlight = i % 6;
      m.recordCall(modelCall(clock, { durationMs: 1000 * (1 + inFlight) + noise(i) * 10, inFlight }));
    }
    const [r] = m.getRecommendations({ concurrencyLimit: Infinity });
    expect(r).toMatchObject({ type: 'throttle', evidence: { in_flight_split: 2, samples: 60 } });
    expect(Number(r?.evidence.correlation)).toBeGreaterThan(0.9);
    expect(r?.action).toMatch(/maxConcurrency = 2/);
  });

  it('no throttle advice when latency does not depend on concurrency', () => {
    const clock = testClock();
    const m = monitor(clock);
    for (let i = 0; i < 60; i++) m.recordCall(modelCall(clock, { durationMs: 1000 + noise(i) * 10, inFlight: i % 6 }));
    expect(m.getRecommendations().map((r) => r.type)).not.toContain('throttle');
  });

  it('degrading latency → lower concurrency, quoting the trend', () => {
    const clock = testClock();
    const m = monitor(clock, { trendWindow: 50 });
    for (let i = 0; i < 150; i++) m.recordMetric({ responseTimeMs: (i < 100 ? 800 : 1600) + noise(i) * 10 });
    const [r] = m.getRecommendations({ concurrencyLimit: 4 });
    expect(r).toMatchObject({ type: 'lower_concurrency', evidence: { metric: 'responseTimeMs', max_concurrency: '4' } });
    expect(r?.action).toMatch(/now 4/);
  });

  it('anomalies → reduce memory and investigate errors, errors first', () => {
    const clock = testClock();
    const m = monitor(clock, { thresholds: { memoryBytes: 1e6 } });
    for (let i = 0; i < 20; i++) m.recordCall(modelCall(clock, { outcome: 'error' }));
    m.recordMetric({ responseTimeMs: 1, memoryBytes: 2e6 });
    const recs = m.getRecommendations({ cache: cacheStats({ misses: 5 }) });
    expect(recs.map((r) => r.type)).toEqual(['investigate_errors', 'reduce_memory']);
    expect(recs[0]?.evidence).toMatchObject({ error_rate_percent: 100 });
    expect(recs[1]?.evidence).toMatchObject({ value: 2e6, cache_bytes: 10_000 });
  });
});
