import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maximum } from '../../src/internal/summary.js';

describe('maximum', () => {
  it('agrees with Math.max on short arrays, and is NaN when empty', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.double(), fc.constantFrom(0, -0, Number.NaN)), { minLength: 1, maxLength: 50 }), (values) => {
      expect(maximum(values)).toBe(Math.max(...values));
    }));
    expect(maximum([])).toBeNaN();
  });

  it('takes arrays far longer than the argument limit of a spread call', () => {
    const values = Array.from({ length: 1_000_000 }, (_, i) => i % 1000);
    expect(() => Math.max(...values)).toThrow(RangeError);
    expect(maximum(values)).toBe(999);
  });
});
