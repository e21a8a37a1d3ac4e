import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import { clockOption, describe, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { CacheStore, StoreGetOptions, StoreHealth, StoreLockOptions, StoreSetOptions, StoreWaitOptions } from './cache-store.js';
import { adaptClient, openUrl, type OwnedConnection, type RedisClientLike, type RedisConnection, type Subscription } from './redis-client.js';
import { RedisGuard } from './redis-guard.js';
import { waitForLockRelease } from './redis-lock-wait.js';

/** Options of {@link createRedisStore}. Give `client` or `url`, not both. */
export interface RedisStoreOptions {
  /**
   * Your connected node-redis (v4/v5) or ioredis client; the store never closes it. Attach your own
   * `'error'` listener, and prefer `disableOfflineQueue: true` (node-redis) or
   * `enableOfflineQueue: false` (ioredis): the store's deadline bounds each command either way.
   */
  client?: RedisClientLike;
  /** A Redis URL (`redis://[:password@]host:port[/db]`); the store then loads `redis` (node-redis) and owns the client. */
  url?: string;
  /**
   * Namespace of every key (`prefix:v1:[scope:]sha256`). Required: two applications sharing one
   * Redis must use different prefixes; `clear()` deletes this prefix only. Must not contain `*?[]\`.
   */
  prefix: string;
  /** Deadline of each Redis command, in ms: past it the call goes on without the store. @default 200 */
  timeoutMs?: number;
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
  health(): StoreHealth;
  acquire(key: string, options: StoreLockOptions): Promise<string | undefined>;
  release(key: string, token: string): Promise<void>;
  waitFor(key: string, options: StoreWaitOptions): Promise<boolean>;
  close(): Promise<void>;
}

const KEYS = ['client', 'url', 'prefix', 'timeoutMs', 'maxValueBytes', 'lockTtlMs', 'lockWaitMs', 'retryAfterMs', 'clock'] as const;
const SCAN_COUNT = '500';
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); redis.call('PUBLISH', ARGV[2], ARGV[3]); return 1 end return 0";
/** After a failed subscription, the next attempt waits this long (waiters poll meanwhile). */
const RESUBSCRIBE_MS = 5000;
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/**
 * A shared cache on Redis: one cache for every replica of a service, and cross-instance coalescing
 * (N replicas missing the same key at once make one model call). Fail-open: while Redis is down,
 * slow or restarting, each command ends within `timeoutMs` (or at once, see `retryAfterMs`) and the
 * engine carries on without it; `health()` says so, and it recovers by itself.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createRedisStore } from 'llm-optimization-engine/redis';
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * client.on('error', (error) => log.warn(error));
 * await client.connect();
 * const engine = new OptimizationEngine({ store: createRedisStore({ client, prefix: 'support-bot' }) });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  knownKeys('options', plainObject('options', options), KEYS);
  const { client, url, prefix } = options;
  if ((client === undefined) === (url === undefined)) {
    throw new TypeError(`Give exactly one of \`client\` and \`url\`, received ${client === undefined ? 'neither' : 'both'}`);
  }
  if (url !== undefined && (typeof url !== 'string' || url === '')) throw new TypeError(`\`url\` must be a non-empty string, received ${describe(url)}`);
  if (typeof prefix !== 'string' || prefix === '' || /[*?[\]\\]/.test(prefix)) {
    throw new TypeError(`\`prefix\` must be a non-empty string without *?[]\\, received ${describe(prefix)}`);
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
  readonly #guard: RedisGuard;
  readonly #renewals = new Map<string, NodeJS.Timeout>();
  readonly #owned: OwnedConnection | undefined;
  readonly #connection: Promise<RedisConnection>;
  readonly #clock: Clock;
  readonly #wakers = new Map<string, Set<() => void>>();
  #subscription: Subscription | 'opening' | undefined;
  #subscribeAfter = 0;
  #closed = false;

  constructor(options: RedisStoreOptions, injected: RedisConnection | undefined) {
    this.prefix = options.prefix;
    this.timeoutMs = positiveNumber('timeoutMs', options.timeoutMs, 200);
    this.maxValueBytes = positiveInteger('maxValueBytes', options.maxValueBytes, 1_048_576);
    this.lockTtlMs = positiveInteger('lockTtlMs', options.lockTtlMs, 10_000);
    this.lockWaitMs = positiveNumber('lockWaitMs', options.lockWaitMs, 60_000);
    const retryAfterMs = positiveNumber('retryAfterMs', options.retryAfterMs, 1000);
    const clock = clockOption('clock', options.clock) ?? systemClock;
    let connection: Promise<RedisConnection>;
    if (injected === undefined) {
      this.#owned = openUrl(options.url as string, 5000, (error) => this.#guard.noteFailure(error));
      connection = this.#owned.ready;
    } else {
      connection = Promise.resolve(injected);
    }
    this.#connection = connection;
    this.#clock = clock;
    this.#guard = new RedisGuard(connection, { timeoutMs: this.timeoutMs, retryAfterMs, clock });
  }

  async get(key: string, options?: StoreGetOptions): Promise<string | undefined> {
    const value = await this.#guard.run(['GET', this.#key(key)], options?.signal);
    if (typeof value !== 'string' || value.length > this.maxValueBytes) return undefined;
    return value;
  }

  async set(key: string, value: string, options: StoreSetOptions): Promise<void> {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.maxValueBytes) {
      throw new OptimizerError('ERR_STORE', `A value of ${bytes} bytes exceeds \`maxValueBytes\` (${this.maxValueBytes})`);
    }
    await this.#guard.run(['SET', this.#key(key), value, 'PX', String(Math.max(1, Math.ceil(options.ttlMs)))]);
  }

  async delete(key: string): Promise<boolean> {
    return Number(await this.#guard.run(['UNLINK', this.#key(key)])) > 0;
  }

  /** Deletes every key of this prefix (values and locks) with SCAN and UNLINK in batches; other prefixes are untouched. */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const reply = await this.#guard.run(['SCAN', cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', SCAN_COUNT]);
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

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const timer of this.#renewals.values()) clearInterval(timer);
    this.#renewals.clear();
    this.#guard.close();
    if (typeof this.#subscription === 'object') this.#subscription.end();
    this.#owned?.end();
    return Promise.resolve();
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

  /** One subscriber connection per store, opened at the first wait; after a failure, retried later. */
  #subscribe(): void {
    if (this.#subscription !== undefined || this.#closed || this.#clock.now() < this.#subscribeAfter) return;
    this.#subscription = 'opening';
    const failed = (): void => {
      this.#subscription = undefined;
      this.#subscribeAfter = this.#clock.now() + RESUBSCRIBE_MS;
    };
    const onMessage = (key: string): void => {
      for (const wake of [...(this.#wakers.get(key) ?? [])]) wake();
    };
    this.#connection.then((connection) => {
      if (this.#closed) return;
      const subscription = connection.subscribe(this.#channel(), onMessage);
      this.#subscription = subscription;
      subscription.ready.catch(() => {
        subscription.end();
        if (this.#subscription === subscription) failed();
      });
    }, failed);
  }

  #channel(): string {
    return `${this.prefix}:released`;
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
    return `${this.prefix}:${key}`;
  }

  #lock(key: string): string {
    return `${this.prefix}:lock:${key}`;
  }
}
