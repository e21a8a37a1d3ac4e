import type { StoreWaitOptions } from './cache-store.js';

/** Polling delays: quick at first (a short computation), then every 250 ms, with jitter so waiters spread out. */
export function pollDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(5 * 2 ** attempt, 250);
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Waits until `isFree()` says the lock is gone, polling with backoff: `true` when it is, `false` when
 * `timeoutMs` passed first; rejects with the signal's reason when `signal` aborts, and with the
 * error of `isFree()` when asking fails (the engine then computes without waiting).
 */
export function waitForLockRelease(isFree: () => Promise<boolean>, options: StoreWaitOptions): Promise<boolean> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<boolean>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const started = performance.now();
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = (): void => finish(() => reject(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    const check = (attempt: number): void => {
      isFree().then(
        (free) => {
          if (free) return finish(() => resolve(true));
          const left = timeoutMs - (performance.now() - started);
          if (left <= 0) return finish(() => resolve(false));
          if (done) return;
          timer = setTimeout(() => check(attempt + 1), Math.min(left, pollDelayMs(attempt)));
          timer.unref();
        },
        (error: unknown) => finish(() => reject(error)),
      );
    };
    check(0);
  });
}
