import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beladyHits } from '../../bench/belady.mjs';

/** Belady by brute force: try every choice (store or not, and which key to evict) and keep the best. */
function bestPossible(trace: number[], size: number, at = 0, held: readonly number[] = []): number {
  if (at === trace.length) return 0;
  const key = trace[at] as number;
  if (held.includes(key)) return 1 + bestPossible(trace, size, at + 1, held);
  let best = bestPossible(trace, size, at + 1, held); // do not store
  if (held.length < size) best = Math.max(best, bestPossible(trace, size, at + 1, [...held, key]));
  else for (let i = 0; i < held.length; i++) best = Math.max(best, bestPossible(trace, size, at + 1, held.map((h, j) => (j === i ? key : h))));
  return best;
}

describe("Belady's MIN", () => {
  it('evicts the key used farthest ahead (hand-checked)', () => {
    // size 2: 1 2 | 3 comes back last, not stored | 1 2 hit | 4 never again | 1 2 hit | 3 miss
    expect(beladyHits([1, 2, 3, 1, 2, 4, 1, 2, 3], 2)).toBe(4);
    // size 3 keeps 1, 2 and 3: only the first four requests and 4 miss
    expect(beladyHits([1, 2, 3, 1, 2, 4, 1, 2, 3], 3)).toBe(5);
    // a loop of 4 keys in a cache of 3: LRU never hits; the optimum keeps 2 of them each round
    expect(beladyHits([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], 3)).toBe(6);
    expect(beladyHits([7, 7, 7], 1)).toBe(2);
    expect(beladyHits([1, 2, 1, 2], 0)).toBe(0);
    expect(beladyHits([], 4)).toBe(0);
  });

  it('matches an exhaustive search on small random traces', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 11 }), fc.integer({ min: 1, max: 3 }), (trace, size) => {
        expect(beladyHits(trace, size)).toBe(bestPossible(trace, size));
      }),
      { numRuns: 200 },
    );
  });
});
