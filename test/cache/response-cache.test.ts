import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { fakeClock } from '../helpers.js';

describe('ResponseCache', () => {
  it('serves what was set for the same prompt, model, params and scope only', () => {
    const cache = new ResponseCache();
    cache.set('p', 'm', 'v', { params: { temperature: 0, seed: 1 }, scope: 'a' });
    expect(cache.get('p', 'm', { params: { seed: 1, temperature: 0 }, scope: 'a' })).toBe('v');
    expect(cache.get('p', 'm', { params: { seed: 1, temperature: 0 }, scope: 'b' })).toBeUndefined();
    expect(cache.get('p', 'm', { params: { seed: 2, temperature: 0 }, scope: 'a' })).toBeUndefined();
    expect(cache.get('p', 'm2', { params: { seed: 1, temperature: 0 }, scope: 'a' })).toBeUndefined();
  });

  it('expires entries after their TTL, per entry when set with its own', () => {
    const clock = fakeClock();
    const cache = new ResponseCache({ ttlMs: 1000, clock });
    cache.set('a', 'm', 1);
    cache.set('b', 'm', 2, { ttlMs: 5000 });
    clock.advance(999);
    expect(cache.get('a', 'm')).toBe(1);
    clock.advance(1);
    expect(cache.get('a', 'm')).toBeUndefined();
    expect(cache.get('b', 'm')).toBe(2);
    expect(cache.getStats().missCauses.expired).toBe(1);
  });

  it('evicts the least recently used entry, one at a time', () => {
    const cache = new ResponseCache({ maxEntries: 3 });
    const evicted: string[] = [];
    cache.set('a', 'm', 'A');
    cache.set('b', 'm', 'B');
    cache.set('c', 'm', 'C');
    cache.get('a', 'm');
    cache.set('d', 'm', 'D');
    for (const p of ['a', 'b', 'c', 'd']) if (cache.get(p, 'm') === undefined) evicted.push(p);
    expect(evicted).toEqual(['b']);
    expect(cache.size).toBe(3);
    expect(cache.getStats().evictions).toBe(1);
  });

  it('never holds more than maxEntries, whatever the sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('set', 'get', 'delete'), fc.integer({ min: 0, max: 20 })), { maxLength: 200 }),
        (maxEntries, ops) => {
          const cache = new ResponseCache({ maxEntries });
          for (const [op, n] of ops) {
            if (op === 'set') cache.set(`p${n}`, 'm', n);
            else if (op === 'get') expect([undefined, n]).toContain(cache.get(`p${n}`, 'm'));
            else cache.delete(`p${n}`, 'm');
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
          }
        },
      ),
    );
  });

  it('bounds bytes and returns but does not store a value larger than the budget', () => {
    const cache = new ResponseCache({ maxBytes: 1000 });
    expect(cache.set('big', 'm', 'x'.repeat(600))).toBe(false);
    expect(cache.get('big', 'm')).toBeUndefined();
    for (let i = 0; i < 10; i++) cache.set(`p${i}`, 'm', 'y'.repeat(100));
    expect(cache.getStats().bytes).toBeLessThanOrEqual(1000);
    expect(cache.get('p9', 'm')).toBe('y'.repeat(100));
  });

  it('isolates stored objects from callers who mutate them', () => {
    const cache = new ResponseCache();
    const value = { text: 'answer', tags: ['a'] };
    cache.set('p', 'm', value);
    value.tags.push('mutated-after-set');
    const first = cache.get<{ text: string; tags: string[] }>('p', 'm');
    first?.tags.push('mutated-by-reader');
    expect(cache.get('p', 'm')).toEqual({ text: 'answer', tags: ['a'] });
  });

  it('says why misses happened: new, expired or evicted', () => {
    const clock = fakeClock();
    const cache = new ResponseCache({ maxEntries: 1, ttlMs: 100, clock });
    cache.get('a', 'm');
    cache.set('a', 'm', 1);
    cache.set('b', 'm', 2);
    cache.get('a', 'm');
    clock.advance(100);
    cache.get('b', 'm');
    expect(cache.getStats().missCauses).toEqual({ new: 1, expired: 1, evicted: 1 });
  });

  it('reports hot keys and hit rates per model and per scope, never prompts', () => {
    const cache = new ResponseCache();
    cache.set('secret prompt', 'm1', 'v', { scope: 's1' });
    cache.set('other', 'm2', 'v');
    for (let i = 0; i < 3; i++) cache.get('secret prompt', 'm1', { scope: 's1' });
    cache.get('other', 'm2');
    cache.get('missing', 'm2');
    const patterns = cache.analyzeAccessPatterns({ top: 1 });
    expect(patterns.hotKeys).toHaveLength(1);
    expect(patterns.hotKeys[0]).toMatchObject({ model: 'm1', scope: 's1', hits: 3 });
    expect(patterns.hotKeys[0]?.key).toMatch(/^v1:s1:[0-9a-f]{64}$/);
    expect(JSON.stringify(patterns)).not.toContain('secret prompt');
    expect(patterns.byModel.m2).toEqual({ hits: 1, misses: 1, hit_rate_percent: 50 });
    expect(patterns.byScope.s1).toEqual({ hits: 3, misses: 0, hit_rate_percent: 100 });
    expect(patterns.missCausePercent.new).toBe(100);
  });

  it('keeps distinct long prompts apart even when their fingerprints collide', () => {
    const cache = new ResponseCache({ maxEntries: 500 });
    const base = 'x'.repeat(3000);
    const prompts = Array.from({ length: 300 }, (_, i) => `${base.slice(0, 1500)}${String(i).padStart(3, '0')}${base.slice(1503)}`);
    prompts.forEach((p, i) => cache.set(p, 'm', i));
    prompts.forEach((p, i) => expect(cache.get(p, 'm')).toBe(i));
    expect(cache.size).toBe(300);
  });

  it('deletes and clears', () => {
    const cache = new ResponseCache();
    cache.set('a', 'm', 1);
    cache.set('b', 'm', 2);
    expect(cache.delete('a', 'm')).toBe(true);
    expect(cache.delete('a', 'm')).toBe(false);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('b', 'm')).toBeUndefined();
  });

  it('resizes at run time, evicting at once when over the new bound', () => {
    const cache = new ResponseCache({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) cache.set(`p${i}`, 'm', i);
    cache.resize({ maxEntries: 4 });
    expect(cache.size).toBe(4);
    expect(cache.get('p9', 'm')).toBe(9);
    cache.resize({ maxEntries: 20 });
    for (let i = 10; i < 30; i++) cache.set(`p${i}`, 'm', i);
    expect(cache.size).toBe(20);
  });

  it('uses the configured hash for keys: md5 or a function', () => {
    const md5 = new ResponseCache({ hash: 'md5' });
    md5.set('p', 'm', 1);
    md5.get('p', 'm');
    expect(md5.analyzeAccessPatterns().hotKeys[0]?.key).toMatch(/^v1:[0-9a-f]{32}$/);
    const custom = new ResponseCache({ hash: (text) => `len${text.length}` });
    custom.set('p', 'm', 1);
    custom.get('p', 'm');
    expect(custom.analyzeAccessPatterns().hotKeys[0]?.key).toMatch(/^v1:len\d+$/);
  });

  it('rejects bad options and arguments with errors naming them', () => {
    expect(() => new ResponseCache({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => new ResponseCache({ ttlMs: -1 })).toThrow(/`ttlMs`.*-1/);
    expect(() => new ResponseCache({ ttlMs: Number.POSITIVE_INFINITY })).toThrow(/`ttlMs`/);
    expect(() => new ResponseCache({ maxEntries: 1.5 })).toThrow(/`maxEntries` must be an integer/);
    expect(() => new ResponseCache({ maxEntries: 0 })).toThrow(/`maxEntries`/);
    expect(() => new ResponseCache({ hash: 'sha1' as 'md5' })).toThrow(/`hash` must be one of/);
    expect(() => new ResponseCache({ ttl: 5 } as object)).toThrow(/Unknown option `cache.ttl`/);
    expect(() => new ResponseCache({ clock: {} as { now(): number } })).toThrow(/`clock`/);
    const cache = new ResponseCache();
    expect(() => cache.get(42 as unknown as string, 'm')).toThrow(/`prompt` must be a string or an array/);
    expect(() => cache.get([{ role: 'user' }] as never, 'm')).toThrow("`prompt[0].content` must be a string, received undefined");
    expect(() => cache.get('p', '')).toThrow(/`model` must be a non-empty string/);
    expect(() => cache.set('p', 'm', 1, { ttlMs: -5 })).toThrow(/`ttlMs`/);
    expect(() => cache.get('p', 'm', { scope: 3 as unknown as string })).toThrow(/`scope`/);
  });

  it('does not store values that cannot be copied', () => {
    const cache = new ResponseCache();
    expect(cache.set('p', 'm', { fn: () => 1 })).toBe(false);
    expect(cache.size).toBe(0);
  });
});

describe('ResponseCache.resize with a capacity that cannot be allocated', () => {
  it('throws and changes nothing: bounds, size and every entry stay as they were', () => {
    const cache = new ResponseCache({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) cache.set(`p${i}`, 'm', i);
    expect(() => cache.resize({ maxEntries: 2 ** 32 })).toThrow(RangeError);
    expect(cache.getStats()).toMatchObject({ maxEntries: 10, size: 10 });
    for (let i = 0; i < 10; i++) expect(cache.get(`p${i}`, 'm')).toBe(i);
    for (let i = 10; i < 30; i++) cache.set(`p${i}`, 'm', i);
    expect(cache.getStats()).toMatchObject({ maxEntries: 10, size: 10, evictions: 20 });
  });
});

describe('ResponseCache across a clock set back', () => {
  it('does not serve an entry past its TTL because the clock was set back (it used to live TTL + the jump)', () => {
    const clock = fakeClock();
    const cache = new ResponseCache({ clock, ttlMs: 60_000 });
    cache.set('p', 'm', 'answer');
    clock.advance(-3_600_000);
    clock.advance(120_000);
    expect(cache.get('p', 'm')).toBeUndefined();
    expect(cache.analyzeAccessPatterns().missCauses).toMatchObject({ expired: 1 });
    // Written after the jump: fresh for its TTL as usual.
    cache.set('p', 'm', 'again');
    clock.advance(59_000);
    expect(cache.get('p', 'm')).toBe('again');
    clock.advance(1_000);
    expect(cache.get('p', 'm')).toBeUndefined();
  });
});
