import type { CallOptions, ExecContext, Prompt } from '../types.js';

/**
 * Your streaming model call: returns the chunks as an async iterable (or a promise of one, settling
 * once the stream has started). Honour `context.signal`: it aborts when every consumer has gone.
 * An iterable that has an `abort()` method (such as the `ollama` client's `AbortableAsyncIterator`)
 * is also aborted through it.
 */
export type StreamExecFunction<C, P extends Prompt = Prompt> = (
  prompt: P,
  model: string,
  context: ExecContext,
) => AsyncIterable<C> | PromiseLike<AsyncIterable<C>>;

/** How a cached stream is replayed. */
export type ReplayMode =
  /** Every stored chunk at once, as fast as the consumer reads. */
  | 'instant'
  /** With the gaps between chunks the original stream had. */
  | 'original';

/** Per-call options of `optimizeAiStream`: those of `optimizeAiCall`, plus admission and replay. */
/** Freshness options (`graceMs`, `softTimeoutMs`) are not offered for streams yet: an expired entry is a miss (or, with `staleIfError`, a fallback). */
export interface StreamCallOptions<C> extends Omit<CallOptions, 'isComplete' | 'graceMs' | 'softTimeoutMs'> {
  /**
   * Admission: whether a stream that ended without error is a complete answer worth storing (for
   * Ollama: the last chunk has `done: true` and `done_reason: 'stop'`). Aborted or failed streams
   * are never stored. Without it the engine cannot tell a truncated stream from a whole one: give
   * it whenever your chunks can say so. @default every non-empty stream that ends without error
   */
  isComplete?: (chunks: readonly C[]) => boolean;
  /** How a cache hit is replayed. @default 'instant' */
  replay?: ReplayMode;
}

/**
 * What `optimizeAiStream` returns: the chunks, for one consumer (`for await`). Stop early with
 * `break` (or `return()`), or with `abort()`: either ends this consumer only; the shared upstream
 * stream is aborted once no consumer is left.
 */
export interface OptimizedStream<C> extends AsyncIterableIterator<C> {
  next(): Promise<IteratorResult<C, undefined>>;
  /** Stops reading (what `break` in a `for await` calls): ends this consumer only. */
  return(): Promise<IteratorResult<C, undefined>>;
  /**
   * Ends this consumer: a pending or later `next()` rejects with `reason` (by default an
   * `AbortError` DOMException, as the `ollama` client's `abort()` does).
   */
  abort(reason?: unknown): void;
  /**
   * Settles once the stream can be read: resolves on a hit, or when the upstream stream has started
   * (`execStream`'s promise resolved); rejects with the error when it could not start. Awaiting it
   * is optional: the same error is also thrown by the first `next()`.
   */
  readonly ready: Promise<void>;
}
