import type { Clock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import type { StoreHealth } from './cache-store.js';
import type { RedisConnection } from './redis-client.js';

export interface GuardOptions {
  timeoutMs: number;
  retryAfterMs: number;
  clock: Clock;
}

/**
 * Every Redis command of a store goes through here: a deadline per command, a health record, and a
 * short breaker: after a failure, commands fail at once for `retryAfterMs`, then one command probes
 * Redis (the others still fail fast) and its success makes the store healthy again. So a dead or
 * paused Redis costs a call at most `timeoutMs` once per `retryAfterMs`, not on every call, and the
 * client's own queue of pending commands stays small.
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

  constructor(connection: Promise<RedisConnection>, options: GuardOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#since = options.clock.now();
  }

  health(): StoreHealth {
    return { ok: this.#ok, lastError: this.#lastError, since: this.#since };
  }

  close(): void {
    this.#closed = true;
  }

  /** Records a failure seen outside a command (a client `'error'` event). */
  noteFailure(error: unknown): void {
    const now = this.#options.clock.now();
    if (this.#ok) this.#since = now;
    this.#ok = false;
    this.#lastError = error instanceof Error ? error.message : String(error);
    this.#retryAt = now + this.#options.retryAfterMs;
  }

  async run(args: string[], signal?: AbortSignal): Promise<unknown> {
    const command = args[0] ?? '';
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The Redis store was closed');
    signal?.throwIfAborted();
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
      timer.unref();
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
