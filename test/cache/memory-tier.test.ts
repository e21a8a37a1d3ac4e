import { describe, expect, it } from 'vitest';
import { requestIdentity } from '../../src/cache/cache-key.js';
import type { Entry } from '../../src/cache/entry.js';
import { MemoryTier } from '../../src/cache/memory-tier.js';

function entry(tier: MemoryTier, text: string, fp: number): Entry {
  const id = requestIdentity(text, 'm', '', '');
  return {
    ...id, value: text, key: undefined, createdAt: 0, expiresAt: 1, execMs: 0, tokens: 0, bytes: 1, hits: 0,
    slot: tier.slotFor(id, fp), next: undefined,
  };
}

describe('MemoryTier', () => {
  it('bounds a bucket of colliding fingerprints and keys the rest by their full text', () => {
    const tier = new MemoryTier({ maxEntries: 100, maxBytes: Number.POSITIVE_INFINITY }, () => undefined);
    const FORGED = 7;
    const entries = Array.from({ length: 20 }, (_, i) => {
      const e = entry(tier, `prompt ${i}`, FORGED);
      tier.insert(e, FORGED);
      return e;
    });
    expect(entries.filter((e) => e.slot === FORGED)).toHaveLength(4);
    expect(entries.filter((e) => typeof e.slot === 'string')).toHaveLength(16);
    for (let i = 0; i < 20; i++) expect(tier.find(requestIdentity(`prompt ${i}`, 'm', '', ''), FORGED)?.value).toBe(`prompt ${i}`);
    expect(tier.find(requestIdentity('absent', 'm', '', ''), FORGED)).toBeUndefined();
  });

  it('removes entries from the middle of a bucket and evicts a bucket one entry at a time', () => {
    const removed: string[] = [];
    const tier = new MemoryTier({ maxEntries: 3, maxBytes: Number.POSITIVE_INFINITY }, (e, reason) => removed.push(`${String(e.value)}:${reason}`));
    const [a, b, c] = ['a', 'b', 'c'].map((t) => {
      const e = entry(tier, t, 1);
      tier.insert(e, 1);
      return e;
    }) as [Entry, Entry, Entry];
    tier.remove(b, 'delete');
    expect(tier.find(requestIdentity('a', 'm', '', ''), 1)).toBe(a);
    expect(tier.find(requestIdentity('c', 'm', '', ''), 1)).toBe(c);
    tier.insert(entry(tier, 'd', 2), 2);
    tier.insert(entry(tier, 'e', 3), 3);
    expect(tier.size).toBe(3);
    expect(removed).toEqual(['b:delete', 'a:evict']);
    expect(tier.missCause(1)).toBe('evicted');
  });
});
