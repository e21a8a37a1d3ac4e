import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantileOfSorted, ThresholdCalibrator } from '../../src/routing/calibration.js';

/** Plays `n` calls of difficulties from `draw` through a calibrator; returns the share sent large over the last half. */
function play(target: number, draw: () => number, n: number, forced = 0, rnd: () => number = Math.random): number {
  const c = new ThresholdCalibrator(target, 500, 0.5);
  let large = 0;
  for (let i = 0; i < n; i++) {
    const d = draw();
    c.observe(d);
    const wentLarge = rnd() < forced || d > c.threshold;
    c.decided(wentLarge);
    if (i >= n / 2 && wentLarge) large++;
  }
  return large / (n / 2);
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('threshold calibration to a target large-tier share', () => {
  it('holds the share within 2.5 points of the target for any target and score distribution (property)', () => {
    fc.assert(fc.property(
      fc.double({ min: 0.05, max: 0.6, noNaN: true }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.constantFrom<'uniform' | 'skewed' | 'bimodal'>('uniform', 'skewed', 'bimodal'),
      (target, seed, shape) => {
        const rnd = prng(seed);
        const draw = shape === 'uniform' ? rnd : shape === 'skewed' ? () => rnd() ** 4 : () => (rnd() < 0.7 ? 0.1 : 0.8) + rnd() * 0.05;
        expect(Math.abs(play(target, draw, 6000, 0, rnd) - target)).toBeLessThan(0.025);
      },
    ), { numRuns: 40 });
  });

  it('absorbs large-tier calls it does not decide (errors, checks): the total still meets the target', () => {
    const rnd = prng(3);
    expect(Math.abs(play(0.3, rnd, 8000, 0.1, rnd) - 0.3)).toBeLessThan(0.025);
  });

  it('follows a shift in the traffic', () => {
    const rnd = prng(5);
    let i = 0;
    const share = play(0.2, () => (i++ < 4000 ? rnd() : 2 + rnd() * 3), 12000, 0, rnd);
    expect(Math.abs(share - 0.2)).toBeLessThan(0.025);
  });

  it('survives a restart through its exported state', () => {
    const a = new ThresholdCalibrator(0.2, 100, 0.5);
    for (let i = 0; i < 300; i++) a.observe(i % 100);
    const b = new ThresholdCalibrator(0.2, 100, 0.5);
    const saved = JSON.parse(JSON.stringify(a.export())) as { level: number; window: number[] };
    b.restore(saved);
    expect(b.level).toBe(a.level);
    expect(b.threshold).toBe(quantileOfSorted([...saved.window].sort((x, y) => x - y), 1 - a.level));
    expect(Math.abs(b.threshold - a.threshold)).toBeLessThanOrEqual(16);
  });

  it('quantileOfSorted: nothing above the 1 quantile, everything above the 0 quantile', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
      const sorted = [...values].sort((x, y) => x - y);
      const t = quantileOfSorted(sorted, q);
      const above = sorted.filter((v) => v > t).length / sorted.length;
      expect(above).toBeLessThanOrEqual(1 - q + 1e-9);
      expect(quantileOfSorted(sorted, 1)).toBe(sorted.at(-1));
      expect(sorted.every((v) => v > quantileOfSorted(sorted, 0))).toBe(true);
    }));
  });
});
