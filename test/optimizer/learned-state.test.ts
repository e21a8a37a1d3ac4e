import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/cache/cache-key.js';
import { cacheInternals, ResponseCache } from '../../src/cache/response-cache.js';
import { importLearnedState, type LearnedStateHost } from '../../src/optimizer/learned-state.js';
import type { SelfHealing } from '../../src/optimizer/self-heal.js';
import { fakeClock } from '../helpers.js';

/** A host around a real cache; model statistics restored are kept in `models`. */
function host(): { host: LearnedStateHost; cache: ResponseCache; models: unknown[] } {
  const clock = fakeClock();
  const cache = new ResponseCache({ clock, ttlMs: 60_000 });
  const models: unknown[] = [];
  const healing = { restoreModelStatistics: (m: unknown) => void models.push(m), modelStatistics: () => ({}) } as unknown as SelfHealing;
  const h: LearnedStateHost = {
    cache, internals: cacheInternals(cache), healing, maxConcurrency: Number.POSITIVE_INFINITY,
    setTtlMs: (ttlMs) => cache.resize({ ttlMs }), now: () => clock.now(), adopt: () => undefined,
  };
  return { host: h, cache, models };
}

/** A snapshot entry of the request ('q', model 'm') as exportLearnedState writes it, with `change` applied. */
function entryOf(cache: ResponseCache, now: number, change: Record<string, unknown>): Record<string, unknown> {
  const id = cacheInternals(cache).identify('q', 'm', undefined);
  return { header: id.header, text: id.text, model: id.model, scope: id.scope, value: 'answer', expires_at: now + 10_000, exec_ms: 5, tokens: 3, ...change };
}

describe('importLearnedState: a state file is outside data', () => {
  it('restores a valid cache entry', () => {
    const { host: h, cache } = host();
    const { actions } = importLearnedState(h, { key_version: 1, cache_entries: [entryOf(cache, h.now(), {})] });
    expect(actions).toContain('learn: restored 1 cache entry');
    expect(cache.get('q', 'm')).toBe('answer');
  });

  it.each([
    ['an exec time of -1e300', { exec_ms: -1e300 }],
    ['an exec time of 1e300', { exec_ms: 1e300 }],
    ['a token count of 1e300', { tokens: 1e300 }],
    ['a value with a __proto__ key', { value: JSON.parse('{"\\u005f_proto__":{"isAdmin":true}}') as unknown }],
    ['a value with constructor.prototype', { value: { constructor: { prototype: { isAdmin: true } } } }],
    ['a value nested 10 000 deep', { value: JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) as unknown }],
  ])('skips a cache entry with %s', (_, change) => {
    const { host: h, cache } = host();
    const id = cacheInternals(cache).identify('q', 'm', undefined);
    const { actions } = importLearnedState(h, { key_version: 1, cache_entries: [entryOf(cache, h.now(), change)] });
    expect(actions).toContain('learn: restored 0 cache entries');
    expect(cacheInternals(cache).peek(id, fingerprint(id), h.now())).toBeUndefined();
  });

  it('skips model statistics with more failures than runs', () => {
    const { host: h, models } = host();
    importLearnedState(h, { models: { a: { runs: 1, failures: 5, exec_ms_total: 1 }, b: { runs: 2, failures: 1, exec_ms_total: 10 } } });
    expect(models).toEqual([{ b: { runs: 2, failures: 1, exec_ms_total: 10 } }]);
  });
});
