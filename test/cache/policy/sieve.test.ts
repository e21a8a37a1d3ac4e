import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../../src/cache/response-cache.js';

describe('SIEVE', () => {
  it('keeps visited entries in place and evicts the first unvisited one the hand reaches', () => {
    const cache = new ResponseCache({ maxEntries: 4, policy: 'sieve' });
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, 'm', k);
    cache.get('a', 'm');
    cache.get('c', 'm');
    cache.set('e', 'm', 'e'); // the hand passes a (visited), evicts b
    expect(cache.get('b', 'm')).toBeUndefined();
    cache.set('f', 'm', 'f'); // from after b: c is visited, d is not
    expect(cache.get('d', 'm')).toBeUndefined();
    for (const k of ['a', 'c', 'e', 'f']) expect(cache.get(k, 'm')).toBe(k);
    expect(cache.getStats().missCauses.evicted).toBe(2);
  });
});
