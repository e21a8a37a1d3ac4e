import { describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { WarmUpContext, WarmUpOptions, WarmUpRecord } from '../../src/index.js';
import { engineMetrics } from '../../src/http/prometheus.js';
import { capacityAdvice } from '../../src/forecast/capacity-advice.js';
import { createManualClock } from '../../src/testing.js';
import type { ManualClock } from '../../src/testing.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MONDAY = Date.UTC(2026, 10, 2);

interface Rig {
  engine: OptimizationEngine;
  clock: ManualClock;
  runs: { model: string; context: WarmUpContext; at: number }[];
  events: WarmUpRecord[];
  prompt: () => string;
}

function rig(options: Partial<WarmUpOptions> = {}): Rig {
  const clock = createManualClock(MONDAY);
  const runs: Rig['runs'] = [];
  const events: WarmUpRecord[] = [];
  const engine = new OptimizationEngine({
    clock, monitor: { sampleIntervalMs: false },
    warmUp: { run: async (model, context) => void runs.push({ model, context, at: clock.now() }), checkIntervalMs: false, ...options },
  });
  engine.on('model-warm-up', (r) => void events.push(r));
  let n = 0;
  return { engine, clock, runs, events, prompt: () => `question ${n++}` };
}

/** Lets promise continuations run (no timer, no sleep). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Every weekday, 20 calls to `m` spread over 09:00–10:00, the schedule checked every 15 s all day. */
async function weekdays(r: Rig, days: number, from = 0): Promise<void> {
  for (let d = from; d < from + days; d++) {
    const dayStart = MONDAY + d * DAY;
    for (let t = dayStart; t < dayStart + DAY; t += 15_000) {
      r.clock.set(t);
      const inBurst = t >= dayStart + 9 * HOUR && t < dayStart + 10 * HOUR && (t - dayStart) % (3 * MINUTE) === 0;
      if (inBurst && (d % 7) < 5) await r.engine.optimizeAiCall(r.prompt(), 'm', async () => 'answer');
      const before = r.runs.length + r.events.length;
      r.engine.checkWarmUps();
      if (r.runs.length + r.events.length !== before) await settle(); // let the hook's promise settle, as it would in a service
    }
  }
}

describe('predictive warm-up', () => {
  it('loads an idle model shortly before its usual morning traffic, once a day, with the chosen keep_alive', async () => {
    const r = rig();
    await weekdays(r, 8); // two Mondays: the second is forecast from the first week
    const secondMonday = r.runs.filter((x) => x.at >= MONDAY + 7 * DAY);
    expect(secondMonday).toHaveLength(1);
    const [warm] = secondMonday;
    expect(warm?.model).toBe('m');
    expect(warm?.at).toBe(MONDAY + 7 * DAY + 9 * HOUR - MINUTE); // leadMs (60 s) before the 09:00 bucket
    expect(warm?.context.keepAliveMs).toBe(6 * MINUTE); // bucketMs + leadMs
    expect(r.events.at(-1)).toMatchObject({ model: 'm', keepAliveMs: 6 * MINUTE });
    expect(r.events.at(-1)?.probability).toBeGreaterThanOrEqual(0.5);
    // Weekdays from the second on (the first has no rhythm yet): never during the burst (the model is
    // warm), never at night. (The first Saturday, forecast from weekdays alone, may be warmed in vain.)
    const weekday = (at: number): number => Math.floor((at - MONDAY) / DAY) % 7;
    for (const x of r.runs.filter((run) => run.at >= MONDAY + DAY && weekday(run.at) < 5)) {
      const hour = ((x.at - MONDAY) % DAY) / HOUR;
      expect(hour).toBeGreaterThanOrEqual(8.9);
      expect(hour).toBeLessThan(9);
    }
    await r.engine.close();
  });

  it('reports warm-ups in the report and in /metrics', async () => {
    const r = rig();
    const metrics = engineMetrics(r.engine); // counts from its creation on
    await weekdays(r, 8);
    const report = r.engine.getOptimizationReport().warm_up;
    expect(report).toMatchObject({ enabled: true, warm_ups: r.runs.length, failed: 0 });
    expect(report.models['m']?.peak_forecast).toBeGreaterThan(0.5);
    expect(metrics.render()).toContain(`llm_optimizer_warm_ups_total{model="m",result="ok"} ${r.runs.length}`);
    await r.engine.close();
  });

  it('never warms a model that is busy', async () => {
    const r = rig();
    await weekdays(r, 7);
    r.clock.set(MONDAY + 7 * DAY + 8 * HOUR);
    let release: (v: string) => void = () => undefined;
    const hanging = r.engine.optimizeAiCall(r.prompt(), 'm', () => new Promise<string>((resolve) => (release = resolve)));
    for (let t = r.clock.now(); t < MONDAY + 7 * DAY + 9 * HOUR; t += 15_000) {
      r.clock.set(t);
      r.engine.checkWarmUps();
    }
    expect(r.runs.filter((x) => x.at >= MONDAY + 7 * DAY)).toEqual([]);
    release('done');
    await hanging;
    await r.engine.close();
  });

  it('keeps to maxPerDay, counting what the budget refused', async () => {
    const r = rig({ maxPerDay: 1, serverKeepAliveMs: MINUTE });
    await weekdays(r, 8);
    const perDay = new Map<number, number>();
    for (const x of r.runs) perDay.set(Math.floor((x.at - MONDAY) / DAY), (perDay.get(Math.floor((x.at - MONDAY) / DAY)) ?? 0) + 1);
    for (const n of perDay.values()) expect(n).toBeLessThanOrEqual(1);
    expect(r.engine.getOptimizationReport().warm_up.skipped_budget).toBeGreaterThan(0);
    await r.engine.close();
  });

  it('reports a failing hook in the event and the report, and never throws into calls', async () => {
    const clock = createManualClock(MONDAY);
    const events: WarmUpRecord[] = [];
    const engine = new OptimizationEngine({
      clock, monitor: { sampleIntervalMs: false },
      warmUp: { run: () => Promise.reject(new Error('server down')), checkIntervalMs: false },
    });
    engine.on('model-warm-up', (e) => void events.push(e));
    await weekdays({ engine, clock, runs: [], events, prompt: (() => { let n = 0; return () => `p${n++}`; })() }, 8);
    await settle();
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.error instanceof Error)).toBe(true);
    expect(engine.getOptimizationReport().warm_up.failed).toBe(events.length);
    await engine.close();
  });

  it('keeps counting traffic after a user removes every call-end listener', async () => {
    const r = rig();
    r.engine.off('call-end');
    r.engine.off('call-start');
    await weekdays(r, 8);
    expect(r.runs.length).toBeGreaterThan(0);
    await r.engine.close();
  });

  it('is off by default: no warm_up figures, nothing scheduled', () => {
    const engine = new OptimizationEngine({ monitor: { sampleIntervalMs: false } });
    expect(engine.getOptimizationReport().warm_up).toEqual({ enabled: false, warm_ups: 0, failed: 0, skipped_budget: 0, models: {} });
    engine.checkWarmUps();
    return engine.close();
  });

  const noop = async (): Promise<undefined> => undefined;
  it.each<[Record<string, unknown>, RegExp]>([
    [{ run: 'no' }, /`warmUp.run` must be a function/],
    [{ run: noop, bucketMs: 7 * MINUTE }, /`warmUp.bucketMs` must divide a day/],
    [{ run: noop, minProbability: 2 }, /`warmUp.minProbability` must be in \(0, 1\]/],
    [{ run: noop, maxPerDay: 1.5 }, /`warmUp.maxPerDay` must be an integer/],
    [{ run: noop, leadMs: -1 }, /`warmUp.leadMs`/],
    [{ run: noop, lead: 1 }, /lead/],
  ])('rejects a bad warmUp option, naming it (%#)', (warmUp, message) => {
    expect(() => new OptimizationEngine({ warmUp: warmUp as never })).toThrow(message);
  });
});

describe('capacity advice', () => {
  it('turns the forecast peak into OLLAMA_NUM_PARALLEL, OLLAMA_MAX_LOADED_MODELS, keep_alive and replicas, with the numbers', async () => {
    const clock = createManualClock(MONDAY);
    const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false }, warmUp: { run: async () => undefined, checkIntervalMs: false } });
    let n = 0;
    // Two days: 09:00–10:00, 120 calls a minute to 'a' and 12 to 'b', each taking 2 s.
    for (let d = 0; d < 2; d++) {
      for (let t = MONDAY + d * DAY + 9 * HOUR; t < MONDAY + d * DAY + 10 * HOUR; t += 500) {
        clock.set(t);
        const model = n % 10 === 0 ? 'b' : 'a';
        await engine.optimizeAiCall(`q${n++}`, model, async () => {
          clock.set(clock.now() + 2000);
          return 'x';
        });
        clock.set(t);
      }
    }
    clock.set(MONDAY + 2 * DAY);
    engine.checkWarmUps();
    const plans = engine.monitor.getRecommendations().filter((r) => r.type === 'capacity_plan');
    const a = plans.find((p) => p.evidence['model'] === 'a');
    expect(a?.evidence['ollama_max_loaded_models']).toBe(2);
    expect(a?.evidence['busy_hours']).toMatch(/^09:00–1[01]:\d\d UTC$/); // the forecast tails off after 10:00
    // ~108 calls/min × 2 s ≈ 3.6 in service at once; 95 % Poisson quantile ≈ 7 slots: 2 replicas of 4.
    expect(a?.evidence['peak_calls_per_minute']).toBeGreaterThan(90);
    expect(a?.evidence['ollama_num_parallel']).toBeGreaterThanOrEqual(6);
    expect(a?.evidence['replicas']).toBe(2);
    expect(a?.action).toMatch(/OLLAMA_NUM_PARALLEL=\d+.*OLLAMA_MAX_LOADED_MODELS=2.*keep_alive of at least 6m/);
    expect(engine.getOptimizationReport().recommendations.some((r) => r.type === 'capacity_plan')).toBe(true);
    await engine.close();
  });

  it('gives no capacity plan without warm-up or before a day of history', () => {
    const engine = new OptimizationEngine({ monitor: { sampleIntervalMs: false } });
    expect(engine.monitor.getRecommendations().filter((r) => r.type === 'capacity_plan')).toEqual([]);
    return engine.close();
  });
});

describe('warm-up hooks that never settle', () => {
  it('do not hang close(), and end as failed', async () => {
    const r = rig({ run: () => new Promise(() => undefined) });
    await weekdays(r, 8);
    expect(r.engine.getOptimizationReport().warm_up).toMatchObject({ enabled: true });
    const closed = r.engine.close().then(() => 'closed');
    const bound = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000));
    expect(await Promise.race([closed, bound])).toBe('closed');
    expect(r.events.at(-1)?.error).toBeDefined();
  });

  it('end at their deadline, so the model is warmed again on later days', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let started = 0;
      const r = rig({ run: () => (started++, new Promise(() => undefined)) });
      for (let day = 0; day < 14; day++) {
        await weekdays(r, 1, day);
        await vi.advanceTimersByTimeAsync(300_000); // the deadline of that day's warm-up passes
      }
      // Before the fix the first hung warm-up kept `warming` set for good: one warm-up in two weeks.
      expect(started).toBeGreaterThan(2);
      expect(r.events.filter((e) => e.error !== undefined).length).toBeGreaterThan(0);
      await r.engine.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('capacity advice at high load', () => {
  it('sizes OLLAMA_NUM_PARALLEL near mean + 1.645·√mean for 1000 and 2000 calls in service (it said 10000)', () => {
    for (const inService of [1000, 2000]) {
      const perBucket = (inService * 300_000) / 10_000; // calls per 5-minute bucket at 10 s each
      const plans = capacityAdvice({ bucketMs: 300_000, firstBucketMs: MONDAY, keepAliveMs: 360_000, models: { m: Array.from({ length: 288 }, () => perBucket) } }, 10_000);
      const slots = Number(plans.find((p) => p.type === 'capacity_plan')?.evidence['ollama_num_parallel']);
      expect(slots).toBeGreaterThanOrEqual(inService);
      expect(slots).toBeLessThanOrEqual(Math.ceil(inService + 1.7 * Math.sqrt(inService)) + 1);
    }
  });
});
