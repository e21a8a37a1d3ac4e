import { describe, knownKeys, plainObject, positiveInteger, nonNegativeNumber } from '../internal/validate.js';

/** Options of the retries of `exec` (the engine's `retry` option). */
export interface RetryOptions {
  /** Runs of `exec` in total for one call, the first included (`1`: no retry). @default 2 */
  attempts?: number;
  /** Backoff before the first retry, in ms; doubled for each further retry, before jitter. @default 250 */
  baseDelayMs?: number;
  /** Longest backoff, in ms, before jitter. @default 4_000 */
  maxDelayMs?: number;
  /**
   * Which errors are worth another attempt. @default {@link isTransientError}: connection refused or
   * reset, socket timeouts, and HTTP 5xx in `status`, `status_code` or `statusCode` (also in `cause`).
   */
  isTransient?: (error: unknown) => boolean;
  /** Source of the jitter, in [0, 1): each backoff is `random() × min(maxDelayMs, baseDelayMs × 2^n)`. @default Math.random */
  random?: () => number;
}

export interface ResolvedRetryOptions {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly isTransient: (error: unknown) => boolean;
  readonly random: () => number;
}

const KEYS = ['attempts', 'baseDelayMs', 'maxDelayMs', 'isTransient', 'random'] as const;

export function resolveRetryOptions(options: RetryOptions | false | undefined): ResolvedRetryOptions | undefined {
  if (options === false) return undefined;
  knownKeys('retry', plainObject('retry', options), KEYS);
  for (const name of ['isTransient', 'random'] as const) {
    const fn = options?.[name];
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`\`retry.${name}\` must be a function, received ${describe(fn)}`);
  }
  const attempts = positiveInteger('retry.attempts', options?.attempts, 2);
  if (attempts === 1) return undefined;
  return Object.freeze({
    attempts,
    baseDelayMs: nonNegativeNumber('retry.baseDelayMs', options?.baseDelayMs, 250),
    maxDelayMs: nonNegativeNumber('retry.maxDelayMs', options?.maxDelayMs, 4_000),
    isTransient: options?.isTransient ?? isTransientError,
    random: options?.random ?? Math.random,
  });
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * True for errors a second attempt may not meet: refused or dropped connections and HTTP 5xx, found
 * on the error itself, in its `cause` chain (Node's `fetch` wraps them) or in an `AggregateError`.
 */
export function isTransientError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as { code?: unknown; status?: unknown; status_code?: unknown; statusCode?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  for (const status of [e.status, e.status_code, e.statusCode]) {
    if (typeof status === 'number' && status >= 500 && status <= 599) return true;
  }
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientError(inner, depth + 1))) return true;
  return isTransientError(e.cause, depth + 1);
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. The timer keeps the process
 * alive: a call waits on it (unref'd, a script whose only work is a retried call would exit mid-backoff).
 */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) => new Promise<void>((resolve, reject) => {
  signal.throwIfAborted();
  const onAbort = (): void => {
    clearTimeout(timer);
    reject(signal.reason);
  };
  const timer = setTimeout(() => {
    signal.removeEventListener('abort', onAbort);
    resolve();
  }, ms);
  signal.addEventListener('abort', onAbort, { once: true });
});

/** Backoff before retry number `retry` (1-based): full jitter over a capped exponential. */
export function backoffMs(options: ResolvedRetryOptions, retry: number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return options.random() * ceiling;
}

/**
 * Runs `work` until it succeeds, fails with an error that is not transient, runs out of attempts, or
 * `signal` aborts (also during a backoff). The last error is rethrown unchanged.
 */
export async function retry<T>(options: ResolvedRetryOptions, work: () => Promise<T>, signal: AbortSignal, wait: Sleep = sleep): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= options.attempts || signal.aborted || !options.isTransient(error)) throw error;
    }
    await wait(backoffMs(options, attempt), signal);
  }
}
