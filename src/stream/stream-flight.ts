import type { Clock } from '../clock.js';
import { elapsedMs } from '../internal/elapsed.js';
import type { TokenUsage } from '../types.js';

/** Where a flight is: still reading upstream, ended normally, failed, or abandoned by every consumer. */
export type FlightState = 'running' | 'done' | 'failed' | 'abandoned';

/** Something a consumer can read chunks from: a live flight or a stored replay. */
export interface ChunkSource<C> {
  readonly chunks: readonly C[];
  readonly state: FlightState;
  readonly error: unknown;
  /** Gaps in ms between consecutive chunks as they first arrived (offset of each chunk from the first). */
  readonly offsetsMs: readonly number[];
  /** True when the chunks belong to this one consumer (a replayed copy): no further copy is needed. */
  readonly private?: boolean;
  /** Resolves at the next chunk or state change. */
  changed(): Promise<void>;
}

/** Runs `work` (the whole upstream read) under the engine's throttle. */
export type Gate = (work: () => Promise<void>, signal: AbortSignal) => Promise<void>;

export type OpenStream<C> = (signal: AbortSignal, usage: TokenUsage) => AsyncIterable<C> | PromiseLike<AsyncIterable<C>>;

/**
 * Runs the upstream read (`attempt`, which may be called again for a retry) under the engine's
 * self-healing: its circuit breaker and retries. `delivered()` tells whether a chunk was handed out.
 */
export type Guard = (attempt: () => Promise<void>, signal: AbortSignal, delivered: () => boolean) => Promise<void>;

const unguarded: Guard = (attempt) => attempt();

/**
 * One upstream stream teed to any number of consumers: every chunk is buffered (late joiners read
 * the prefix, then live chunks; the full list is what gets stored), the upstream is read as fast as
 * it produces, and it is aborted only when the last consumer leaves.
 */
export class StreamFlight<C> implements ChunkSource<C> {
  readonly chunks: C[] = [];
  readonly offsetsMs: number[] = [];
  readonly controller = new AbortController();
  readonly usage: TokenUsage = {};
  readonly ready: Promise<void>;
  state: FlightState = 'running';
  error: unknown = undefined;
  consumers = 0;
  /** Time from the start to the end of the upstream read, in ms. */
  durationMs = 0;
  readonly #clock: Clock;
  readonly #onSettle: (flight: StreamFlight<C>) => void;
  #wake: (() => void) | undefined;
  #changed: Promise<void> | undefined;
  #readyDone = false;
  #settleReady!: { resolve: () => void; reject: (error: unknown) => void };

  constructor(clock: Clock, onSettle: (flight: StreamFlight<C>) => void) {
    this.#clock = clock;
    this.#onSettle = onSettle;
    this.ready = new Promise<void>((resolve, reject) => (this.#settleReady = { resolve, reject }));
    this.ready.catch(() => undefined);
  }

  /**
   * Starts reading upstream: each attempt through `gate` (so a retry's backoff holds no slot), the
   * attempts through `guard`. Timing (duration, chunk offsets) starts with the last attempt.
   */
  start(open: OpenStream<C>, gate: Gate, guard: Guard = unguarded): void {
    const { signal } = this.controller;
    let started = this.#clock.now();
    const attempt = (): Promise<void> => gate(() => this.#pump(open, (started = this.#clock.now())), signal);
    guard(attempt, signal, () => this.chunks.length > 0).then(
      () => this.#settle('done', undefined, started),
      (error: unknown) => this.#settle('failed', error, started),
    );
  }

  changed(): Promise<void> {
    this.#changed ??= new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#changed;
  }

  join(): void {
    this.consumers++;
  }

  /** A consumer left; the last one to leave a running flight aborts the upstream. */
  leave(): void {
    if (--this.consumers > 0 || this.state !== 'running') return;
    this.controller.abort(new DOMException('Every consumer of this stream has gone', 'AbortError'));
    this.#settle('abandoned', undefined, undefined);
  }

  /** Ends the flight with `reason` for every consumer (the engine is closing). */
  cancel(reason: unknown): void {
    if (this.state !== 'running') return;
    this.controller.abort(reason);
    this.#settle('failed', reason, undefined);
  }

  async #pump(open: OpenStream<C>, started: number): Promise<void> {
    const { signal } = this.controller;
    const iterable = await open(signal, this.usage);
    this.#markReady();
    const stop = (): void => cancelSource(iterable);
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of iterable) {
        if (this.state !== 'running') return;
        this.chunks.push(chunk);
        // Never before the previous chunk: a clock set back mid-stream must not give a negative gap.
        this.offsetsMs.push(Math.max(this.offsetsMs.at(-1) ?? 0, elapsedMs(started, this.#clock.now())));
        this.#notify();
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  #markReady(): void {
    if (this.#readyDone) return;
    this.#readyDone = true;
    this.#settleReady.resolve();
  }

  #settle(state: FlightState, error: unknown, started: number | undefined): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.error = error;
    if (started !== undefined) this.durationMs = elapsedMs(started, this.#clock.now());
    if (!this.#readyDone) {
      this.#readyDone = true;
      this.#settleReady.reject(state === 'failed' ? error : this.controller.signal.reason);
    }
    this.#notify();
    this.#onSettle(this);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#changed = undefined;
    wake?.();
  }
}

/** Stops an upstream iterable that will no longer be read: its own `abort()` when it has one. */
function cancelSource(iterable: unknown): void {
  const abort = (iterable as { abort?: unknown }).abort;
  if (typeof abort === 'function') {
    try {
      (abort as () => void).call(iterable);
    } catch {
      // A source that cannot be aborted is simply no longer read.
    }
  }
}
