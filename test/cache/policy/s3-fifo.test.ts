import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../../src/cache/response-cache.js';

describe('S3-FIFO', () => {
  it('drops an entry never reused from the small queue as rejected, and takes it back into the main queue', () => {
    const cache = new ResponseCache({ maxEntries: 10, policy: 's3-fifo' });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, 'm', i);
    for (let i = 0; i < 5; i++) expect(cache.get(`k${i}`, 'm')).toBe(i);
    cache.set('k10', 'm', 10);
    // k0…k4 were reused: they move to the main queue; k5 was not: dropped, never admitted.
    expect(cache.get('k5', 'm')).toBeUndefined();
    expect(cache.getStats().missCauses).toEqual({ new: 0, expired: 0, evicted: 0, rejected: 1 });
    cache.set('k5', 'm', 5);
    // Back from the ghost list into the main queue: a stream of one-off keys passes it by.
    for (let i = 0; i < 20; i++) cache.set(`once${i}`, 'm', i);
    expect(cache.get('k5', 'm')).toBe(5);
    for (let i = 0; i < 5; i++) expect(cache.get(`k${i}`, 'm')).toBe(i);
  });
});
