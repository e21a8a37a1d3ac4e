/**
 * The contract of a shared cache store (L2): a string key-value store with TTLs, plus optional
 * methods that let several processes coalesce identical misses (cross-instance single-flight).
 *
 * Values are opaque strings: the engine serializes each answer into a versioned envelope before it
 * calls `set`, and validates the envelope after `get`, so a store never needs to understand values.
 * A store must accept any well-formed Unicode string (NUL, control characters, astral characters).
 */
export interface CacheStore {
  /** Short name used in `store-error` events and warnings (e.g. `'redis'`). */
  readonly name: string;
  /**
   * Deadline the engine gives every call of this store, in ms (plus 20 ms of grace, so a store
   * enforcing this deadline itself reports first); past it the call counts as a miss (or a skipped
   * write) and a `store-error` event is emitted. @default 1000
   */
  readonly timeoutMs?: number;
  /** Largest serialized value (UTF-8 bytes) the engine writes; larger answers are served but not stored. @default Infinity */
  readonly maxValueBytes?: number;
  /** Time to live the engine asks for when it takes a coordination lock, in ms. @default 30_000 */
  readonly lockTtlMs?: number;
  /**
   * Longest time one computation waits for another instance's lock before running `exec` itself,
   * in ms (its own `signal` still ends the wait earlier). @default 60_000
   */
  readonly lockWaitMs?: number;
  /**
   * Longest time, in ms, an entry shared with this store lives in an engine's in-process cache (its
   * TTL there is capped to it; the next lookup after it reads the store again). It bounds how long
   * a replica that missed an invalidation message (see `onInvalidation`) can serve a deleted answer.
   * @default Infinity
   */
  readonly maxStaleMs?: number;

  /** The value, or `undefined` when absent or expired. */
  get(key: string, options?: StoreGetOptions): Promise<string | undefined>;
  /**
   * Optional: the value with the time it has left in the store, in ms (`undefined` when it does not
   * expire), or `undefined` when absent. When a store has it, the engine reads through it and keeps a
   * promoted entry in memory no longer than the store keeps it: the expiry inside the entry comes
   * from the writer's clock, which may be hours off.
   */
  getWithTtl?(key: string, options?: StoreGetOptions): Promise<StoreRead | undefined>;
  /** Stores a value for `ttlMs` ms, replacing any previous one. */
  set(key: string, value: string, options: StoreSetOptions): Promise<void>;
  /** Removes a value; true when there was one. */
  delete(key: string): Promise<boolean>;
  /** Removes every value of this store (and only of this store: a Redis store clears its own prefix). */
  clear(): Promise<void>;
  /**
   * Releases connections and timers the store created (never a connection it was given).
   * `engine.close()` calls it once no other open engine uses this store; it is bounded and fails open.
   */
  close?(): Promise<void>;
  /**
   * Settles once the store can serve (resolves) or knows it cannot (rejects), within a bound of its
   * own. The engine calls it when it is created and holds its store operations until it settles, each
   * within its own deadline (`timeoutMs`): a store that gets ready in time is shared from the first
   * call; once one operation has waited its whole deadline, the next ones skip the store at once
   * until it settles (at most 10 s). A rejection only ends the hold: the operations then run, and
   * fail open, as usual.
   */
  ready?(): Promise<void>;
  /**
   * Optional: removes the values `command` names from the store and tells every engine listening
   * through `onInvalidation` (in this process and in others) to drop them from its in-process cache.
   * Resolves with the number of values removed from the store. Messages carry keys and commands,
   * never values.
   */
  invalidate?(command: InvalidationCommand): Promise<number>;
  /**
   * Optional: listens for invalidations issued through any store of the same namespace (other
   * replicas included). `gap()` is called when invalidations may have been missed (the channel was
   * down and is back): the engine then drops every in-process entry shared with the store. Returns
   * a function that stops listening.
   */
  onInvalidation?(listener: InvalidationListener): () => void;
  /** Whether the store currently works; read by health endpoints. */
  health?(): StoreHealth;

  /**
   * Takes the lock of `key` for `ttlMs` ms unless another holder has it: a token when this caller
   * now holds it, `undefined` when someone else does. A store may keep a held lock alive (renew it)
   * until `release`, so that a long computation does not lose it; a holder that dies stops renewing
   * and the lock expires. Implement `acquire`, `release` and `waitFor` together, or none of them.
   */
  acquire?(key: string, options: StoreLockOptions): Promise<string | undefined>;
  /** Releases the lock of `key` if `token` still holds it, and wakes the callers waiting on it. */
  release?(key: string, token: string): Promise<void>;
  /**
   * Waits until the lock of `key` is free (released or expired): `true` when it is, `false` when
   * `timeoutMs` passed first. Rejects with the signal's reason when `signal` aborts.
   */
  waitFor?(key: string, options: StoreWaitOptions): Promise<boolean>;
}

/**
 * What to invalidate: exact entries by key, or every entry matching all the given fields (an entry
 * of that scope, of that model, carrying that tag). A match with no field matches every entry.
 */
export type InvalidationCommand =
  | { readonly type: 'keys'; readonly keys: readonly string[] }
  | { readonly type: 'match'; readonly scope?: string; readonly model?: string; readonly tag?: string };

/** Receives invalidations from {@link CacheStore.onInvalidation}. */
export interface InvalidationListener {
  command(command: InvalidationCommand): void;
  gap(): void;
}

/** Options of {@link CacheStore.get}. */
export interface StoreGetOptions {
  /** Abandons the read. */
  signal?: AbortSignal;
}

/** What {@link CacheStore.getWithTtl} returns. */
export interface StoreRead {
  value: string;
  /** Time left before the store expires the value, in ms; `undefined` when it does not expire. */
  ttlMs: number | undefined;
}

/** Options of {@link CacheStore.set}. */
export interface StoreSetOptions {
  /** Time to live, in ms (positive). */
  ttlMs: number;
  /** The entry's model and tags, for stores that index them to invalidate by model or tag (`invalidate`). */
  index?: { readonly scope: string; readonly model: string; readonly tags: readonly string[] };
}

/** Options of {@link CacheStore.acquire}. */
export interface StoreLockOptions {
  /** How long the lock lives unless renewed or released, in ms. */
  ttlMs: number;
}

/** Options of {@link CacheStore.waitFor}. */
export interface StoreWaitOptions {
  /** Ends the wait with the signal's reason. */
  signal?: AbortSignal;
  /** Longest wait, in ms. */
  timeoutMs: number;
}

/** What a store says about itself: `/health` shows the store as degraded while `ok` is false. */
export interface StoreHealth {
  /** False since the last operation failed, until one succeeds again. */
  ok: boolean;
  /** Message of the last failure, if any (never contains credentials). */
  lastError: string | undefined;
  /** When `ok` last changed, by the store's clock (epoch ms with the default clock). */
  since: number;
}

/** True when a value has the methods of a {@link CacheStore}. */
export function isCacheStore(value: unknown): value is CacheStore {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return typeof s.name === 'string' && ['get', 'set', 'delete', 'clear'].every((m) => typeof s[m] === 'function');
}

/** True when the store implements the three coordination methods. */
export function canCoordinate(store: CacheStore): store is CacheStore & Required<Pick<CacheStore, 'acquire' | 'release' | 'waitFor'>> {
  return typeof store.acquire === 'function' && typeof store.release === 'function' && typeof store.waitFor === 'function';
}
