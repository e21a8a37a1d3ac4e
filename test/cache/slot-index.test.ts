import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotIndex } from '../../src/cache/slot-index.js';

function slotsOf(index: SlotIndex, key: number): number[] {
  const found: number[] = [];
  for (let cell = index.home(key); index.slotAt(cell) !== -1; cell = index.next(cell)) {
    const slot = index.slotAt(cell);
    if (index.keys[slot] === key) found.push(slot);
  }
  return found.sort((a, b) => a - b);
}

describe('SlotIndex', () => {
  it('finds every slot under its key after any sequence of adds and deletes, keys colliding on purpose', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 40 })), { maxLength: 400 }), (ops) => {
        const keys = new Int32Array(64);
        const index = new SlotIndex(keys, 4);
        const model = new Map<number, number>(); // slot → key
        for (const [add, slot, key] of ops) {
          if (add && !model.has(slot)) {
            keys[slot] = key * 16; // many keys share their low bits: long probe runs
            index.add(slot);
            model.set(slot, key * 16);
          } else if (!add) {
            expect(index.delete(slot)).toBe(model.has(slot));
            model.delete(slot);
          }
        }
        expect(index.count).toBe(model.size);
        for (const key of new Set(model.values())) {
          expect(slotsOf(index, key)).toEqual([...model].filter(([, k]) => k === key).map(([s]) => s).sort((a, b) => a - b));
        }
      }),
    );
  });
});
