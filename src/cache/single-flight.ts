import { raceSignal } from '../internal/abort.js';
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
  /** Rejects every waiter at once (the engine closed), whatever the computation does. */
  readonly fail: (error: unknown) => void;
}

/**
 * At most one computation per key at a time. Every caller waits with its own signal: a caller that
 * gives up stops waiting with its signal's reason and leaves the others unaffected; the computation's
 * own signal aborts only when no caller is left (the lesson of Go's singleflight bugs, where the first
 * caller's cancellation poisoned every waiter).
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  get(key: string): Flight<T> | undefined {
    return this.#flights.get(key);
  }

  start(key: string, compute: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
    const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined);
    const flight: Flight<T> = { key, promise, controller, waiters: 0, durationMs: 0, usage: undefined, fail: (error) => settle.reject(error) };
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
    return raceSignal(flight.promise, signal, () => this.#leave(flight));
  }

  /**
   * Aborts every computation and rejects its waiters with `reason` at once (used by `close()`): a
   * computation that ignores its signal must not keep callers waiting on a closed engine.
   */
  abortAll(reason: unknown): void {
    for (const flight of this.#flights.values()) {
      flight.controller.abort(reason);
      flight.fail(reason);
    }
    this.#flights.clear();
  }

  #leave(flight: Flight<T>): void {
    if (--flight.waiters > 0) return;
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    flight.controller.abort(new DOMException('Every caller waiting on this call has gone', 'AbortError'));
  }
}
