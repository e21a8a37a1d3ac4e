import type { Clock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import type { StoreHealth } from './cache-store.js';
import type { RedisConnection } from './redis-client.js';

export interface GuardOptions {
  timeoutMs: number;
  retryAfterMs: number;
  clock: Clock;
  /**
   * Bound of the first connection, for a connection the store makes itself (url mode); absent for
   * an injected client, which is taken as connected (connecting it is its owner's business).
   */
  connectTimeoutMs?: number;
}

/**
 * Every Redis command of a store goes through here: a deadline per command, a health record, and a
 * short breaker: after a failure, commands fail at once for `retryAfterMs`, then one command probes
 * Redis (the others still fail fast) and its success makes the store healthy again. So a dead or
 * paused Redis costs a call at most `timeoutMs` once per `retryAfterMs`, not on every call, and the
 * client's own queue of pending commands stays small.
 *
 * While the first connection of a store-made client is being made (not failed), a command waits
 * for it within its own deadline (`timeoutMs`, counted from when it was sent), so no command waits
 * longer than that, start-up included; after one command has waited its whole deadline, the others
 * fail at once until the connection is made. That wait is not an outage (health stays ok, the
 * breaker stays closed). A connection error or `connectTimeoutMs` after creation is one: the
 * breaker then works as for any failure. `ready()` waits for the connection up to `connectTimeoutMs`.
 */
export class RedisGuard {
  readonly #connection: Promise<RedisConnection>;
  readonly #options: GuardOptions;
  #ok = true;
  #lastError: string | undefined;
  #since: number;
  #retryAt = 0;
  #probing = false;
  #closed = false;
  /** Pending while the first connection is being made; settles (always resolves) when it is made or fails. */
  #connecting: Promise<void> | undefined;
  #endConnecting: (() => void) | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  /** Set when a command waited its whole deadline for the first connection: the next ones fail at once until it settles. */
  #connectWaitTimedOut = false;

  constructor(connection: Promise<RedisConnection>, options: GuardOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#since = options.clock.now();
    const { connectTimeoutMs } = options;
    if (connectTimeoutMs === undefined) return;
    this.#connecting = new Promise<void>((resolve) => (this.#endConnecting = resolve));
    this.#connectTimer = setTimeout(() => {
      this.noteFailure(new OptimizerError('ERR_TIMEOUT', `Redis did not connect within ${connectTimeoutMs} ms (\`connectTimeoutMs\`)`));
    }, connectTimeoutMs);
    // A connection made, even after the bound, is a recovery; a failure is reported through noteFailure.
    connection.then(() => this.#connected(), () => undefined);
  }

  /**
   * Resolves once connected (at once for an injected client, or once the first connection has been
   * made and no command has failed since); rejects when the first connection failed or did not come
   * within `connectTimeoutMs`, or when Redis is currently considered down. Never waits out an outage.
   */
  async ready(): Promise<void> {
    if (this.#connecting !== undefined) await this.#connecting;
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The Redis store was closed');
    if (!this.#ok) throw new OptimizerError('ERR_STORE', `Redis is unavailable: ${this.#lastError}`);
  }

  health(): StoreHealth {
    return { ok: this.#ok, lastError: this.#lastError, since: this.#since };
  }

  close(): void {
    this.#closed = true;
    this.#connectionSettled();
  }

  /** Records a failure seen outside a command (a client `'error'` event). */
  noteFailure(error: unknown): void {
    const now = this.#options.clock.now();
    if (this.#ok) this.#since = now;
    this.#ok = false;
    this.#lastError = error instanceof Error ? error.message : String(error);
    this.#retryAt = now + this.#options.retryAfterMs;
    this.#connectionSettled();
  }

  /**
   * Sends one command within `timeoutMs`, counted from now: waiting for the first connection is part
   * of it. A command that waited its whole deadline for that connection fails with `ERR_TIMEOUT`
   * (not an outage: health stays ok, the breaker stays closed), and the next ones fail at once until
   * the connection is made or fails, so a call pays that wait once, not once per command.
   */
  async run(args: string[], signal?: AbortSignal): Promise<unknown> {
    const command = args[0] ?? '';
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The Redis store was closed');
    signal?.throwIfAborted();
    const deadline = this.#deadline(command, signal);
    try {
      if (this.#connecting !== undefined) await this.#waitConnecting(command, deadline.promise);
      const probe = this.#admit(command);
      try {
        const reply = await this.#send(args, deadline.promise);
        if (!this.#ok) {
          this.#ok = true;
          this.#since = this.#options.clock.now();
        }
        return reply;
      } catch (error) {
        if (signal?.aborted === true) throw signal.reason;
        // Redis answered, refusing this one command (a key of the wrong type, an argument out of
        // range): Redis is up. Counting it as an outage would switch the store off for every caller.
        if (isCommandRefusal(error)) {
          throw new OptimizerError('ERR_STORE', `Redis refused \`${command}\`: ${firstLine(error)}`, { cause: error });
        }
        this.noteFailure(error);
        throw error instanceof OptimizerError ? error : new OptimizerError('ERR_STORE', `Redis \`${command}\` failed: ${this.#lastError}`, { cause: error });
      } finally {
        if (probe) this.#probing = false;
      }
    } finally {
      deadline.clear();
    }
  }

  /** Rejects at the command's deadline (`ERR_TIMEOUT`) or with the signal's reason. Not unref'd: a caller waits on it. */
  #deadline(command: string, signal: AbortSignal | undefined): { promise: Promise<never>; clear(): void } {
    const { timeoutMs } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const promise = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OptimizerError('ERR_TIMEOUT', `Redis \`${command}\` did not answer within ${timeoutMs} ms`)), timeoutMs);
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    promise.catch(() => undefined);
    return {
      promise,
      clear: () => {
        clearTimeout(timer);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  /** A command sent while the first connection is being made waits for it, within its own deadline. */
  async #waitConnecting(command: string, deadline: Promise<never>): Promise<void> {
    const connecting = this.#connecting;
    if (connecting === undefined) return;
    if (this.#connectWaitTimedOut) {
      throw new OptimizerError('ERR_STORE', `Redis \`${command}\` skipped: Redis is still connecting`);
    }
    try {
      await Promise.race([connecting, deadline]);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== 'ERR_TIMEOUT') throw error;
      if (this.#connecting !== undefined) this.#connectWaitTimedOut = true;
      throw new OptimizerError('ERR_TIMEOUT', `Redis \`${command}\` did not answer within ${this.#options.timeoutMs} ms: Redis is still connecting`);
    }
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The Redis store was closed');
    if (!this.#ok) throw new OptimizerError('ERR_STORE', `Redis \`${command}\` failed: Redis did not connect (${this.#lastError})`);
  }

  #connected(): void {
    this.#connectionSettled();
    if (this.#closed || this.#ok) return;
    this.#ok = true;
    this.#since = this.#options.clock.now();
  }

  #connectionSettled(): void {
    if (this.#connecting === undefined) return;
    clearTimeout(this.#connectTimer);
    this.#connecting = undefined;
    this.#connectWaitTimedOut = false;
    this.#endConnecting?.();
  }

  /** Lets a command through (true when it is the probe after a failure), or throws at once while Redis is considered down. */
  #admit(command: string): boolean {
    if (this.#ok) return false;
    const now = this.#options.clock.now();
    // A retry time further away than `retryAfterMs`: the clock was set back. Retry within the bound.
    if (this.#retryAt - now > this.#options.retryAfterMs) this.#retryAt = now + this.#options.retryAfterMs;
    if (this.#probing || now < this.#retryAt) {
      throw new OptimizerError('ERR_STORE', `Redis \`${command}\` skipped: Redis is unavailable (${this.#lastError}); retrying shortly`);
    }
    this.#probing = true;
    return true;
  }

  async #send(args: string[], deadline: Promise<never>): Promise<unknown> {
    const reply = this.#connection.then((connection) => connection.send(args));
    reply.catch(() => undefined);
    return Promise.race([reply, deadline]);
  }
}

/** Reply errors (node-redis `ErrorReply`, ioredis `ReplyError`), by class name: the packages are optional peers. */
const REPLY_ERROR_CLASSES = new Set(['ErrorReply', 'SimpleError', 'BlobError', 'ReplyError']);

/**
 * An error reply about the command itself (`WRONGTYPE`, `ERR …`), not about Redis's state. Replies
 * such as `OOM`, `READONLY`, `LOADING`, `BUSY`, `NOAUTH` or `MASTERDOWN` say Redis cannot serve, and
 * stay outages.
 */
function isCommandRefusal(error: unknown): boolean {
  if (!(error instanceof Error) || !/^(WRONGTYPE|ERR) /.test(error.message)) return false;
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && REPLY_ERROR_CLASSES.has(name)) return true;
  }
  return false;
}

function firstLine(error: unknown): string {
  return String((error as Error).message).split('\n')[0]?.slice(0, 200) ?? '';
}
