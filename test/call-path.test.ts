import { describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus, type EngineEvents } from '../src/index.js';
import { createManualClock } from '../src/testing.js';

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
