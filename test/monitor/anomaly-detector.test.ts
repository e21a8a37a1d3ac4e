import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnomalyDetector } from '../../src/index.js';
import type { AnomalyDetector } from '../../src/index.js';
import { createPrng } from '../../src/testing/deterministic.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const referencePath = path.resolve(here, 'seed-3sigma-reference.mjs');

interface ReferenceModule {
  createDetector(o: { window: number; warmup: number; k: number }): { push(x: number): boolean };
}

/** Deterministic standard-normal generator (the test kit's mulberry32 + Box–Muller). */
function gaussian(seed: number): () => number {
  const uniform = createPrng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function noise(n: number, seed: number, level = 100, sd = 1): number[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, () => level + sd * g());
}

function alertsAt(detector: AnomalyDetector, values: readonly number[]): number[] {
  const hits: number[] = [];
  values.forEach((v, i) => {
    if (detector.observe(v).isAnomaly) hits.push(i);
  });
  return hits;
}

describe('createAnomalyDetector, seed-3sigma method', () => {
  let reference: ReferenceModule;
  beforeAll(async () => {
    reference = (await import(pathToFileURL(referencePath).href)) as ReferenceModule;
  });

  it('flags exactly the points the reference seed rule flags, on random series', () => {
    const value = fc.oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer({ min: -5, max: 5 }),
      fc.constantFrom(0, 1e9, -1e9),
    );
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 700 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 0, max: 40 }),
        (values, historySize, warmupPoints) => {
          const ours = createAnomalyDetector({ method: 'seed-3sigma', historySize, warmupPoints });
          const ref = reference.createDetector({ window: historySize, warmup: warmupPoints, k: 3 });
          for (const v of values) expect(ours.observe(v).isAnomaly).toBe(ref.push(v));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('matches the reference with its own defaults over a long series with a level shift', () => {
    const values = [...noise(1500, 7), ...noise(1500, 8, 130, 3)];
    const ours = createAnomalyDetector({ method: 'seed-3sigma' });
    const ref = reference.createDetector({ window: 1000, warmup: 30, k: 3 });
    expect(values.map((v) => ours.observe(v).isAnomaly)).toEqual(values.map((v) => ref.push(v)));
  });

  it('uses the 1.5× average rule for memory and cpu metrics', () => {
    for (const metric of ['memory', 'cpu'] as const) {
      const verdictAfterSteadyLoad = (value: number): boolean => {
        const d = createAnomalyDetector({ method: 'seed-3sigma', metric });
        for (let i = 0; i < 30; i++) d.observe(i % 2 === 0 ? 90 : 110);
        return d.observe(value).isAnomaly;
      };
      expect(verdictAfterSteadyLoad(149)).toBe(false);
      expect(verdictAfterSteadyLoad(151)).toBe(true);
    }
  });
});

describe.each(['rare-shift', 'rare-change'] as const)('createAnomalyDetector, %s method', (method) => {
  it('flags a clear spike on the point where it happens', () => {
    const values = noise(1200, 1);
    values[900] = 130;
    expect(alertsAt(createAnomalyDetector({ method }), values)).toEqual([900]);
  });

  it('flags a level shift once, when it starts', () => {
    const values = [...noise(800, 2), ...noise(800, 3, 140)];
    expect(alertsAt(createAnomalyDetector({ method }), values)).toEqual([800]);
  });

  it('raises one alert, not a burst, for a long noisy excursion', () => {
    const values = [...noise(800, 4), ...noise(150, 5, 160, 8), ...noise(800, 6)];
    const hits = alertsAt(createAnomalyDetector({ method }), values);
    expect(hits[0]).toBe(800);
    expect(hits.filter((i) => i >= 800 && i < 950 + 200)).toHaveLength(1);
  });

  it('flags a clear spike 60 points into a noisy stable series (no ~300-point warm-up blindness)', () => {
    for (let seed = 100; seed < 120; seed++) {
      const values = noise(400, seed);
      values[60] = 130;
      expect(alertsAt(createAnomalyDetector({ method }), values)).toEqual([60]);
    }
  });

  it('raises at most a couple of alerts on 200 series of pure noise during their first 300 points', () => {
    let alerts = 0;
    for (let seed = 200; seed < 400; seed++) alerts += alertsAt(createAnomalyDetector({ method }), noise(300, seed)).length;
    expect(alerts).toBeLessThanOrEqual(2);
  });

  it('keeps most heavy-tailed series quiet during warm-up, and alerts at most once each', () => {
    let noisy = 0;
    for (let seed = 400; seed < 600; seed++) {
      const g = gaussian(seed);
      const values = Array.from({ length: 300 }, () => 100 + g() / Math.max(0.05, Math.abs(g())));
      const hits = alertsAt(createAnomalyDetector({ method }), values);
      expect(hits.length).toBeLessThanOrEqual(1);
      if (hits.length > 0) noisy++;
    }
    expect(noisy).toBeLessThan(100);
  });

  it('never fires on a flat line', () => {
    const d = createAnomalyDetector({ method });
    for (let i = 0; i < 5000; i++) expect(d.observe(42).isAnomaly).toBe(false);
  });

  it('fires on pure Gaussian noise at a negligible rate', () => {
    expect(alertsAt(createAnomalyDetector({ method }), noise(50_000, 9)).length).toBeLessThanOrEqual(5);
  });

  it('learns that spikes are normal in heavy-tailed noise and alerts on under 0.2 % of points', () => {
    const g = gaussian(10);
    const values = Array.from({ length: 50_000 }, () => 100 + g() / Math.max(0.05, Math.abs(g())));
    expect(alertsAt(createAnomalyDetector({ method }), values).length).toBeLessThan(100);
  });

  it('keeps every score within [0, 1]', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { maxLength: 300 }), (values) => {
        const d = createAnomalyDetector({ method, warmupPoints: 0 });
        for (const v of values) {
          const { score } = d.observe(v);
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(1);
        }
      }),
    );
  });
});

describe('createAnomalyDetector, rare-shift against rare-change', () => {
  it('is the default method', () => {
    const values = [...noise(1000, 20), ...noise(600, 21, 103)];
    expect(alertsAt(createAnomalyDetector(), values)).toEqual(alertsAt(createAnomalyDetector({ method: 'rare-shift' }), values));
  });

  it('flags a shift of the mean buried in noise, which no single step reveals, within a few points', () => {
    for (let seed = 30; seed < 50; seed++) {
      const values = [...noise(1000, seed), ...noise(600, seed + 100, 103)];
      const shift = alertsAt(createAnomalyDetector({ method: 'rare-shift' }), values);
      expect(shift).toHaveLength(1);
      expect(shift[0]).toBeGreaterThanOrEqual(1000);
      expect(shift[0]).toBeLessThan(1010);
      expect(alertsAt(createAnomalyDetector({ method: 'rare-change' }), values)).toEqual([]);
    }
  });

  it('with shiftWindowPoints 1 watches the value against its level, not the mean of several points', () => {
    const values = [...noise(1000, 60), ...noise(600, 61, 103)];
    const wide = alertsAt(createAnomalyDetector({ shiftWindowPoints: 16 }), values);
    expect(wide[0]).toBeGreaterThanOrEqual(1000);
    expect(alertsAt(createAnomalyDetector({ shiftWindowPoints: 1, threshold: 8 }), values)).toEqual([]);
  });
});

describe('createAnomalyDetector, input handling', () => {
  it.each(['rare-shift', 'rare-change', 'seed-3sigma'] as const)('ignores non-finite values without corrupting state (%s)', (method) => {
    const values = [...noise(800, 11), 150, ...noise(300, 12)];
    const clean = createAnomalyDetector({ method });
    const dirty = createAnomalyDetector({ method });
    const expected = values.map((v) => clean.observe(v));
    const actual = values.map((v) => {
      expect(dirty.observe(Number.NaN)).toEqual({ isAnomaly: false, score: 0 });
      expect(dirty.observe(Number.POSITIVE_INFINITY)).toEqual({ isAnomaly: false, score: 0 });
      return dirty.observe(v);
    });
    expect(actual).toEqual(expected);
  });

  it.each(['rare-shift', 'rare-change', 'seed-3sigma'] as const)('behaves like a fresh detector after reset() (%s)', (method) => {
    const values = [...noise(800, 13), 150, ...noise(300, 14), ...noise(300, 15, 104)];
    const d = createAnomalyDetector({ method });
    const first = values.map((v) => d.observe(v));
    d.reset();
    expect(values.map((v) => d.observe(v))).toEqual(first);
  });

  it('rejects an unknown method, naming the option and the value', () => {
    expect(() => createAnomalyDetector({ method: 'magic' as never })).toThrow(TypeError);
    expect(() => createAnomalyDetector({ method: 'magic' as never })).toThrow(/`method`.*"magic"/);
  });

  it('rejects an unknown option', () => {
    expect(() => createAnomalyDetector({ windw: 5 } as never)).toThrow(/Unknown option `windw`/);
  });

  it.each([
    ['threshold', -1],
    ['cooldownPoints', Number.NaN],
    ['warmupPoints', 2.5],
    ['historySize', 0],
    ['rarity', 0],
    ['rarity', 1.5],
    ['sigmas', Number.POSITIVE_INFINITY],
    ['scaleWindowPoints', -10],
    ['shiftWindowPoints', 0],
    ['levelWindowPoints', 1.5],
  ])('rejects %s = %s with a RangeError naming both', (name, value) => {
    const call = (): unknown => createAnomalyDetector({ [name]: value });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(new RegExp(`\`${name}\`.*received ${String(value)}`));
  });

  it('rejects a numeric option of the wrong type with a TypeError', () => {
    expect(() => createAnomalyDetector({ ratio: '2' as never })).toThrow(/`ratio` must be a number; received string 2/);
  });
});

describe("rare-shift: one huge outlier", () => {
  it('moves the scale by a bounded step: a spike 2000 points after a 1700 sd outlier is still caught', () => {
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647), seed / 2147483647);
    const noise = (): number => (rnd() + rnd() + rnd() + rnd() - 2) * 10; // sd ≈ 5.8
    for (const outlier of [10_000, 1e200]) {
      const detector = createAnomalyDetector({ cooldownPoints: 0 });
      for (let i = 0; i < 2000; i++) detector.observe(100 + noise());
      detector.observe(outlier);
      for (let i = 0; i < 2000; i++) detector.observe(100 + noise());
      // Before the bound, the outlier's square set the scale for thousands of points (1e200: > 50 000).
      expect(detector.observe(400).isAnomaly).toBe(true);
    }
  });
});
