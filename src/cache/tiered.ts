import { OptimizerError } from '../errors.js';
import type { EventHub, Logger } from '../events.js';
import type { HealthCheck } from '../health.js';
import { canCoordinate, type CacheStore } from '../stores/cache-store.js';
import type { RequestIdentity } from './cache-key.js';
import { parseEnvelope, serializeEnvelope, type Envelope } from './envelope.js';
import type { CacheInternals } from './response-cache.js';
import { raceSignal } from '../internal/abort.js';

/** What the engine hands over when an answer should also go to the store. */
export interface StoreWrite {
  ttlMs: number;
  execMs: number;
  tokens: number;
}

/** One warning per operation per this many ms: a dead store must not flood the log. */
const WARN_EVERY_MS = 10_000;
/** Rounds of acquire → wait → read one computation makes before giving up on coordination. */
const MAX_ROUNDS = 100;
/**
 * Added to the store's `timeoutMs` for the engine's own deadline: a store that enforces its own
 * deadline (the Redis store does) then reports first and notes the failure (opening its breaker)
 * before the call moves on to its next store command.
 */
const GRACE_MS = 20;
/** Fire-and-forget writes in flight at once; beyond it answers are not written (a slow store must not pile them up). */
const MAX_PENDING_WRITES = 1000;
/** Longest hold of store operations for `store.ready()`, whatever the store's own bound. */
const MAX_READY_HOLD_MS = 10_000;
/** Added to the store's deadline for its `close()` (a store may flush or end connections). */
const CLOSE_EXTRA_MS = 5000;

/** Open engines using each store: `engine.close()` closes a store once no other open engine uses it. */
const storeUsers = new WeakMap<CacheStore, number>();

/**
 * The shared store (L2) behind the in-process cache (L1). Every store call is bounded by the
 * store's `timeoutMs` and fails open: an error or a timeout becomes a `store-error` event and a
 * (rate-limited) warning, and the call proceeds as a miss. Reads of one key in flight are shared.
 * With a coordinating store, a computation first takes the key's lock, so that N processes missing
 * the same key at once make one model call; the others wait for the lock and read the answer.
 */
export class StoreTier {
  readonly store: CacheStore;
  readonly #internals: CacheInternals;
  readonly #events: EventHub;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #maxValueBytes: number;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #reads = new Map<string, Promise<Envelope | undefined>>();
  readonly #writes = new Map<string, Promise<void>>();
  readonly #warnedAt = new Map<string, number>();
  readonly #releases = new Set<Promise<unknown>>();
  /** Pending while the store's `ready()` has not settled: store operations wait for it. */
  #hold: Promise<void> | undefined;
  #closed = false;

  constructor(store: CacheStore, internals: CacheInternals, events: EventHub, logger: Logger) {
    this.store = store;
    this.#internals = internals;
    this.#events = events;
    this.#logger = logger;
    this.#timeoutMs = store.timeoutMs ?? 1000;
    this.#maxValueBytes = store.maxValueBytes ?? Number.POSITIVE_INFINITY;
    this.#lockTtlMs = store.lockTtlMs ?? 30_000;
    this.#lockWaitMs = store.lockWaitMs ?? 60_000;
    storeUsers.set(store, (storeUsers.get(store) ?? 0) + 1);
    if (typeof store.ready === 'function') this.#holdUntilReady(store.ready.bind(store));
  }

  /**
   * Closes the store once no other open engine uses it, after the writes and lock releases in
   * flight; bounded and fail-open (a failure is a `store-error` with operation `close`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const users = (storeUsers.get(this.store) ?? 1) - 1;
    storeUsers.set(this.store, users);
    await Promise.allSettled([...this.#writes.values(), ...this.#releases]);
    const { store } = this;
    if (users > 0 || typeof store.close !== 'function') return;
    await this.#attempt('close', () => store.close?.() ?? Promise.resolve(), undefined, undefined, CLOSE_EXTRA_MS);
  }

  /** Reads `key` from the store and promotes a valid entry to L1; `undefined` on a miss or any failure. */
  read(key: string, id: RequestIdentity, fp: number, signal: AbortSignal | undefined): Promise<Envelope | undefined> {
    let read = this.#reads.get(key);
    if (read === undefined) {
      read = this.#load(key, id, fp).finally(() => this.#reads.delete(key));
      this.#reads.set(key, read);
    }
    return signal === undefined ? read : raceSignal(read, signal);
  }

  /**
   * Runs `run` under the store's lock of `key` when the store coordinates; otherwise runs it at once.
   * Resolves with the answer `run` produced here, or the one another instance stored while we waited
   * (then `answered` is called with its entry first: the call was coalesced across instances).
   */
  async compute<T>(key: string, id: RequestIdentity, fp: number, signal: AbortSignal, run: () => Promise<T>, answered?: (found: Envelope) => void): Promise<T> {
    const { store } = this;
    if (!canCoordinate(store)) return run();
    const deadline = this.#internals.clock.now() + this.#lockWaitMs;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const token = await this.#attempt('acquire', () => store.acquire(key, { ttlMs: this.#lockTtlMs }), signal, null);
      if (token === null) return run();
      if (token !== undefined) return this.#own(key, id, fp, token, run, answered);
      const remaining = deadline - this.#internals.clock.now();
      if (remaining <= 0) break;
      const waitMs = Math.min(remaining, this.#lockTtlMs);
      const freed = await this.#attempt('wait', () => store.waitFor(key, { signal, timeoutMs: waitMs }), signal, null, waitMs);
      if (freed === null) break;
      const found = await this.read(key, id, fp, signal);
      if (found !== undefined) {
        answered?.(found);
        return found.value as T;
      }
    }
    return run();
  }

  /** The store as a source of `engine.health()`: degraded while its own `health()` says it is not ok. */
  healthCheck(): HealthCheck {
    const health = this.store.health?.();
    if (health === undefined || health.ok) return { status: 'ok' };
    return { status: 'degraded', reason: `${this.store.name} store unavailable: ${health.lastError ?? 'unknown error'}` };
  }

  /** Writes an answer to the store, fire-and-forget; non-serializable or oversized answers are skipped. */
  write(key: string, value: unknown, meta: StoreWrite): void {
    const now = this.#internals.clock.now();
    let text: string;
    try {
      text = serializeEnvelope({ key, value, createdAt: now, expiresAt: now + meta.ttlMs, execMs: meta.execMs, tokens: meta.tokens });
    } catch (error) {
      this.#report('set', error);
      return;
    }
    if (this.#maxValueBytes !== Number.POSITIVE_INFINITY && Buffer.byteLength(text, 'utf8') > this.#maxValueBytes) return;
    if (this.#writes.size >= MAX_PENDING_WRITES) {
      this.#report('set', new OptimizerError('ERR_STORE', `Store '${this.store.name}' has ${MAX_PENDING_WRITES} writes in flight; this answer was not written`));
      return;
    }
    const ttlMs = Math.max(1, Math.ceil(meta.ttlMs));
    const write = this.#attempt('set', () => this.store.set(key, text, { ttlMs }), undefined, undefined).then(() => undefined);
    this.#writes.set(key, write);
    void write.finally(() => {
      if (this.#writes.get(key) === write) this.#writes.delete(key);
    });
  }

  async #own<T>(key: string, id: RequestIdentity, fp: number, token: string, run: () => Promise<T>, answered?: (found: Envelope) => void): Promise<T> {
    try {
      // Another instance may have stored the answer between our read and our lock.
      const found = await this.#load(key, id, fp);
      if (found !== undefined) {
        answered?.(found);
        return found.value as T;
      }
      const value = await run();
      // Waiters read the store as soon as the lock is released: the answer must be there first.
      await this.#writes.get(key);
      return value;
    } finally {
      const release = this.#attempt('release', () => this.store.release?.(key, token) ?? Promise.resolve(), undefined, undefined);
      this.#releases.add(release);
      void release.finally(() => this.#releases.delete(release));
    }
  }

  #holdUntilReady(ready: () => Promise<void>): void {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, MAX_READY_HOLD_MS);
    });
    // A rejection is not reported here: the operations that follow report the store's failure.
    const settled = Promise.resolve().then(ready).then(() => undefined, () => undefined);
    const hold = Promise.race([settled, bound]).finally(() => {
      clearTimeout(timer);
      if (this.#hold === hold) this.#hold = undefined;
    });
    this.#hold = hold;
  }

  async #load(key: string, id: RequestIdentity, fp: number): Promise<Envelope | undefined> {
    const text = await this.#attempt('get', () => this.store.get(key), undefined, undefined);
    if (text === undefined) return undefined;
    let envelope: Envelope | undefined;
    try {
      if (typeof text !== 'string') throw new OptimizerError('ERR_SERIALIZATION', `Store '${this.store.name}' returned a ${typeof text}, not a string`);
      envelope = parseEnvelope(text, key);
    } catch (error) {
      this.#report('get', error);
      void this.#attempt('delete', () => this.store.delete(key), undefined, undefined);
      return undefined;
    }
    // Another format version (a rolling deploy): a miss, left in place for the instances that read it.
    if (envelope === undefined) return undefined;
    const remaining = envelope.expiresAt - this.#internals.clock.now();
    if (remaining <= 0) return undefined;
    this.#internals.write(id, fp, envelope.value, { ttlMs: remaining, execMs: envelope.execMs, tokens: envelope.tokens, key });
    return envelope;
  }

  /**
   * Runs one store operation within the deadline; an error or a timeout is reported and answered
   * with `fallback`. An abort of `signal` is not a store failure: it rejects with the signal's reason.
   */
  async #attempt<T, F>(operation: string, op: () => Promise<T>, signal: AbortSignal | undefined, fallback: F, extraMs = 0): Promise<T | F> {
    const timeoutMs = this.#timeoutMs + GRACE_MS + extraMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      // Waiting for a store still connecting is not part of the operation's deadline.
      if (this.#hold !== undefined) await (signal === undefined ? this.#hold : raceSignal(this.#hold, signal));
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OptimizerError('ERR_TIMEOUT', `Store '${this.store.name}' did not answer \`${operation}\` within ${timeoutMs} ms`)), timeoutMs);
      });
      const pending = Promise.resolve().then(op);
      pending.catch(() => undefined);
      return await Promise.race([pending, deadline]);
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      this.#report(operation, error);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }

  #report(operation: string, error: unknown): void {
    // After close(), a store that refuses work because it is closed is expected, not a failure.
    if (this.#closed && (error as { code?: unknown } | null)?.code === 'ERR_CLOSED') return;
    const { name } = this.store;
    if (this.#events.has('store-error')) this.#events.emit('store-error', { store: name, operation, error });
    const now = this.#internals.clock.now();
    const last = this.#warnedAt.get(operation);
    if (last === undefined || now - last >= WARN_EVERY_MS) {
      this.#warnedAt.set(operation, now);
      this.#logger.warn(`Store '${name}' failed to ${operation}; the call went on without it`, error);
    }
  }
}
