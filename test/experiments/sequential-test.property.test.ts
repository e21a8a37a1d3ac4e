import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addValue, alwaysValidInterval, alwaysValidPValue, compare, emptyMoments, mergeMoments, variance,
} from '../../src/experiments/sequential-test.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const values = fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { maxLength: 60 });

describe('the mSPRT and its moments', () => {
  it('merging saved moments equals having seen their values (property)', () => {
    fc.assert(fc.property(values, values, (xs, ys) => {
      const a = emptyMoments();
      const b = emptyMoments();
      const all = emptyMoments();
      for (const x of xs) {
        addValue(a, x);
        addValue(all, x);
      }
      for (const y of ys) {
        addValue(b, y);
        addValue(all, y);
      }
      mergeMoments(a, b);
      expect(a.n).toBe(all.n);
      expect(a.mean).toBeCloseTo(all.mean, 6);
      expect(variance(a)).toBeCloseTo(variance(all), 3);
    }));
  });

  it('the interval excludes 0 exactly when this look\'s p-value is below alpha (property)', () => {
    fc.assert(fc.property(
      fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.double({ min: 1e-4, max: 1, noNaN: true }),
      (delta, v, tau2) => {
        const p = alwaysValidPValue(1, delta, v, tau2);
        const [lo, hi] = alwaysValidInterval(delta, v, tau2, 0.05);
        if (Math.abs(p - 0.05) > 1e-9) expect(lo > 0 || hi < 0).toBe(p < 0.05);
        expect(p).toBeGreaterThan(0);
        expect(p).toBeLessThanOrEqual(1);
      },
    ));
  });

  it('keeps its false-positive rate under alpha on A/A data however often one looks', () => {
    const rnd = prng(2026);
    let rejected = 0;
    const runs = 300;
    for (let run = 0; run < runs; run++) {
      const a = emptyMoments();
      const b = emptyMoments();
      let p = 1;
      for (let i = 1; i <= 2000; i++) {
        addValue(a, rnd() < 0.5 ? 1 : 0);
        addValue(b, rnd() < 0.5 ? 1 : 0);
        if (i % 25 === 0) p = compare(a, b, p, 0.05, 0.1).p_value;
      }
      if (p < 0.05) rejected++;
    }
    // Seeded, so the figure is the same on every run; the bench runs 1000 such experiments through the engine.
    expect(rejected / runs).toBeLessThanOrEqual(0.05);
  });

  it('detects a real 5-point difference, and its p-value never rises between looks', () => {
    const rnd = prng(7);
    const a = emptyMoments();
    const b = emptyMoments();
    let p = 1;
    for (let i = 1; i <= 10_000; i++) {
      addValue(a, rnd() < 0.5 ? 1 : 0);
      addValue(b, rnd() < 0.45 ? 1 : 0);
      if (i % 100 === 0) {
        const next = compare(a, b, p, 0.05, 0.1).p_value;
        expect(next).toBeLessThanOrEqual(p);
        p = next;
      }
    }
    expect(p).toBeLessThan(0.05);
  });
});
