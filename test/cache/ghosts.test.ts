import { describe, expect, it } from 'vitest';
import { Ghosts } from '../../src/cache/ghosts.js';

describe('Ghosts', () => {
  it('remembers why a key left, the latest reason winning, and forgets the oldest keys past its limit', () => {
    const ghosts = new Ghosts(100);
    ghosts.set(1, 'evicted');
    ghosts.set(2, 'rejected');
    ghosts.set(1, 'expired');
    expect(ghosts.get(1)).toBe('expired');
    expect(ghosts.get(2)).toBe('rejected');
    expect(ghosts.get(3)).toBeUndefined();
    for (let k = 10; k < 210; k++) ghosts.set(k, 'evicted');
    expect(ghosts.get(1)).toBeUndefined();
    expect(ghosts.get(109)).toBeUndefined();
    for (let k = 110; k < 210; k++) expect(ghosts.get(k)).toBe('evicted');
    ghosts.clear();
    expect(ghosts.get(150)).toBeUndefined();
  });
});
