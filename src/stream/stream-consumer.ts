import { copyStored } from '../internal/value-copy.js';
import type { ChunkSource, FlightState } from './stream-flight.js';
import type { OptimizedStream, ReplayMode } from './types.js';

/** How a consumer ended: read to the end, got an error, returned early, or was aborted. */
export type ConsumerEnd = 'end' | 'error' | 'return' | 'abort';

/** Called once, when the consumer stops reading for any reason. */
export type ConsumerEndHook = (how: ConsumerEnd, error: unknown) => void;

export interface ConsumerOptions {
  /** How the chunks are paced. @default 'instant' */
  readonly replay?: ReplayMode;
  /**
   * The caller's signal. It is checked at every read and listened to only while a read waits, so a
   * consumer dropped without `return()` leaves no listener on a long-lived signal.
   */
  readonly signal?: AbortSignal | undefined;
}

/** A private copy of a stored chunk list as a source that is already complete (its chunks are handed out as they are). */
export function replaySource<C>(chunks: readonly C[], offsetsMs: readonly number[] = []): ChunkSource<C> {
  return { chunks, offsetsMs, state: 'done', error: undefined, private: true, changed: () => Promise.resolve() };
}

/** A source that failed before it produced anything (bad arguments, `only-if-cached` miss). */
export function failedSource<C>(error: unknown): ChunkSource<C> {
  return { chunks: [], offsetsMs: [], state: 'failed', error, changed: () => Promise.resolve() };
}

/**
 * One consumer's reading position in a source. Each chunk it hands out is its own copy, so no
 * consumer can change what another (or the cache) holds.
 */
export class StreamConsumer<C> implements OptimizedStream<C> {
  readonly ready: Promise<void>;
  #source: ChunkSource<C>;
  readonly #onEnd: ConsumerEndHook;
  readonly #pace: boolean;
  readonly #signal: AbortSignal | undefined;
  #index = 0;
  #ended = false;
  #abort: { reason: unknown } | undefined;
  #abortWake: (() => void) | undefined;
  #rejectReady: ((reason: unknown) => void) | undefined;

  constructor(source: ChunkSource<C>, onEnd: ConsumerEndHook, ready: Promise<void>, options: ConsumerOptions = {}) {
    this.#source = source;
    this.#onEnd = onEnd;
    this.#pace = options.replay === 'original';
    this.#signal = options.signal;
    // `ready` also ends with this consumer's own abort: a caller who gave up must not wait for an
    // upstream that other consumers still share (it may take a cold model load to open).
    const aborted = new Promise<never>((_, reject) => (this.#rejectReady = reject));
    this.ready = Promise.race([ready, aborted]);
    this.ready.catch(() => undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<C, undefined>> {
    for (;;) {
      if (this.#signal?.aborted === true) this.abort(this.#signal.reason);
      if (this.#abort !== undefined) throw this.#abort.reason;
      if (this.#ended) return { done: true, value: undefined };
      const source = this.#source;
      const index = this.#index;
      if (index < source.chunks.length) {
        if (this.#pace && index > 0) await this.#wait(this.#sleep(gap(source.offsetsMs, index)));
        if (this.#abort !== undefined) continue;
        this.#index++;
        const value = source.chunks[index] as C;
        return { done: false, value: source.private === true ? value : copy(value) };
      }
      if (source.state !== 'running') return this.#finish(source.state, source.error);
      await this.#wait(Promise.race([source.changed(), new Promise<void>((resolve) => (this.#abortWake = resolve))]));
    }
  }

  return(): Promise<IteratorResult<C, undefined>> {
    this.#end('return', undefined);
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<C, undefined>> {
    this.#end('return', undefined);
    return Promise.reject(error);
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#ended) return;
    this.#abort = { reason };
    this.#end('abort', reason);
    this.#abortWake?.();
    this.#rejectReady?.(reason);
  }

  /** True while this consumer is open and has read nothing yet. */
  get unread(): boolean {
    return this.#index === 0 && !this.#ended;
  }

  /** Reads from another source instead (a stale entry after a failure); only while `unread`. */
  fallBackTo(source: ChunkSource<C>): void {
    if (this.unread) this.#source = source;
  }

  #finish(state: FlightState, error: unknown): IteratorResult<C, undefined> {
    if (state === 'done') {
      this.#end('end', undefined);
      return { done: true, value: undefined };
    }
    this.#end('error', error);
    throw error;
  }

  #end(how: ConsumerEnd, error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(how, error);
  }

  /** Waits for `wake` (which `abort()` also ends), listening to the caller's signal meanwhile only. */
  async #wait(wake: Promise<void>): Promise<void> {
    const signal = this.#signal;
    if (signal === undefined) return wake;
    const onAbort = (): void => this.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await wake;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Replay pacing. The timer stays ref'd: it is the caller's own read in progress, not background work. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#abortWake = () => (clearTimeout(timer), resolve());
    });
  }
}

function gap(offsets: readonly number[], index: number): number {
  return (offsets[index] ?? 0) - (offsets[index - 1] ?? 0);
}

/** Chunks are copied out (ADR 0035's copy); a chunk that cannot be cloned (it holds a function) is handed out as is. */
function copy<C>(chunk: C): C {
  if (typeof chunk !== 'object' || chunk === null) return chunk;
  try {
    return copyStored(chunk);
  } catch {
    return chunk;
  }
}
