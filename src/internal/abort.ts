/**
 * `promise`, or a rejection with `signal`'s reason as soon as it aborts (at once when it already
 * has), calling `onAbort` first. The listener is removed when either settles, so a long-lived signal
 * collects no listeners.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', abort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', abort), reject(error)),
    );
  });
}

/**
 * `promise`, or a rejection with `error()` once `ms` have passed. The timer is cleared when either
 * settles; with `unref` it keeps no process alive (only for work no caller waits on).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, error: () => unknown, options: { unref?: boolean } = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
    if (options.unref === true) timer.unref?.();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
