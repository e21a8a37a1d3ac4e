import type { StoreWaitOptions } from './cache-store.js';

/** Polling delays: quick at first (a short computation), then every 250 ms, with jitter so waiters spread out. */
export function pollDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(5 * 2 ** attempt, 250);
  return Math.round(base * (0.75 + random() * 0.5));
}

/** Registers a wake-up call (a release notification) and returns the function that removes it. */
export type Listen = (wake: () => void) => () => void;

/**
 * Waits until `isFree()` says the lock is gone: `true` when it is, `false` when `timeoutMs` passed
 * first; rejects with the signal's reason when `signal` aborts, and with the error of `isFree()`
 * when asking fails (the engine then computes without waiting). It asks again at each
 * notification from `listen` (pub/sub), and otherwise polls with backoff: notifications can be lost
 * (a reconnect, a holder that died), polling cannot.
 */
export function waitForLockRelease(isFree: () => Promise<boolean>, options: StoreWaitOptions, listen?: Listen): Promise<boolean> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<boolean>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let checking = false;
    let again = false;
    let attempt = 0;
    const started = performance.now();
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      unlisten?.();
      settle();
    };
    const onAbort = (): void => finish(() => reject(signal?.reason));
    const check = (): void => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      clearTimeout(timer);
      isFree().then(
        (free) => {
          checking = false;
          if (free) return finish(() => resolve(true));
          const left = timeoutMs - (performance.now() - started);
          if (left <= 0) return finish(() => resolve(false));
          if (again) {
            again = false;
            return check();
          }
          if (done) return;
          timer = setTimeout(check, Math.min(left, pollDelayMs(attempt++)));
        },
        (error: unknown) => finish(() => reject(error)),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const unlisten = listen?.(check);
    check();
  });
}
