import { traceStore } from '../tracing/channels.js';
import { OptimizerError } from '../errors.js';
import type { EventHub, Logger } from '../events.js';
import type { HealthCheck } from '../health.js';
import { canCoordinate, type CacheStore, type InvalidationCommand } from '../stores/cache-store.js';
import type { RequestIdentity } from './cache-key.js';
import { MAX_EXEC_MS, MAX_STORE_TTL_MS, MAX_TOKENS, parseEnvelope, serializeEnvelope, type Envelope } from './envelope.js';
import type { CacheInternals } from './response-cache.js';
import { raceSignal } from '../internal/abort.js';
import { describe } from '../internal/validate.js';

/** What the engine hands over when an answer should also go to the store. */
export interface StoreWrite {
  ttlMs: number;
  execMs: number;
  tokens: number;
  /** Indexed by stores that invalidate by scope, model or tag. */
  scope: string;
  model: string;
  tags: readonly string[] | undefined;
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
/** Longest time store operations skip a store whose `ready()` has not settled, whatever the store's own bound. */
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
  /** Longest in-process life of an entry shared with the store (`store.maxStaleMs`). */
  readonly maxStaleMs: number;
  readonly #unlisten: (() => void) | undefined;
  /** Pending while the store's `ready()` has not settled: store operations wait for it. */
  #hold: Promise<void> | undefined;
  /** Bounds the hold; cleared when the hold ends or the tier closes (a closed engine keeps no process alive). */
  #holdTimer: NodeJS.Timeout | undefined;
  /** Set when an operation waited its whole deadline for the hold: the others skip the store until it ends. */
  #skipUntilReady = false;
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
    const maxStaleMs = store.maxStaleMs;
    this.maxStaleMs = typeof maxStaleMs === 'number' && maxStaleMs > 0 ? maxStaleMs : Number.POSITIVE_INFINITY;
    storeUsers.set(store, (storeUsers.get(store) ?? 0) + 1);
    if (typeof store.ready === 'function') this.#holdUntilReady(store.ready.bind(store));
    this.#unlisten = this.#listen();
  }

  /**
   * Removes what `command` names from the store and, through it, from every replica's in-process
   * cache. Resolves with the number of values removed from the store, or `undefined` when unknown
   * (a failure, reported as a `store-error`; a store without `invalidate`, which gets plain deletes
   * for keys, `clear()` for everything, and nothing for a match it cannot run).
   */
  async invalidate(command: InvalidationCommand): Promise<number | undefined> {
    const { store } = this;
    if (typeof store.invalidate === 'function') return this.#attempt('invalidate', () => store.invalidate?.(command) ?? Promise.resolve(0), undefined, undefined);
    if (command.type === 'keys') {
      const deleted = await Promise.all(command.keys.map((key) => this.#attempt('delete', () => store.delete(key), undefined, false)));
      return deleted.filter(Boolean).length;
    }
    if (command.scope !== undefined || command.model !== undefined || command.tag !== undefined) return undefined;
    // Cleared or not, `clear()` does not count.
    await this.#attempt('clear', () => store.clear(), undefined, undefined);
    return undefined;
  }

  /** Invalidations from other replicas (and other engines on this store) reach the in-process cache. */
  #listen(): (() => void) | undefined {
    const { store } = this;
    if (typeof store.onInvalidation !== 'function') return undefined;
    const apply = (origin: 'remote' | 'resubscribe', command: InvalidationCommand): void => {
      try {
        const removed = this.#internals.invalidate(command);
        if (this.#events.has('cache-invalidate')) this.#events.emit('cache-invalidate', { origin, command, removed });
      } catch (error) {
        this.#report('invalidate', error);
      }
    };
    try {
      return store.onInvalidation({
        command: (command) => apply('remote', command),
        // Messages may have been missed: nothing shared with the store is trusted any more.
        gap: () => apply('resubscribe', { type: 'match' }),
      });
    } catch (error) {
      this.#report('subscribe', error);
      return undefined;
    }
  }

  /**
   * Closes the store once no other open engine uses it, after the writes and lock releases in
   * flight; bounded and fail-open (a failure is a `store-error` with operation `close`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten?.();
    const users = (storeUsers.get(this.store) ?? 1) - 1;
    storeUsers.set(this.store, users);
    await Promise.allSettled([...this.#writes.values(), ...this.#releases]);
    // A store still connecting is closed too (its connection would otherwise keep the process alive):
    // the close does not wait for, nor skip because of, a `ready()` that has not settled.
    this.#endHold();
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
  async compute<T>(
    key: string, id: RequestIdentity, fp: number, signal: AbortSignal, run: () => Promise<T>, answered?: (found: Envelope) => void,
    /** Whether an answer found in the store will do (a refresh ahead of expiry wants a newer one). */
    accept: (found: Envelope) => boolean = () => true,
  ): Promise<T> {
    const { store } = this;
    if (!canCoordinate(store)) return run();
    const deadline = this.#internals.clock.now() + this.#lockWaitMs;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const token = await this.#attempt('acquire', () => store.acquire(key, { ttlMs: this.#lockTtlMs }), signal, null);
      if (token === null) return run();
      if (token !== undefined) return this.#own(key, id, fp, token, run, answered, accept);
      const remaining = deadline - this.#internals.clock.now();
      if (remaining <= 0) break;
      const waitMs = Math.min(remaining, this.#lockTtlMs);
      const freed = await this.#attempt('wait', () => store.waitFor(key, { signal, timeoutMs: waitMs }), signal, null, waitMs);
      if (freed === null) break;
      const found = await this.read(key, id, fp, signal);
      if (found !== undefined && accept(found)) {
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
    return { status: 'degraded', reason: `${this.store.name} store unavailable: ${causeOf(health.lastError)}` };
  }

  /** Writes an answer to the store, fire-and-forget; non-serializable or oversized answers are skipped. */
  write(key: string, value: unknown, meta: StoreWrite): void {
    const now = this.#internals.clock.now();
    const ttlMs = Math.max(1, Math.ceil(Math.min(meta.ttlMs, MAX_STORE_TTL_MS)));
    let text: string;
    try {
      // Readers refuse counters out of range: a clock jump back must not make a negative exec time unreadable.
      const execMs = Math.min(Math.max(0, meta.execMs), MAX_EXEC_MS);
      const tokens = Math.min(Math.max(0, meta.tokens), MAX_TOKENS);
      const tags = meta.tags;
      text = serializeEnvelope({ key, value, createdAt: now, expiresAt: now + ttlMs, execMs, tokens, ...(tags === undefined ? {} : { tags }) });
    } catch (error) {
      this.#report('set', error);
      return;
    }
    if (this.#maxValueBytes !== Number.POSITIVE_INFINITY && Buffer.byteLength(text, 'utf8') > this.#maxValueBytes) return;
    if (this.#writes.size >= MAX_PENDING_WRITES) {
      this.#report('set', new OptimizerError('ERR_STORE', `Store '${this.store.name}' has ${MAX_PENDING_WRITES} writes in flight; this answer was not written`));
      return;
    }
    const index = { scope: meta.scope, model: meta.model, tags: meta.tags ?? [] };
    const write = this.#attempt('set', () => this.store.set(key, text, { ttlMs, index }), undefined, undefined).then(() => undefined);
    this.#writes.set(key, write);
    void write.finally(() => {
      if (this.#writes.get(key) === write) this.#writes.delete(key);
    });
  }

  async #own<T>(key: string, id: RequestIdentity, fp: number, token: string, run: () => Promise<T>, answered: ((found: Envelope) => void) | undefined, accept: (found: Envelope) => boolean): Promise<T> {
    try {
      // Another instance may have stored the answer between our read and our lock.
      const found = await this.#load(key, id, fp);
      if (found !== undefined && accept(found)) {
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
    const bound = new Promise<void>((resolve) => {
      this.#holdTimer = setTimeout(resolve, MAX_READY_HOLD_MS);
    });
    // A rejection is not reported here: the operations that follow report the store's failure.
    const settled = Promise.resolve().then(ready).then(() => undefined, () => undefined);
    const hold = Promise.race([settled, bound]).finally(() => {
      if (this.#hold === hold) this.#endHold();
    });
    this.#hold = hold;
  }

  #endHold(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#hold = undefined;
    this.#skipUntilReady = false;
  }

  async #load(key: string, id: RequestIdentity, fp: number): Promise<Envelope | undefined> {
    const { store } = this;
    const get = (): Promise<unknown> => (typeof store.getWithTtl === 'function' ? store.getWithTtl(key) : store.get(key));
    const read = await this.#attempt('get', get, undefined, undefined);
    if (read === undefined) return undefined;
    let envelope: Envelope | undefined;
    let storeTtlMs: number | undefined;
    try {
      const { text, ttlMs } = storeRead(store.name, read);
      envelope = parseEnvelope(text, key);
      storeTtlMs = ttlMs;
    } catch (error) {
      this.#report('get', error);
      void this.#attempt('delete', () => store.delete(key), undefined, undefined);
      return undefined;
    }
    // Another format version (a rolling deploy): a miss, left in place for the instances that read it.
    if (envelope === undefined) return undefined;
    const remaining = this.#lifetimeMs(envelope, storeTtlMs);
    if (!(remaining > 0)) return undefined;
    this.#internals.write(id, fp, envelope.value, {
      ttlMs: Math.min(remaining, this.maxStaleMs), execMs: envelope.execMs, tokens: envelope.tokens, key, tags: envelope.tags,
    });
    return envelope;
  }

  /**
   * How long a promoted entry may live in memory. The times inside an entry come from its writer's
   * clock, which may be hours off ours: the entry lives no longer than the writer's own TTL
   * (`expiresAt - createdAt`, whatever the clock), than this cache's TTL, and than the store keeps
   * it (its remaining TTL, when the store says; then the writer's expiry time is not used at all,
   * so a writer behind us does not make fresh entries read as expired).
   */
  #lifetimeMs(envelope: Envelope, storeTtlMs: number | undefined): number {
    const left = storeTtlMs ?? envelope.expiresAt - this.#internals.clock.now();
    return Math.min(left, envelope.expiresAt - envelope.createdAt, this.#internals.ttlMs());
  }

  /**
   * Runs one store operation within the deadline; an error or a timeout is reported and answered
   * with `fallback`. An abort of `signal` is not a store failure: it rejects with the signal's reason.
   * Waiting for a store that is not ready yet counts within the deadline: no call waits longer than
   * the store's `timeoutMs` for it, start-up included. Once an operation has waited its whole
   * deadline for `ready()`, the next ones skip the store at once until it settles.
   */
  async #attempt<T, F>(operation: string, op: () => Promise<T>, signal: AbortSignal | undefined, fallback: F, extraMs = 0): Promise<T | F> {
    const timeoutMs = this.#timeoutMs + GRACE_MS + extraMs;
    let timer: NodeJS.Timeout | undefined;
    let holding = false;
    try {
      // Not unref'd: the caller's call waits on it.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(holding ? this.#notReady(operation, timeoutMs) : this.#timedOut(operation, timeoutMs)), timeoutMs);
      });
      deadline.catch(() => undefined);
      const hold = this.#hold;
      if (hold !== undefined) {
        if (this.#skipUntilReady) throw new OptimizerError('ERR_STORE', `Store '${this.store.name}' skipped \`${operation}\`: it is not ready yet`);
        holding = true;
        await Promise.race([signal === undefined ? hold : raceSignal(hold, signal), deadline]);
        holding = false;
      }
      const pending = Promise.resolve().then(() => traceStore(this.store.name, operation, op));
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

  #timedOut(operation: string, timeoutMs: number): OptimizerError {
    return new OptimizerError('ERR_TIMEOUT', `Store '${this.store.name}' did not answer \`${operation}\` within ${timeoutMs} ms`);
  }

  #notReady(operation: string, timeoutMs: number): OptimizerError {
    if (this.#hold !== undefined) this.#skipUntilReady = true;
    return new OptimizerError('ERR_TIMEOUT', `Store '${this.store.name}' was not ready for \`${operation}\` within ${timeoutMs} ms; calls go on without it until it is`);
  }

  #report(operation: string, error: unknown): void {
    // After close(), a store that refuses work because it is closed is expected, not a failure.
    if (this.#closed && (error as { code?: unknown } | null)?.code === 'ERR_CLOSED') return;
    const { name } = this.store;
    if (this.#events.has('store-error')) this.#events.emit('store-error', { store: name, operation, error });
    const now = this.#internals.clock.now();
    const last = this.#warnedAt.get(operation);
    if (last === undefined || now < last || now - last >= WARN_EVERY_MS) {
      this.#warnedAt.set(operation, now);
      this.#logger.warn(`Store '${name}' failed to ${operation}; the call went on without it`, error);
    }
  }
}

/** What `get` (a string) or `getWithTtl` (`{ value, ttlMs }`) answered, checked: a store is outside data too. */
function storeRead(name: string, read: unknown): { text: string; ttlMs: number | undefined } {
  const pair = typeof read === 'object' && read !== null;
  const text: unknown = pair ? (read as { value?: unknown }).value : read;
  const ttlMs: unknown = pair ? (read as { ttlMs?: unknown }).ttlMs : undefined;
  if (typeof text !== 'string') throw new OptimizerError('ERR_SERIALIZATION', `Store '${name}' returned a ${describe(text)}, not a string`);
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || Number.isNaN(ttlMs))) {
    throw new OptimizerError('ERR_SERIALIZATION', `Store '${name}' returned a TTL of ${describe(ttlMs)}, not a number of ms`);
  }
  return { text, ttlMs };
}

/**
 * What `/health` may say about a failing store: one of a fixed list of causes, never the store's own
 * message, which names the server's host and port (`connect ECONNREFUSED 10.0.0.5:6379`) and is
 * served to whoever can read `/health`. The message itself stays in `store.health().lastError` and
 * in `store-error` events.
 */
const CAUSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/ECONNREFUSED|connection refused/i, 'connection refused'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo/i, 'host not found'],
  [/NOAUTH|WRONGPASS|NOPERM|auth/i, 'authentication failed'],
  [/ETIMEDOUT|timed? ?out|did not (connect|answer) within/i, 'timed out'],
  [/ECONNRESET|EPIPE|closed|ended|disconnect/i, 'connection lost'],
];

function causeOf(lastError: string | undefined): string {
  if (lastError === undefined) return 'unknown error';
  return CAUSES.find(([pattern]) => pattern.test(lastError))?.[1] ?? 'its last operation failed';
}
