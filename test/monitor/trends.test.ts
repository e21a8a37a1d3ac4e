import { describe, expect, it } from 'vitest';
import type { PerformanceMonitor, PerformanceMonitorOptions } from '../../src/index.js';
import { monitorFactory, noise, testClock, type TestClock } from './fixtures.js';

const make = monitorFactory({ trendWindow: 50 });
function monitor(options: PerformanceMonitorOptions & { clock?: TestClock } = {}): PerformanceMonitor {
  return make(options.clock ?? testClock(), options);
}

describe('PerformanceMonitor.getTrends', () => {
  it('says insufficient_data with fewer than 10 samples on either side', () => {
    const m = monitor();
    for (let i = 0; i < 15; i++) m.recordMetric({ responseTimeMs: 100 });
    const trend = m.getTrends().responseTimeMs;
    expect(trend).toMatchObject({ status: 'insufficient_data', recent_samples: 7, baseline_samples: 8 });
    expect(m.getTrends().hitRate?.status).toBe('insufficient_data');
  });

  it('calls rising latency degrading and gives the numbers behind it', () => {
    const m = monitor();
    for (let i = 0; i < 100; i++) m.recordMetric({ responseTimeMs: 800 + noise(i) * 10 });
    for (let i = 0; i < 50; i++) m.recordMetric({ responseTimeMs: 1200 + noise(i) * 10 });
    const trend = m.getTrends().responseTimeMs;
    expect(trend).toMatchObject({ status: 'degrading', direction: 'rising', recent_samples: 50, baseline_samples: 100 });
    expect(trend?.recent_mean).toBeCloseTo(1200, -1);
    expect(trend?.baseline_mean).toBeCloseTo(800, -1);
    expect(trend?.change_percent).toBeCloseTo(50, 0);
    expect(trend?.t_statistic).toBeGreaterThan(2);
  });

  it('calls falling latency improving, and rising tokens per second improving', () => {
    const clock = testClock();
    const m = monitor({ clock });
    for (let i = 0; i < 60; i++) {
      const speed = i < 30 ? 20 : 40; // tokens per second doubles
      m.recordCall({ model: 'm', scope: '', outcome: 'miss', durationMs: (100 / speed) * 1000, timestampMs: clock.now(), usage: { outputTokens: 100, generationMs: (100 / speed) * 1000 } });
    }
    const trends = m.getTrends();
    expect(trends.tokensPerSecond?.status).toBe('improving');
    expect(trends.responseTimeMs?.status).toBe('improving');
    expect(trends.msPerToken?.status).toBe('improving');
  });

  it('reports a step between two constant levels with a capped t, still a number in JSON', () => {
    const m = monitor();
    for (let i = 0; i < 40; i++) m.recordMetric({ responseTimeMs: i < 20 ? 100 : 200 });
    const trend = m.getTrends().responseTimeMs;
    expect(trend).toMatchObject({ status: 'degrading', t_statistic: 1000, change_percent: 100 });
    expect(JSON.parse(JSON.stringify(trend)).t_statistic).toBe(1000);
  });

  it('calls a small or noisy change stable', () => {
    const m = monitor();
    for (let i = 0; i < 100; i++) m.recordMetric({ responseTimeMs: 800 + noise(i) * 100 });
    for (let i = 0; i < 50; i++) m.recordMetric({ responseTimeMs: 830 + noise(i + 3) * 100 });
    expect(m.getTrends().responseTimeMs).toMatchObject({ status: 'stable', direction: 'flat' });
  });

  it('treats request volume as neutral: rising volume is shown, not judged', () => {
    const m = monitor();
    for (let i = 0; i < 40; i++) m.recordMetric({ responseTimeMs: 1, requests: i < 20 ? 10 : 50 });
    expect(m.getTrends().requests).toMatchObject({ status: 'stable', direction: 'rising' });
  });

  it('computes hit-rate and error-rate trends from the call history', () => {
    const clock = testClock();
    const m = monitor({ clock });
    const rec = (outcome: 'hit' | 'miss' | 'error' | 'coalesced'): void =>
      m.recordCall({ model: 'm', scope: '', outcome, durationMs: 1, timestampMs: clock.now() });
    for (let i = 0; i < 40; i++) rec(i % 4 === 0 ? 'hit' : 'miss'); // 25 % hits, no errors
    for (let i = 0; i < 40; i++) rec(i % 4 === 0 ? 'miss' : i % 2 === 0 ? 'coalesced' : i % 8 === 1 ? 'error' : 'hit');
    const trends = m.getTrends();
    expect(trends.hitRate).toMatchObject({ status: 'improving', direction: 'rising' });
    expect(trends.errorRate).toMatchObject({ status: 'degrading', direction: 'rising' });
  });

  it('lists only metrics with data beyond the core ones', () => {
    const m = monitor();
    m.recordMetric({ responseTimeMs: 1 });
    expect(Object.keys(m.getTrends()).sort()).toEqual(['cpuPercent', 'errorRate', 'hitRate', 'memoryBytes', 'requests', 'responseTimeMs']);
  });
});
