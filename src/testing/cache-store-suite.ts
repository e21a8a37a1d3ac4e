import { canCoordinate, type CacheStore } from '../stores/cache-store.js';

/** The few test-framework functions the suite uses; vitest's and jest's fit as they are. */
export interface CacheStoreSuiteApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void>, timeoutMs?: number) => void;
  expect: (actual: unknown) => {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeUndefined(): void;
  };
}

/** Options of {@link testCacheStore}: the framework functions, plus what the store needs. */
export interface CacheStoreSuiteOptions extends CacheStoreSuiteApi {
  /** Name of the `describe` block. @default `CacheStore conformance (${store.name})` */
  name?: string;
  /**
   * Moves the store's time forward by `ms` (for a store on a manual clock). Without it the TTL case
   * waits in real time for a 50 ms TTL to pass (polling for at most 5 s).
   * @default undefined (real time)
   */
  advanceTime?: (ms: number) => void | Promise<void>;
  /** Timeout of each case, in ms. @default 20_000 */
  timeoutMs?: number;
}

type Factory = () => CacheStore | Promise<CacheStore>;
type Case = (store: CacheStore, api: CacheStoreSuiteOptions) => Promise<void>;

/**
 * Registers the conformance suite of the {@link CacheStore} contract: TTL, overwrite, delete, clear,
 * binary-safe and unicode values, large values, concurrency, and (when the store implements them)
 * the coordination locks. It takes the framework's `describe`, `it` and `expect` as arguments rather
 * than importing a test runner, so it works with vitest, jest or anything with the same three.
 * `factory` is called once per case and must return a store isolated from every other one (a fresh
 * Redis prefix, say): the suite calls `clear()`. The store is cleared and closed after each case.
 *
 * @example
 * ```ts
 * import { describe, it, expect } from 'vitest';
 * import { testCacheStore } from 'llm-optimization-engine/testing';
 * testCacheStore(() => createMyStore({ prefix: `test-${crypto.randomUUID()}` }), { describe, it, expect });
 * ```
 */
export function testCacheStore(factory: Factory, options: CacheStoreSuiteOptions): void {
  const { describe, it } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const run = (body: Case) => async (): Promise<void> => {
    const store = await factory();
    try {
      await body(store, options);
    } finally {
      await store.clear().catch(() => undefined);
      await store.close?.();
    }
  };
  describe(options.name ?? 'CacheStore conformance', () => {
    for (const [title, body] of Object.entries(CASES)) it(title, run(body), timeoutMs);
    describe('getWithTtl (when implemented)', () => {
      for (const [title, body] of Object.entries(TTL_READ_CASES)) {
        it(title, run(async (store, api) => (readsTtl(store) ? body(store, api) : undefined)), timeoutMs);
      }
    });
    describe('coordination (when acquire, release and waitFor are implemented)', () => {
      for (const [title, body] of Object.entries(LOCK_CASES)) {
        it(title, run(async (store, api) => (canCoordinate(store) ? body(store, api) : undefined)), timeoutMs);
      }
    });
  });
}

const LONG = { ttlMs: 600_000 };

/** Strings a store must keep exactly: control characters, NUL, every Latin-1 character, astral and joined emoji. */
export const TRICKY_VALUES: readonly string[] = [
  '',
  'a\u0000b\u0000',
  '\r\n\t\u0007\u001b[31m',
  Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''),
  'héllo wörld — ελληνικά, 日本語, עברית, العربية',
  '😀 👍🏽 👨‍👩‍👧 🏳️‍🌈 \u{10FFFF}',
  '{"__proto__":{"polluted":true}}',
  ' leading and trailing spaces ',
];

const CASES: Record<string, Case> = {
  'answers undefined for a key never set': async (store, { expect }) => {
    expect(await store.get('never-set')).toBeUndefined();
  },
  'returns what was set': async (store, { expect }) => {
    await store.set('k', 'value', LONG);
    expect(await store.get('k')).toBe('value');
  },
  'keeps keys that differ only slightly apart': async (store, { expect }) => {
    const keys = ['a', 'A', 'a:', ':a', 'v1:a', 'v1:scope%20x:a', 'a b', 'é'];
    await Promise.all(keys.map((k) => store.set(k, `value of ${k}`, LONG)));
    for (const k of keys) expect(await store.get(k)).toBe(`value of ${k}`);
  },
  'overwrites a value': async (store, { expect }) => {
    await store.set('k', 'first', LONG);
    await store.set('k', 'second', LONG);
    expect(await store.get('k')).toBe('second');
  },
  'deletes a value and says whether there was one': async (store, { expect }) => {
    await store.set('k', 'value', LONG);
    await store.set('other', 'kept', LONG);
    expect(await store.delete('k')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.delete('k')).toBe(false);
    expect(await store.get('other')).toBe('kept');
  },
  'clears every value': async (store, { expect }) => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.set(`k${i}`, `v${i}`, LONG)));
    await store.clear();
    const left = await Promise.all(Array.from({ length: 25 }, (_, i) => store.get(`k${i}`)));
    expect(left.filter((v) => v !== undefined)).toEqual([]);
    await store.set('after', 'works', LONG);
    expect(await store.get('after')).toBe('works');
  },
  'expires a value after its TTL and keeps one whose TTL has not passed': async (store, { expect, advanceTime }) => {
    await store.set('short', 'gone soon', { ttlMs: 50 });
    await store.set('long', 'stays', LONG);
    if (advanceTime !== undefined) await advanceTime(51);
    const gone = await eventually(async () => (await store.get('short')) === undefined, 5000);
    expect(gone).toBe(true);
    expect(await store.get('long')).toBe('stays');
  },
  'overwriting resets the TTL': async (store, { expect, advanceTime }) => {
    await store.set('k', 'short', { ttlMs: 50 });
    await store.set('k', 'long', LONG);
    if (advanceTime !== undefined) await advanceTime(51);
    else await sleep(80);
    expect(await store.get('k')).toBe('long');
  },
  'keeps binary-like and unicode values byte for byte': async (store, { expect }) => {
    await Promise.all(TRICKY_VALUES.map((v, i) => store.set(`tricky-${i}`, v, LONG)));
    const read = await Promise.all(TRICKY_VALUES.map((_, i) => store.get(`tricky-${i}`)));
    expect(read).toEqual(TRICKY_VALUES);
  },
  'stores a large value': async (store, { expect }) => {
    const bytes = Math.min(store.maxValueBytes ?? 1_048_576, 1_048_576) - 16;
    const unit = 'ab€😀-'; // 1 + 1 + 3 + 4 + 1 = 10 UTF-8 bytes
    const value = unit.repeat(Math.floor(bytes / 10));
    await store.set('large', value, LONG);
    const read = await store.get('large');
    expect(read?.length).toBe(value.length);
    expect(read === value).toBe(true);
  },
  'serves 200 concurrent writes and reads of distinct keys': async (store, { expect }) => {
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => store.set(`c${i}`, `value ${i}`, LONG)));
    const read = await Promise.all(Array.from({ length: n }, (_, i) => store.get(`c${i}`)));
    expect(read).toEqual(Array.from({ length: n }, (_, i) => `value ${i}`));
  },
  'ends concurrent writes of one key with one of the values written': async (store, { expect }) => {
    const written = Array.from({ length: 50 }, (_, i) => `writer ${i}`);
    await Promise.all(written.map((v) => store.set('contended', v, LONG)));
    expect(written.includes((await store.get('contended')) ?? '')).toBe(true);
  },
};

type TtlReadStore = Required<Pick<CacheStore, 'getWithTtl'>> & CacheStore;

function readsTtl(store: CacheStore): store is TtlReadStore {
  return typeof store.getWithTtl === 'function';
}

const TTL_READ_CASES: Record<string, (store: TtlReadStore, api: CacheStoreSuiteOptions) => Promise<void>> = {
  'answers undefined for a key never set': async (store, { expect }) => {
    expect(await store.getWithTtl('never-set')).toBeUndefined();
  },
  'returns the value with the time it has left, never more than it was set for': async (store, { expect }) => {
    await store.set('k', 'value', LONG);
    const read = await store.getWithTtl('k');
    expect(read?.value).toBe('value');
    const left = read?.ttlMs;
    expect(left === undefined || (Number.isFinite(left) && left > 0 && left <= LONG.ttlMs)).toBe(true);
    expect(await store.get('k')).toBe('value');
  },
  'reads the same value as get, byte for byte': async (store, { expect }) => {
    await Promise.all(TRICKY_VALUES.map((v, i) => store.set(`tricky-${i}`, v, LONG)));
    const read = await Promise.all(TRICKY_VALUES.map((_, i) => store.getWithTtl(`tricky-${i}`)));
    expect(read.map((r) => r?.value)).toEqual(TRICKY_VALUES);
  },
  'answers undefined once the TTL has passed': async (store, { expect, advanceTime }) => {
    await store.set('short', 'gone soon', { ttlMs: 50 });
    if (advanceTime !== undefined) await advanceTime(51);
    const gone = await eventually(async () => (await store.getWithTtl('short')) === undefined, 5000);
    expect(gone).toBe(true);
  },
};

const LOCK_CASES: Record<string, (store: Required<Pick<CacheStore, 'acquire' | 'release' | 'waitFor'>> & CacheStore, api: CacheStoreSuiteOptions) => Promise<void>> = {
  'gives a lock to exactly one of many concurrent callers': async (store, { expect }) => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => store.acquire('lock', { ttlMs: 10_000 })));
    expect(tokens.filter((t) => t !== undefined).length).toBe(1);
    await store.release('lock', tokens.find((t) => t !== undefined) ?? '');
  },
  'releases a lock only with its own token': async (store, { expect }) => {
    const token = await store.acquire('lock', { ttlMs: 10_000 });
    expect(typeof token).toBe('string');
    await store.release('lock', 'not-the-token');
    expect(await store.acquire('lock', { ttlMs: 10_000 })).toBeUndefined();
    await store.release('lock', token ?? '');
    const again = await store.acquire('lock', { ttlMs: 10_000 });
    expect(typeof again).toBe('string');
    await store.release('lock', again ?? '');
  },
  'answers a wait on a free lock with true': async (store, { expect }) => {
    expect(await store.waitFor('free', { timeoutMs: 1000 })).toBe(true);
  },
  'wakes a waiter when the lock is released': async (store, { expect }) => {
    const token = await store.acquire('lock', { ttlMs: 10_000 });
    const waiting = store.waitFor('lock', { timeoutMs: 10_000 });
    await sleep(20);
    await store.release('lock', token ?? '');
    expect(await waiting).toBe(true);
  },
  'ends a wait with false when its timeout passes first': async (store, { expect }) => {
    const token = await store.acquire('lock', { ttlMs: 10_000 });
    expect(await store.waitFor('lock', { timeoutMs: 30 })).toBe(false);
    await store.release('lock', token ?? '');
  },
  'ends a wait with the reason of its signal': async (store, { expect }) => {
    const token = await store.acquire('lock', { ttlMs: 10_000 });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const waiting = store.waitFor('lock', { timeoutMs: 10_000, signal: controller.signal }).then(() => 'resolved', (e: unknown) => e);
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    await store.release('lock', token ?? '');
  },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const end = performance.now() + withinMs;
  for (let delay = 10; performance.now() < end; delay = Math.min(delay * 2, 200)) {
    if (await check()) return true;
    await sleep(delay);
  }
  return check();
}
