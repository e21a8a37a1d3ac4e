import { describe, expect, it, vi } from 'vitest';
import type { Anomaly, CallSample } from '../../src/index.js';
import { noise, monitorFactory, testClock, type TestClock } from './fixtures.js';

const monitorWith = monitorFactory();

function call(clock: TestClock, overrides: Partial<CallSample> = {}): CallSample {
  return { model: 'llama3.1:8b', scope: '', outcome: 'miss', durationMs: 800, timestampMs: clock.now(), ...overrides };
}

/** The default detector's rarity gate (1 in ~330) needs a few hundred points before it can alert. */
const WARM = 400;

describe('PerformanceMonitor: recording', () => {
  it('counts calls by outcome and keeps at most historySize samples per metric', () => {
    const clock = testClock();
    const m = monitorWith(clock, { historySize: 5 });
    for (const outcome of ['hit', 'hit', 'miss', 'coalesced', 'bypass', 'error'] as const) m.recordCall(call(clock, { outcome }));
    expect(m.outcomes).toEqual({ hit: 2, miss: 1, coalesced: 1, bypass: 1, error: 1 });
    for (let i = 0; i < 12; i++) m.recordMetric({ responseTimeMs: i });
    expect(m.getHistory('responseTimeMs')).toEqual([7, 8, 9, 10, 11]);
  });

  it('records model-call latency without the cold-load time, and per-token figures when usage is reported', () => {
    const clock = testClock();
    const m = monitorWith(clock);
    m.recordCall(call(clock, { durationMs: 5_000, usage: { loadMs: 3_000, outputTokens: 100, generationMs: 1_000 } }));
    m.recordCall(call(clock, { outcome: 'hit', durationMs: 0.01 }));
    expect(m.getHistory('responseTimeMs')).toEqual([2_000]);
    expect(m.getHistory('loadMs')).toEqual([3_000]);
    expect(m.getHistory('msPerToken')).toEqual([20]);
    expect(m.getHistory('tokensPerSecond')).toEqual([100]);
  });

  it('filters a history by time and rejects an unknown metric', () => {
    const clock = testClock(0);
    const m = monitorWith(clock);
    for (let i = 0; i < 5; i++) {
      m.recordMetric({ responseTimeMs: i });
      clock.advance(1000);
    }
    expect(m.getHistory('responseTimeMs', { sinceMs: 3000 })).toEqual([3, 4]);
    expect(m.getHistory('responseTimeMs', { afterMs: 3000 })).toEqual([4]);
    expect(m.getHistory('responseTimeMs', { afterMs: -1 })).toEqual([0, 1, 2, 3, 4]);
    expect(() => m.getHistory('latency' as never)).toThrow(TypeError);
  });

  it('validates recordMetric input, naming the field', () => {
    const m = monitorWith(testClock());
    expect(() => m.recordMetric({} as never)).toThrow(/responseTimeMs/);
    expect(() => m.recordMetric({ responseTimeMs: -1 })).toThrow(RangeError);
    expect(() => m.recordMetric({ responseTimeMs: 1, cpuPercent: Number.NaN })).toThrow(/cpuPercent/);
    expect(m.getHistory('responseTimeMs')).toEqual([]); // nothing half-recorded
    expect(() => m.recordMetric(null as never)).toThrow(TypeError);
  });

  it('counts calls per request window for the requests metric, empty windows as 0', () => {
    const clock = testClock(0);
    const m = monitorWith(clock, { requestWindowMs: 1000 });
    for (let i = 0; i < 3; i++) m.recordCall(call(clock, { outcome: 'hit' }));
    clock.advance(1000);
    m.recordCall(call(clock, { outcome: 'hit' }));
    clock.advance(3000);
    m.recordCall(call(clock, { outcome: 'hit' }));
    expect(m.getHistory('requests')).toEqual([3, 1, 0, 0]);
    clock.advance(1000);
    m.detectAnomalies(); // closes the bucket that ended
    expect(m.getHistory('requests')).toEqual([3, 1, 0, 0, 1]);
  });
});

describe('PerformanceMonitor: anomalies', () => {
  it('flags a slow response against the history, once, with value and baseline, and calls onAnomaly', () => {
    const clock = testClock();
    const seen: Anomaly[] = [];
    const m = monitorWith(clock, { onAnomaly: (a) => seen.push(a) });
    for (let i = 0; i < WARM; i++) {
      clock.advance(1000);
      m.recordMetric({ responseTimeMs: 800 + noise(i) * 5 });
    }
    expect(m.detectAnomalies()).toEqual([]);
    clock.advance(1000);
    m.recordMetric({ responseTimeMs: 8_000 });
    const [a, ...rest] = m.detectAnomalies();
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ type: 'slow_response', metric: 'responseTimeMs', value: 8_000, timestamp: clock.now(), source: 'detector' });
    expect(a?.baseline).toBeCloseTo(800, -1);
    expect(a?.severity).toBe('high');
    expect(a?.message).toMatch(/8000/);
    expect(seen).toHaveLength(1);
  });

  it('deduplicates a recurring anomaly within anomalyWindowMs and forgets it after', () => {
    const clock = testClock();
    const seen: Anomaly[] = [];
    const m = monitorWith(clock, { thresholds: { responseTimeMs: 5_000 }, anomalyWindowMs: 60_000, onAnomaly: (a) => seen.push(a) });
    m.recordMetric({ responseTimeMs: 6_000 });
    clock.advance(10_000);
    m.recordMetric({ responseTimeMs: 7_000 });
    const list = m.detectAnomalies();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ type: 'slow_response', source: 'threshold', count: 2, value: 7_000 });
    expect(seen).toHaveLength(1);
    clock.advance(61_000);
    expect(m.detectAnomalies()).toEqual([]);
  });

  it('forgets an anomaly anomalyWindowMs after a clock set back, not the length of the jump later', () => {
    const clock = testClock();
    const m = monitorWith(clock, { thresholds: { responseTimeMs: 5_000 }, anomalyWindowMs: 60_000 });
    m.recordMetric({ responseTimeMs: 6_000 });
    expect(m.detectAnomalies()).toHaveLength(1);
    clock.advance(-86_400_000); // the wall clock is set back a day
    expect(m.detectAnomalies()).toHaveLength(1); // still recent: seen "now" as far as this clock can tell
    clock.advance(61_000);
    expect(m.detectAnomalies()).toEqual([]);
  });

  it('does not call a drop in latency slow', () => {
    const clock = testClock();
    const m = monitorWith(clock);
    for (let i = 0; i < WARM; i++) m.recordMetric({ responseTimeMs: 8_000 + noise(i) * 5 });
    m.recordMetric({ responseTimeMs: 10 });
    expect(m.detectAnomalies()).toEqual([]);
  });

  it('judges latency per output token when the adapter reports tokens: a long answer is not slow, a slow token is', () => {
    const clock = testClock();
    const m = monitorWith(clock);
    for (let i = 0; i < WARM; i++) {
      const tokens = 100 + noise(i);
      m.recordCall(call(clock, { durationMs: tokens * 20, usage: { outputTokens: tokens } }));
    }
    m.recordCall(call(clock, { durationMs: 2_000 * 20, usage: { outputTokens: 2_000 } })); // 20× longer answer, same speed
    expect(m.detectAnomalies()).toEqual([]);
    m.recordCall(call(clock, { durationMs: 100 * 400, usage: { outputTokens: 100 } })); // 20× slower per token
    expect(m.detectAnomalies()).toMatchObject([{ type: 'slow_response', metric: 'msPerToken', value: 400 }]);
  });

  it('flags high memory and high CPU from recorded metrics, by detector and by threshold', () => {
    const clock = testClock();
    const m = monitorWith(clock, { thresholds: { cpuPercent: 90 } });
    for (let i = 0; i < WARM; i++) {
      clock.advance(1000);
      m.recordMetric({ responseTimeMs: 800, memoryBytes: 100e6 + noise(i) * 1e5, cpuPercent: 20 + noise(i) });
    }
    clock.advance(1000);
    m.recordMetric({ responseTimeMs: 800, memoryBytes: 400e6, cpuPercent: 95 });
    const types = m.detectAnomalies().map((a) => `${a.type}:${a.source}`).sort();
    expect(types).toEqual(['high_cpu:threshold', 'high_memory:detector']);
  });

  it('flags a volume spike in the per-window call counts', () => {
    const clock = testClock(0);
    const m = monitorWith(clock, { requestWindowMs: 1000 });
    for (let w = 0; w < WARM; w++) {
      for (let i = 0; i < 10 + noise(w); i++) m.recordCall(call(clock, { outcome: 'hit' }));
      clock.advance(1000);
    }
    for (let i = 0; i < 200; i++) m.recordCall(call(clock, { outcome: 'hit' }));
    clock.advance(1000);
    expect(m.detectAnomalies()).toMatchObject([{ type: 'volume_spike', metric: 'requests', value: 200 }]);
  });

  it('flags an error rate over the threshold among the last model calls, with the older rate as baseline', () => {
    const clock = testClock();
    const m = monitorWith(clock, { errorWindow: 20 });
    for (let i = 0; i < 40; i++) m.recordCall(call(clock, { outcome: i % 20 === 0 ? 'error' : 'miss' }));
    for (let i = 0; i < 10; i++) m.recordCall(call(clock, { outcome: 'hit' })); // hits are not model calls
    expect(m.detectAnomalies()).toEqual([]);
    for (let i = 0; i < 10; i++) m.recordCall(call(clock, { outcome: 'error' }));
    const [a] = m.detectAnomalies();
    expect(a).toMatchObject({ type: 'error_rate', metric: 'errorRate', severity: 'high' });
    expect(a?.value).toBeCloseTo(0.5); // 10 of the last 20 model calls (calls 30–39 and the 10 errors)
    expect(a?.baseline).toBeCloseTo(2 / 30); // calls 0 and 20 of the first 30
  });

  it('the seed rule can be chosen for every metric through `detector`', () => {
    const clock = testClock();
    const m = monitorWith(clock, { detector: { method: 'seed-3sigma' } });
    for (let i = 0; i < 40; i++) m.recordMetric({ responseTimeMs: 800, memoryBytes: 100e6 + noise(i) * 1e5 });
    m.recordMetric({ responseTimeMs: 800, memoryBytes: 160e6 }); // > 1.5 × mean: the seed's memory rule
    expect(m.detectAnomalies()).toMatchObject([{ type: 'high_memory', value: 160e6 }]);
  });

  it('a throwing onAnomaly is logged, never raised', () => {
    const clock = testClock();
    const warn = vi.fn();
    const m = monitorWith(clock, { thresholds: { responseTimeMs: 10 }, logger: { warn }, onAnomaly: () => { throw new Error('boom'); } });
    expect(() => m.recordMetric({ responseTimeMs: 20 })).not.toThrow();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/onAnomaly/), expect.any(Error));
  });
});
