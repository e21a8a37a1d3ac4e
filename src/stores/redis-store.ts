import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import { clockOption, describe, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type {
  CacheStore, InvalidationCommand, InvalidationListener, StoreGetOptions, StoreHealth, StoreRead, StoreLockOptions, StoreSetOptions, StoreWaitOptions,
} from './cache-store.js';
import { commandProblem, MAX_MESSAGE_KEYS, parseInvalidation, serializeInvalidation } from './invalidation-message.js';
import { chunk, indexedSet, removeNamed } from './redis-indexes.js';
import { adaptClient, openUrl, type OwnedConnection, type RedisClientLike, type RedisConnection, type Subscription } from './redis-client.js';
import { RedisGuard } from './redis-guard.js';
import { waitForLockRelease } from './redis-lock-wait.js';

/** Options of {@link createRedisStore}. Give `client` or `url`, not both. */
export interface RedisStoreOptions {
  /**
   * Your connected node-redis or ioredis client. **You own it: the store never closes it**;
   * `store.close()` (which `engine.close()` calls) ends only the subscriber connection the store
   * opened itself (a `duplicate()` of your client, for cross-instance waits), so after
   * `engine.close()` your `client.quit()` lets the process exit. Attach your own `'error'`
   * listener, and prefer `disableOfflineQueue: true` (node-redis) or `enableOfflineQueue: false`
   * (ioredis): the store's deadline bounds each command either way.
   */
  client?: RedisClientLike;
  /**
   * A Redis URL (`redis://[:password@]host:port[/db]`); the store then loads `redis` (node-redis)
   * and connects at once, when it is created. **The store owns that client**: `store.close()` (and so
   * `engine.close()`) ends it. Until the first connection is made, a command waits for it within its
   * own `timeoutMs` (then the call goes on without the store); `await store.ready()` at startup to
   * wait for it (up to `connectTimeoutMs`) and to know it is up.
   */
  url?: string;
  /**
   * Namespace of every key (`prefix::v1:[scope:]sha256`; locks `prefix::lock:…`). Required: two
   * applications sharing one Redis must use different prefixes; `clear()` deletes this prefix only,
   * even when another one starts with it (`app` and `app:staging`). Must not contain `*?[]\` or
   * `::`, nor end with `:` (then no prefix's keys can start like another's).
   */
  prefix: string;
  /**
   * Deadline of each Redis command, in ms, waiting for the first connection included: past it the
   * call goes on without the store. @default 200
   */
  timeoutMs?: number;
  /**
   * Url mode: longest wait for the first connection (loading `redis` and connecting), in ms, counted
   * from creation: `ready()` waits this long. Commands sent meanwhile wait for the connection within
   * their own `timeoutMs`, and once one has waited it out the next ones fail at once until the
   * connection is made (not an outage: `health()` stays ok). Past it, or at a connection error,
   * Redis counts as unavailable (and `ready()` rejects). Also node-redis's
   * `socket.connectTimeout`. Ignored with an injected `client`. @default 2000
   */
  connectTimeoutMs?: number;
  /** Largest value written or read, in UTF-8 bytes; the engine serves larger answers but does not store them. @default 1_048_576 */
  maxValueBytes?: number;
  /**
   * Life of a coordination lock, in ms. The holder renews it every third of this while it computes,
   * so a dead holder's lock expires within this time and a waiting instance takes over. @default 10_000
   */
  lockTtlMs?: number;
  /** Longest wait for another instance's computation before computing here too, in ms. @default 60_000 */
  lockWaitMs?: number;
  /**
   * After a failure, commands fail at once (no added latency) for this long, in ms; the next
   * command probes Redis and, if it answers, the store is healthy again. @default 1000
   */
  retryAfterMs?: number;
  /**
   * Longest time, in ms, an answer shared through this store stays in an engine's in-process cache
   * before the engine reads the store again. Invalidations (`engine.delete`, `invalidate`, `clear`)
   * reach every replica at once through a pub/sub channel; this bounds how long a replica that missed
   * one (its subscriber was disconnected: after a reconnect it drops everything shared anyway) can
   * serve a deleted answer. `Infinity` turns the bound off. @default 60_000
   */
  maxStaleMs?: number;
  /** Source of time for health and retries. @default a monotonic `Date.now()` */
  clock?: Clock;
}

/** A {@link CacheStore} on Redis, with health and cross-instance locks. */
export interface RedisStore extends CacheStore {
  readonly name: 'redis';
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly maxValueBytes: number;
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
  readonly connectTimeoutMs: number;
  readonly maxStaleMs: number;
  health(): StoreHealth;
  /**
   * Removes what `command` names (keys; or every value of a scope, a model, a tag, or all of them
   * given, through indexes kept at write time) and publishes the command on `prefix::invalidate`,
   * so every engine on this prefix drops it from its in-process cache. Resolves with the number of
   * values removed.
   */
  invalidate(command: InvalidationCommand): Promise<number>;
  onInvalidation(listener: InvalidationListener): () => void;
  getWithTtl(key: string, options?: StoreGetOptions): Promise<StoreRead | undefined>;
  /**
   * Resolves once the store is connected: in url mode when the first connection is made, at once
   * with an injected client (connecting it is yours). Rejects, with the reason, when that connection
   * failed or did not come within `connectTimeoutMs`, when Redis is currently down, or after
   * `close()`. A rejection does not disable the store: it keeps reconnecting and recovers by itself.
   */
  ready(): Promise<void>;
  acquire(key: string, options: StoreLockOptions): Promise<string | undefined>;
  release(key: string, token: string): Promise<void>;
  waitFor(key: string, options: StoreWaitOptions): Promise<boolean>;
  /**
   * Releases the locks this store holds, then ends the connections it created: the subscriber
   * connection and, in url mode, its client. An injected `client` is never closed. Idempotent;
   * `engine.close()` calls it.
   */
  close(): Promise<void>;
}

const KEYS = ['client', 'url', 'prefix', 'timeoutMs', 'connectTimeoutMs', 'maxValueBytes', 'lockTtlMs', 'lockWaitMs', 'retryAfterMs', 'maxStaleMs', 'clock'] as const;
const SCAN_COUNT = '500';
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); redis.call('PUBLISH', ARGV[2], ARGV[3]); return 1 end return 0";
/** After a failed subscription, the next attempt waits this long (waiters poll meanwhile). */
const RESUBSCRIBE_MS = 5000;
const GET_WITH_TTL = "local v = redis.call('GET', KEYS[1]) if not v then return nil end return {v, redis.call('PTTL', KEYS[1])}";
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/**
 * A shared cache on Redis: one cache for every replica of a service, and cross-instance coalescing
 * (N replicas missing the same key at once make one model call). Fail-open: while Redis is down,
 * slow or restarting, each command ends within `timeoutMs` (or at once, see `retryAfterMs`) and the
 * engine carries on without it; `health()` says so, and it recovers by itself.
 *
 * Ownership: the store closes what it created (its subscriber connection, and the client it made
 * from `url`), never a `client` you pass. `engine.close()` closes the store.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createRedisStore } from 'llm-optimization-engine/redis';
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * client.on('error', (error) => log.warn(error));
 * await client.connect();
 * const engine = new OptimizationEngine({ store: createRedisStore({ client, prefix: 'support-bot' }) });
 * // at shutdown: the engine closes the store (its subscriber), you close your client
 * await engine.close();
 * await client.quit();
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  knownKeys('options', plainObject('options', options), KEYS);
  const { client, url, prefix } = options;
  if ((client === undefined) === (url === undefined)) {
    throw new TypeError(`Give exactly one of \`client\` and \`url\`, received ${client === undefined ? 'neither' : 'both'}`);
  }
  if (url !== undefined && (typeof url !== 'string' || url === '')) throw new TypeError(`\`url\` must be a non-empty string, received ${describe(url)}`);
  if (typeof prefix !== 'string' || prefix === '' || /[*?[\]\\]|::|:$/.test(prefix)) {
    throw new TypeError(`\`prefix\` must be a non-empty string without *?[]\\ or \`::\`, not ending with \`:\`, received ${describe(prefix)}`);
  }
  return new RedisStoreImpl(options, client === undefined ? undefined : adaptClient(client));
}

class RedisStoreImpl implements RedisStore {
  readonly name = 'redis';
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly maxValueBytes: number;
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
  readonly connectTimeoutMs: number;
  readonly maxStaleMs: number;
  /** `prefix::`, the start of every key and channel of this store. */
  readonly #namespace: string;
  readonly #guard: RedisGuard;
  readonly #renewals = new Map<string, NodeJS.Timeout>();
  readonly #owned: OwnedConnection | undefined;
  readonly #connection: Promise<RedisConnection>;
  readonly #clock: Clock;
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #listeners = new Set<InvalidationListener>();
  /** Tells this store's own messages apart: its engines heard them already. */
  readonly #id = randomUUID();
  #subscription: Subscription | 'opening' | undefined;
  #subscribeAfter = 0;
  /** Set while no subscription is up after one failed or ended: the next one may have missed messages. */
  #missed = false;
  #resubscribeTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions, injected: RedisConnection | undefined) {
    this.prefix = options.prefix;
    this.#namespace = `${options.prefix}::`;
    this.timeoutMs = positiveNumber('timeoutMs', options.timeoutMs, 200);
    this.maxValueBytes = positiveInteger('maxValueBytes', options.maxValueBytes, 1_048_576);
    this.lockTtlMs = positiveInteger('lockTtlMs', options.lockTtlMs, 10_000);
    this.lockWaitMs = positiveNumber('lockWaitMs', options.lockWaitMs, 60_000);
    this.connectTimeoutMs = positiveNumber('connectTimeoutMs', options.connectTimeoutMs, 2000);
    const retryAfterMs = positiveNumber('retryAfterMs', options.retryAfterMs, 1000);
    this.maxStaleMs = options.maxStaleMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : positiveNumber('maxStaleMs', options.maxStaleMs, 60_000);
    const clock = clockOption('clock', options.clock) ?? systemClock;
    const guard = { timeoutMs: this.timeoutMs, retryAfterMs, clock };
    this.#clock = clock;
    if (injected === undefined) {
      // Loading `redis` and connecting start now, not at the first command.
      this.#owned = openUrl(options.url as string, this.connectTimeoutMs, (error) => this.#guard.noteFailure(error));
      this.#connection = this.#owned.ready;
      this.#guard = new RedisGuard(this.#connection, { ...guard, connectTimeoutMs: this.connectTimeoutMs });
    } else {
      this.#connection = Promise.resolve(injected);
      this.#guard = new RedisGuard(this.#connection, guard);
    }
  }

  ready(): Promise<void> {
    return this.#guard.ready();
  }

  async get(key: string, options?: StoreGetOptions): Promise<string | undefined> {
    const value = await this.#guard.run(['GET', this.#key(key)], options?.signal);
    if (typeof value !== 'string' || value.length > this.maxValueBytes) return undefined;
    return value;
  }

  /** The value and its remaining Redis TTL (`PTTL`), read atomically in one round trip. */
  async getWithTtl(key: string, options?: StoreGetOptions): Promise<StoreRead | undefined> {
    const reply = await this.#guard.run(['EVAL', GET_WITH_TTL, '1', this.#key(key)], options?.signal);
    if (!Array.isArray(reply)) return undefined;
    const [value, pttl] = reply as unknown[];
    if (typeof value !== 'string' || value.length > this.maxValueBytes) return undefined;
    const ms = Number(pttl);
    // PTTL is -1 for a key without expiry (not one the engine wrote, but possible), -2 when absent.
    return { value, ttlMs: ms === -1 ? undefined : ms };
  }

  async set(key: string, value: string, options: StoreSetOptions): Promise<void> {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.maxValueBytes) {
      throw new OptimizerError('ERR_STORE', `A value of ${bytes} bytes exceeds \`maxValueBytes\` (${this.maxValueBytes})`);
    }
    const ttlMs = String(Math.max(1, Math.ceil(options.ttlMs)));
    const index = options.index;
    if (index === undefined) {
      await this.#guard.run(['SET', this.#key(key), value, 'PX', ttlMs]);
      return;
    }
    await this.#guard.run(indexedSet(this.#namespace, key, value, ttlMs, index));
  }

  async invalidate(command: InvalidationCommand): Promise<number> {
    const problem = commandProblem(command);
    if (problem !== undefined) throw new TypeError(problem);
    const removed = await removeNamed((args) => this.#guard.run(args), this.#namespace, command);
    const messages = command.type === 'keys' ? chunk(command.keys, MAX_MESSAGE_KEYS).map((keys) => ({ type: 'keys' as const, keys })) : [command];
    for (const message of messages) await this.#guard.run(['PUBLISH', this.#invalidationChannel(), serializeInvalidation(this.#id, message)]);
    // Other engines of this process that share this store object: their messages are skipped as this store's own.
    for (const message of messages) this.#deliver(message);
    return removed;
  }

  onInvalidation(listener: InvalidationListener): () => void {
    this.#listeners.add(listener);
    this.#subscribe();
    return () => void this.#listeners.delete(listener);
  }

  #deliver(command: InvalidationCommand): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.command(command);
      } catch {
        // A listener is the engine's, which guards its own work; nothing to do here.
      }
    }
  }

  #received(text: string): void {
    const message = parseInvalidation(text);
    if (message === undefined || message.origin === this.#id) return;
    this.#deliver(message.command);
  }

  #gap(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.gap();
      } catch {
        // As in #deliver.
      }
    }
  }

  async delete(key: string): Promise<boolean> {
    return Number(await this.#guard.run(['UNLINK', this.#key(key)])) > 0;
  }

  /**
   * Deletes every key of this prefix (values and locks) with SCAN and UNLINK in batches. Other
   * prefixes are untouched: keys are `prefix::…` and a prefix holds no `::` and does not end with
   * `:`, so `prefix::*` matches no key of any other prefix (`app::*` does not match `app:staging::…`).
   */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const reply = await this.#guard.run(['SCAN', cursor, 'MATCH', `${this.#namespace}*`, 'COUNT', SCAN_COUNT]);
      const [next, keys] = reply as [string | number, string[]];
      cursor = String(next);
      if (keys.length > 0) await this.#guard.run(['UNLINK', ...keys]);
    } while (cursor !== '0');
  }

  health(): StoreHealth {
    return this.#guard.health();
  }

  async acquire(key: string, options: StoreLockOptions): Promise<string | undefined> {
    const token = randomUUID();
    const ttlMs = String(Math.max(1, Math.ceil(options.ttlMs)));
    const reply = await this.#guard.run(['SET', this.#lock(key), token, 'PX', ttlMs, 'NX']);
    if (reply !== 'OK') return undefined;
    this.#renew(key, token, ttlMs, Math.max(1, Math.floor(options.ttlMs / 3)));
    return token;
  }

  async release(key: string, token: string): Promise<void> {
    this.#stopRenewing(key, token);
    await this.#guard.run(['EVAL', RELEASE, '1', this.#lock(key), token, this.#channel(), key]);
  }

  /** Waits for the lock to go: woken by the release notification (pub/sub), polling as a fallback. */
  waitFor(key: string, options: StoreWaitOptions): Promise<boolean> {
    const isFree = (): Promise<boolean> => this.#guard.run(['EXISTS', this.#lock(key)]).then((n) => Number(n) === 0);
    return waitForLockRelease(isFree, options, (wake) => this.#listen(key, wake));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Locks still held (a computation cut short by engine.close()) are released so that other
    // instances waiting on them go on at once instead of after `lockTtlMs`.
    clearTimeout(this.#resubscribeTimer);
    this.#listeners.clear();
    const held = [...this.#renewals.keys()].map((id) => id.split('\n') as [string, string]);
    for (const timer of this.#renewals.values()) clearInterval(timer);
    this.#renewals.clear();
    await Promise.allSettled(held.map(([key, token]) => this.#guard.run(['EVAL', RELEASE, '1', this.#lock(key), token, this.#channel(), key])));
    this.#guard.close();
    if (typeof this.#subscription === 'object') this.#subscription.end();
    this.#owned?.end();
  }

  #listen(key: string, wake: () => void): () => void {
    this.#subscribe();
    const wakers = this.#wakers.get(key) ?? new Set<() => void>();
    this.#wakers.set(key, wakers);
    wakers.add(wake);
    return () => {
      wakers.delete(wake);
      if (wakers.size === 0 && this.#wakers.get(key) === wakers) this.#wakers.delete(key);
    };
  }

  /**
   * One subscriber connection per store, for lock releases and invalidations, opened at the first
   * wait or the first invalidation listener; after a failure, retried later (on its own, by an
   * unref'd timer, while invalidation listeners exist). When it comes back after a failure or an
   * end, or its client reconnects, invalidations may have been missed: listeners hear `gap()`.
   */
  #subscribe(): void {
    if (this.#subscription !== undefined || this.#closed) return;
    if (this.#clock.now() < this.#subscribeAfter) return this.#retrySubscribe();
    this.#subscription = 'opening';
    const lost = (): void => {
      this.#subscription = undefined;
      this.#missed = true;
      this.#subscribeAfter = this.#clock.now() + RESUBSCRIBE_MS;
      this.#retrySubscribe();
    };
    const onMessage = (channel: string, message: string): void => {
      if (channel !== this.#channel()) return this.#received(message);
      for (const wake of [...(this.#wakers.get(message) ?? [])]) wake();
    };
    this.#connection.then((connection) => {
      if (this.#closed) return;
      const subscription = connection.subscribe([this.#channel(), this.#invalidationChannel()], {
        message: onMessage,
        resubscribed: () => this.#subscription === subscription && this.#gap(),
        ended: () => {
          if (this.#subscription !== subscription) return;
          subscription.end();
          lost();
        },
      });
      this.#subscription = subscription;
      subscription.ready.then(() => {
        if (this.#subscription !== subscription || !this.#missed) return;
        this.#missed = false;
        this.#gap();
      }, () => {
        subscription.end();
        if (this.#subscription === subscription) lost();
      });
    }, lost);
  }

  #retrySubscribe(): void {
    if (this.#listeners.size === 0 || this.#resubscribeTimer !== undefined || this.#closed) return;
    const delay = Math.max(1, this.#subscribeAfter - this.#clock.now());
    // Unref'd: nothing a caller waits on; the bound on stale answers (`maxStaleMs`) holds meanwhile.
    this.#resubscribeTimer = setTimeout(() => {
      this.#resubscribeTimer = undefined;
      this.#subscribe();
    }, delay);
    this.#resubscribeTimer.unref();
  }

  #invalidationChannel(): string {
    return `${this.#namespace}invalidate`;
  }

  #renew(key: string, token: string, ttlMs: string, everyMs: number): void {
    const timer = setInterval(() => {
      this.#guard.run(['EVAL', RENEW, '1', this.#lock(key), token, ttlMs]).then(
        (renewed) => Number(renewed) === 1 || this.#stopRenewing(key, token),
        () => undefined,
      );
    }, everyMs);
    timer.unref();
    this.#renewals.set(`${key}\n${token}`, timer);
  }

  #stopRenewing(key: string, token: string): void {
    const id = `${key}\n${token}`;
    clearInterval(this.#renewals.get(id));
    this.#renewals.delete(id);
  }

  #key(key: string): string {
    return `${this.#namespace}${key}`;
  }

  #channel(): string {
    return `${this.#namespace}released`;
  }

  #lock(key: string): string {
    return `${this.#namespace}lock:${key}`;
  }
}
