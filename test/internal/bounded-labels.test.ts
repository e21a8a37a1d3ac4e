import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedLabels, OTHER_LABEL } from '../../src/internal/bounded-labels.js';

const counting = (max: number) => new BoundedLabels<{ n: number }>(max, () => ({ n: 0 }));

describe('BoundedLabels', () => {
  it('never holds more labels than its bound, loses no count and never throws, whatever the names', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.oneof(fc.string(), fc.constantFrom(OTHER_LABEL, '__proto__', 'constructor')), { maxLength: 300 }), (max, names) => {
        const labels = counting(max);
        for (const name of names) labels.get(name).n++;
        const entries = [...labels.entries()];
        expect(labels.size).toBeLessThanOrEqual(max);
        expect(entries.reduce((sum, [, { n }]) => sum + n, 0)).toBe(names.length);
        // The first max - 1 distinct names are counted on their own, exactly.
        const own = [...new Set(names)].filter((name) => name !== OTHER_LABEL).slice(0, max - 1);
        for (const name of own) expect(labels.get(name).n).toBe(names.filter((x) => x === name).length);
        expect(Object.values(labels.toRecord(({ n }) => n)).reduce((a, b) => a + b, 0)).toBe(names.length);
      }),
    );
  });

  it('keeps room for (other): the 1001st distinct name of a 1000-label map is pooled, not lost or recursed on', () => {
    const labels = counting(1000);
    for (let i = 0; i < 100_000; i++) labels.get(`tenant-${i}`).n++;
    expect(labels.size).toBe(1000);
    expect(labels.get('tenant-998').n).toBe(1);
    expect(labels.get(OTHER_LABEL).n).toBe(100_000 - 999);
    expect(labels.get('a new one')).toBe(labels.get(OTHER_LABEL));
  });

  it('builds each label state with the label it is stored under, and can pool under another name', () => {
    const seen: string[] = [];
    const labels = new BoundedLabels(2, (label) => (seen.push(label), { label }), 'other');
    labels.get('a');
    labels.get('b');
    labels.get('c');
    expect(seen).toEqual(['a', 'other']);
    expect(() => new BoundedLabels(0, () => 0)).toThrow(/`maxLabels` must be an integer of at least 1, received 0/);
  });
});
