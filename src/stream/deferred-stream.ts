import type { OptimizedStream } from './types.js';

/** What the consumer did before the stream it waits for existed. */
interface Stop {
  readonly reason: unknown;
  readonly returned: boolean;
}

/**
 * A stream whose source is not known yet (the shared store is being read): reads wait for it, then
 * go to it. `return()` or `abort()` before it is known abort `lookup`, so that no upstream stream is
 * started for a consumer that has gone; the stream that resolves is then ended the same way.
 */
export class DeferredStream<C> implements OptimizedStream<C> {
  readonly ready: Promise<void>;
  readonly #pending: Promise<OptimizedStream<C>>;
  readonly #lookup: AbortController;
  #inner: OptimizedStream<C> | undefined;
  #stop: Stop | undefined;

  /** `pending` must always resolve (to a failed stream on error). */
  constructor(pending: Promise<OptimizedStream<C>>, lookup: AbortController) {
    this.#lookup = lookup;
    this.#pending = pending.then((inner) => {
      this.#inner = inner;
      const stop = this.#stop;
      if (stop?.returned === true) void inner.return();
      else if (stop !== undefined) inner.abort(stop.reason);
      return inner;
    });
    this.ready = this.#pending.then((inner) => inner.ready);
    this.ready.catch(() => undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<C, undefined>> {
    const inner = this.#inner ?? (await this.#pending);
    if (this.#stop?.returned === true) return { done: true, value: undefined };
    return inner.next();
  }

  return(): Promise<IteratorResult<C, undefined>> {
    if (this.#inner !== undefined) return this.#inner.return();
    this.#stopBeforeStart(new DOMException('The consumer stopped reading before the stream started', 'AbortError'), true);
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<C, undefined>> {
    void this.return();
    return Promise.reject(error);
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#inner !== undefined) return this.#inner.abort(reason);
    this.#stopBeforeStart(reason, false);
  }

  #stopBeforeStart(reason: unknown, returned: boolean): void {
    if (this.#stop !== undefined) return;
    this.#stop = { reason, returned };
    this.#lookup.abort(reason);
  }
}
