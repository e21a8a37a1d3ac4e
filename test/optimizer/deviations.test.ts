import { describe, expect, it } from 'vitest';
import { Deviations } from '../../src/optimizer/deviations.js';
import { resolveOptimizerOptions } from '../../src/optimizer/optimizer-options.js';
import type { Observation, Settings } from '../../src/optimizer/rules.js';

const options = resolveOptimizerOptions({ calmEvaluations: 2 }, { maxEntries: 100, maxBytes: Infinity });

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    now: 0, since: 0, lookups: 0, hitRate: 0, missCauses: { new: 0, expired: 0, evicted: 0 }, ttlMs: 1000, maxEntries: 100,
    maxBytes: Infinity, size: 0, bytes: 0, memoryBytes: Number.NaN, cpuPercent: 5, latencyMs: Number.NaN, latencyMetric: 'responseTimeMs',
    modelCalls: 0, latencyTrend: 'stable', anomalies: new Set(), concurrency: 4, peakInFlight: Number.NaN, throttleTo: undefined,
    callsPerSecond: Number.NaN, ...overrides,
  };
}

describe('Deviations', () => {
  it('returns a changed setting, with its value before the first change, after calmEvaluations calm windows', () => {
    const d = new Deviations();
    let current: Settings = { max_concurrency: 6 };
    d.changed('concurrency', { max_concurrency: 8 }, current, ['throttle']);
    current = { max_concurrency: 4 };
    d.changed('concurrency', { max_concurrency: 6 }, current, ['rebalance']);
    expect(d.due(observation(), options, () => current)).toEqual([]);
    const [due] = d.due(observation(), options, () => current);
    expect(due?.[0]).toBe('concurrency');
    expect(due?.[1].configured).toEqual({ max_concurrency: 8 });
    expect([...(due?.[1].causes ?? [])]).toEqual(['throttle', 'rebalance']);
    expect(d.due(observation(), options, () => current)).toEqual([]); // forgotten once returned
  });

  it('an empty window neither counts as calm nor breaks a calm run; a hot one breaks it', () => {
    const d = new Deviations();
    const current = { max_concurrency: 6 };
    d.changed('concurrency', { max_concurrency: 8 }, current, ['throttle']);
    const empty = observation({ cpuPercent: Number.NaN });
    expect(d.due(observation(), options, () => current)).toEqual([]);
    expect(d.due(empty, options, () => current)).toEqual([]);
    expect(d.due(observation({ cpuPercent: 75 }), options, () => current)).toEqual([]); // above 72 %: not calm
    expect(d.due(observation(), options, () => current)).toEqual([]);
    expect(d.due(observation(), options, () => current)).toHaveLength(1);
  });

  it('forgets a setting someone else changed since, and one reverted back to its configured value', () => {
    const d = new Deviations();
    d.changed('concurrency', { max_concurrency: 8 }, { max_concurrency: 6 }, ['throttle']);
    d.changed('capacity', { max_entries: 100, max_bytes: 1000 }, { max_entries: 100, max_bytes: 500 }, ['memory']);
    d.reverted('capacity', { max_entries: 100, max_bytes: 1000 });
    for (let i = 0; i < 5; i++) expect(d.due(observation(), options, () => ({ max_concurrency: 3, max_entries: 100, max_bytes: 500 }))).toEqual([]);
  });
});
