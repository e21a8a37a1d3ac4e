import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import { clockOption, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { CacheStore, StoreHealth, StoreLockOptions, StoreSetOptions, StoreWaitOptions } from './cache-store.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most values held; beyond it the oldest written is dropped. @default 10_000 */
  maxEntries?: number;
  /** Largest value accepted, in UTF-8 bytes (a larger `set` rejects with `ERR_STORE`). @default 1_048_576 */
  maxValueBytes?: number;
  /** Life of a coordination lock the engine takes, in ms. @default 30_000 */
  lockTtlMs?: number;
  /** Longest wait of the engine for another engine's computation, in ms. @default 60_000 */
  lockWaitMs?: number;
  /** Source of time for TTLs and locks. @default a monotonic `Date.now()` */
  clock?: Clock;
}

const KEYS = ['maxEntries', 'maxValueBytes', 'lockTtlMs', 'lockWaitMs', 'clock'] as const;

interface Held {
  value: string;
  expiresAt: number;
}

/**
 * A {@link CacheStore} in this process's memory, with coordination: the reference implementation of
 * the contract, for tests and for several engines in one process sharing one cache.
 *
 * @example
 * ```ts
 * const store = createMemoryStore();
 * const a = new OptimizationEngine({ store });
 * const b = new OptimizationEngine({ store }); // b is served what a computed
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): CacheStore {
  knownKeys('options', plainObject('options', options), KEYS);
  const maxEntries = positiveInteger('maxEntries', options.maxEntries, 10_000);
  const maxValueBytes = positiveNumber('maxValueBytes', options.maxValueBytes, 1_048_576);
  const clock = clockOption('clock', options.clock) ?? systemClock;
  const lockTtlMs = positiveNumber('lockTtlMs', options.lockTtlMs, 30_000);
  const lockWaitMs = positiveNumber('lockWaitMs', options.lockWaitMs, 60_000);
  return new MemoryStore({ maxEntries, maxValueBytes, lockTtlMs, lockWaitMs }, clock);
}

interface Limits {
  maxEntries: number;
  maxValueBytes: number;
  lockTtlMs: number;
  lockWaitMs: number;
}

class MemoryStore implements CacheStore {
  readonly name = 'memory';
  readonly maxValueBytes: number;
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  readonly #values = new Map<string, Held>();
  readonly #locks = new Map<string, Held>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #since: number;

  constructor(limits: Limits, clock: Clock) {
    this.#maxEntries = limits.maxEntries;
    this.maxValueBytes = limits.maxValueBytes;
    this.lockTtlMs = limits.lockTtlMs;
    this.lockWaitMs = limits.lockWaitMs;
    this.#clock = clock;
    this.#since = clock.now();
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#live(this.#values, key)?.value);
  }

  set(key: string, value: string, options: StoreSetOptions): Promise<void> {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.maxValueBytes) {
      return Promise.reject(new OptimizerError('ERR_STORE', `A value of ${bytes} bytes exceeds \`maxValueBytes\` (${this.maxValueBytes})`));
    }
    this.#values.delete(key);
    this.#values.set(key, { value, expiresAt: this.#clock.now() + options.ttlMs });
    for (const oldest of this.#values.keys()) {
      if (this.#values.size <= this.#maxEntries) break;
      this.#values.delete(oldest);
    }
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    const existed = this.#live(this.#values, key) !== undefined;
    this.#values.delete(key);
    return Promise.resolve(existed);
  }

  clear(): Promise<void> {
    this.#values.clear();
    return Promise.resolve();
  }

  health(): StoreHealth {
    return { ok: true, lastError: undefined, since: this.#since };
  }

  acquire(key: string, options: StoreLockOptions): Promise<string | undefined> {
    if (this.#live(this.#locks, key) !== undefined) return Promise.resolve(undefined);
    const token = randomUUID();
    this.#locks.set(key, { value: token, expiresAt: this.#clock.now() + options.ttlMs });
    return Promise.resolve(token);
  }

  release(key: string, token: string): Promise<void> {
    if (this.#locks.get(key)?.value === token) {
      this.#locks.delete(key);
      for (const wake of this.#waiters.get(key) ?? []) wake();
    }
    return Promise.resolve();
  }

  waitFor(key: string, options: StoreWaitOptions): Promise<boolean> {
    const { signal, timeoutMs } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const lock = this.#live(this.#locks, key);
    if (lock === undefined) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      const waiters = this.#waiters.get(key) ?? new Set<() => void>();
      this.#waiters.set(key, waiters);
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        outcome();
      };
      const wake = (): void => finish(() => resolve(true));
      const onAbort = (): void => finish(() => reject(signal?.reason));
      // The lock may also simply expire (its holder gave up without releasing): wake then and check.
      const expiresInMs = Math.max(0, lock.expiresAt - this.#clock.now());
      const timer = setTimeout(() => finish(() => resolve(this.#live(this.#locks, key) === undefined)), Math.min(timeoutMs, expiresInMs));
      waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #live(map: Map<string, Held>, key: string): Held | undefined {
    const held = map.get(key);
    if (held === undefined) return undefined;
    if (this.#clock.now() < held.expiresAt) return held;
    map.delete(key);
    return undefined;
  }
}
