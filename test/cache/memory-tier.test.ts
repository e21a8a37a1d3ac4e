import { describe, expect, it } from 'vitest';
import { fingerprint, requestIdentity } from '../../src/cache/cache-key.js';
import { Entry, type HeaderInfo } from '../../src/cache/entry.js';
import { MemoryTier } from '../../src/cache/memory-tier.js';

const info: HeaderInfo = { header: requestIdentity('', 'm', '', '').header, model: 'm', scope: '', epoch: 0, counters: { model: { hits: 0 }, scope: { hits: 0 } } };
const id = (text: string) => requestIdentity(text, 'm', '', '');

function insert(tier: MemoryTier, text: string): Entry {
  const entry = new Entry(info, text, text, 0, 1000, 0, 0);
  tier.insert(entry, fingerprint(entry));
  return entry;
}

/**
 * Long prompts differing in one character only collide when that character is not sampled. Samples
 * are 32 characters apart, so of two families varying at neighbouring positions at least one collides
 * entirely, whatever the per-process sampling offset.
 */
function collidingFamilies(size: number): string[][] {
  const base = 'x'.repeat(1056);
  return [500, 501].map((at) => Array.from({ length: size }, (_, i) => `${base.slice(0, at)}${String.fromCharCode(65 + i)}${base.slice(at + 1)}`));
}

describe('MemoryTier', () => {
  it('bounds the bucket of a crowded fingerprint and still finds every entry', () => {
    const tier = new MemoryTier({ maxEntries: 100, maxBytes: Number.POSITIVE_INFINITY }, () => undefined);
    const families = collidingFamilies(20);
    for (const text of families.flat()) insert(tier, text);
    const depths = families.map((f) => new Set(f.map((t) => fingerprint(id(t)))));
    expect(depths.some((fps) => fps.size === 1)).toBe(true);
    for (const fps of depths) for (const fp of fps) expect(tier.bucketDepth(fp)).toBeLessThanOrEqual(1);
    for (const text of families.flat()) expect(tier.find(id(text))?.value).toBe(text);
    expect(tier.find(id(`${families[0]?.[0]}!`))).toBeUndefined();
    expect(tier.size).toBe(40);
  });

  it('removes entries from a bucket, from the overflow, and evicts one entry at a time', () => {
    const removed: string[] = [];
    const tier = new MemoryTier({ maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY }, (e, reason) => removed.push(`${String(e.value).slice(499, 503)}:${reason}`), { policy: 'lru' });
    const family = collidingFamilies(10).find((f) => new Set(f.map((t) => fingerprint(id(t)))).size === 1) ?? [];
    const entries = family.map((t) => insert(tier, t));
    tier.remove(entries[1] as Entry, 'delete');
    tier.remove(entries[8] as Entry, 'delete');
    expect(tier.find(id(family[1] as string))).toBeUndefined();
    expect(tier.find(id(family[8] as string))).toBeUndefined();
    for (const i of [0, 2, 3, 4, 5, 6, 7, 9]) expect(tier.find(id(family[i] as string))).toBe(entries[i]);
    for (let i = 0; i < 4; i++) insert(tier, `other ${i}`);
    expect(tier.size).toBe(10);
    expect(removed.filter((r) => r.endsWith(':evict'))).toHaveLength(2);
    expect(tier.miss(fingerprint(id(family[0] as string)))).toBe('evicted');
  });
});

describe('MemoryTier under churn', () => {
  it('keeps finding crowded entries while marks of overflowed buckets are rebuilt', () => {
    const tier = new MemoryTier({ maxEntries: 8, maxBytes: Number.POSITIVE_INFINITY }, () => undefined, { policy: 'lru' });
    const families = collidingFamilies(26);
    for (let round = 0; round < 10; round++) {
      for (const text of families.flat()) insert(tier, `${round}${text}`);
      const recent = families.flat().slice(-8).map((t) => `${round}${t}`);
      for (const text of recent) expect(tier.find(id(text))?.value).toBe(text);
      expect(tier.size).toBe(8);
    }
  });
});

describe('MemoryTier with every fingerprint colliding (crafted input)', () => {
  const constant = () => 7;
  const tierOf = (maxEntries: number, removed: string[] = []) =>
    new MemoryTier({ maxEntries, maxBytes: Number.POSITIVE_INFINITY }, (e, reason) => removed.push(`${String(e.value)}:${reason}`), {
      fingerprint: constant, fullFingerprint: constant, policy: 'lru',
    });
  const add = (tier: MemoryTier, text: string): Entry => {
    const entry = new Entry(info, text, text, 0, 1000, 0, 0);
    tier.insert(entry, 7);
    return entry;
  };

  it('keeps one entry at the first level, four at the second, the rest by full text, and finds each', () => {
    const tier = tierOf(100);
    const entries = Array.from({ length: 12 }, (_, i) => add(tier, `t${i}`));
    expect(tier.bucketDepth(7)).toBe(1);
    expect(tier.bucketDepth(2 ** 30 + 7)).toBe(4);
    entries.forEach((e, i) => expect(tier.find(id(`t${i}`), 7)).toBe(e));
    expect(tier.find(id('absent'), 7)).toBeUndefined();
  });

  it('removes entries from every level, including the middle of a second-level chain', () => {
    const removed: string[] = [];
    const tier = tierOf(100, removed);
    const entries = Array.from({ length: 8 }, (_, i) => add(tier, `t${i}`));
    for (const i of [0, 2, 7]) tier.remove(entries[i] as Entry, 'delete');
    expect(removed).toEqual(['t0:delete', 't2:delete', 't7:delete']);
    entries.forEach((e, i) => expect(tier.find(id(`t${i}`), 7)).toBe([0, 2, 7].includes(i) ? undefined : e));
    expect(tier.size).toBe(5);
  });

  it('evicts one at a time and stays within its bound', () => {
    const removed: string[] = [];
    const tier = tierOf(3, removed);
    for (let i = 0; i < 10; i++) add(tier, `t${i}`);
    expect(tier.size).toBe(3);
    expect(removed.filter((r) => r.endsWith(':evict'))).toHaveLength(7);
  });
});
