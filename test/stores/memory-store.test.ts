import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/index.js';
import { testCacheStore } from '../../src/testing.js';

testCacheStore(() => createMemoryStore(), { describe, it, expect, name: 'memory store (real time)' });

let now = 0;
testCacheStore(() => createMemoryStore({ clock: { now: () => now } }), {
  describe, it, expect, name: 'memory store (manual clock)',
  advanceTime: (ms) => {
    now += ms;
  },
});

describe('createMemoryStore', () => {
  it('drops the oldest value beyond maxEntries', async () => {
    const store = createMemoryStore({ maxEntries: 2 });
    await store.set('a', '1', { ttlMs: 1000 });
    await store.set('b', '2', { ttlMs: 1000 });
    await store.set('c', '3', { ttlMs: 1000 });
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('c')).toBe('3');
  });

  it('refuses a value larger than maxValueBytes', async () => {
    const store = createMemoryStore({ maxValueBytes: 4 });
    await expect(store.set('k', '€€', { ttlMs: 1000 })).rejects.toMatchObject({ code: 'ERR_STORE' });
  });

  it('lets a lock expire after its TTL', async () => {
    let t = 0;
    const store = createMemoryStore({ clock: { now: () => t } });
    const token = await store.acquire!('k', { ttlMs: 100 });
    expect(token).toBeTypeOf('string');
    expect(await store.acquire!('k', { ttlMs: 100 })).toBeUndefined();
    t = 100;
    expect(await store.acquire!('k', { ttlMs: 100 })).toBeTypeOf('string');
  });

  it('names bad options', () => {
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/`maxEntries`/);
    expect(() => createMemoryStore({ nope: 1 } as never)).toThrow(/options\.nope/);
    expect(createMemoryStore().health!()).toMatchObject({ ok: true });
  });
});
