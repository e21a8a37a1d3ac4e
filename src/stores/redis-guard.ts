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
 * While the first connection of a store-made client is being made (not failed), commands wait for
 * it, up to `connectTimeoutMs` after creation, instead of paying the command deadline for it; that
 * wait is not an outage (health stays ok, the breaker stays closed). A connection error or the end
 * of that bound is one: the breaker then works as for any failure.
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

  async run(args: string[], signal?: AbortSignal): Promise<unknown> {
    const command = args[0] ?? '';
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The Redis store was closed');
    signal?.throwIfAborted();
    if (this.#connecting !== undefined) await this.#waitConnecting(command, signal);
    const probe = this.#admit(command);
    try {
      const reply = await this.#send(args, signal);
      if (!this.#ok) {
        this.#ok = true;
        this.#since = this.#options.clock.now();
      }
      return reply;
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      this.noteFailure(error);
      throw error instanceof OptimizerError ? error : new OptimizerError('ERR_STORE', `Redis \`${command}\` failed: ${this.#lastError}`, { cause: error });
    } finally {
      if (probe) this.#probing = false;
    }
  }

  /** A command sent while the first connection is being made waits for it (the caller's signal still ends the wait). */
  async #waitConnecting(command: string, signal: AbortSignal | undefined): Promise<void> {
    const connecting = this.#connecting;
    if (connecting === undefined) return;
    if (signal === undefined) await connecting;
    else {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([connecting, aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort as () => void);
      }
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
    this.#endConnecting?.();
  }

  /** Lets a command through (true when it is the probe after a failure), or throws at once while Redis is considered down. */
  #admit(command: string): boolean {
    if (this.#ok) return false;
    if (this.#probing || this.#options.clock.now() < this.#retryAt) {
      throw new OptimizerError('ERR_STORE', `Redis \`${command}\` skipped: Redis is unavailable (${this.#lastError}); retrying shortly`);
    }
    this.#probing = true;
    return true;
  }

  async #send(args: string[], signal: AbortSignal | undefined): Promise<unknown> {
    const { timeoutMs } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OptimizerError('ERR_TIMEOUT', `Redis \`${args[0]}\` did not answer within ${timeoutMs} ms`)), timeoutMs);
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const reply = this.#connection.then((connection) => connection.send(args));
    reply.catch(() => undefined);
    try {
      return await Promise.race([reply, stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }
}
