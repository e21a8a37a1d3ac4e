import type { TokenUsage } from '../types.js';

/** One computation in flight and the callers waiting on it. */
export interface Flight<T> {
  readonly key: string;
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
  /** How long the computation took, once it has settled. */
  durationMs: number;
  /** Token counts the computation reported. */
  usage: TokenUsage | undefined;
}

/**
 * At most one computation per key at a time. Every caller waits with its own signal: a caller that
 * gives up stops waiting with its signal's reason and leaves the others unaffected; the computation's
 * own signal aborts only when no caller is left (the lesson of Go's singleflight bugs, where the first
 * caller's cancellation poisoned every waiter).
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  get size(): number {
    return this.#flights.size;
  }

  get(key: string): Flight<T> | undefined {
    return this.#flights.get(key);
  }

  start(key: string, compute: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
    const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined);
    const flight: Flight<T> = { key, promise, controller, waiters: 0, durationMs: 0, usage: undefined };
    this.#flights.set(key, flight);
    const done = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    compute(flight).then(
      (value) => (done(), settle.resolve(value)),
      (error: unknown) => (done(), settle.reject(error)),
    );
    return flight;
  }

  /** Waits for a flight's result, or for `signal` to abort this caller's wait. */
  wait(flight: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    flight.waiters++;
    if (signal === undefined) return flight.promise;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.#leave(flight);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
        (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
      );
    });
  }

  /** Aborts every computation (used by `close()`). */
  abortAll(reason: unknown): void {
    for (const flight of this.#flights.values()) flight.controller.abort(reason);
    this.#flights.clear();
  }

  #leave(flight: Flight<T>): void {
    if (--flight.waiters > 0) return;
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    flight.controller.abort(new DOMException('Every caller waiting on this call has gone', 'AbortError'));
  }
}
