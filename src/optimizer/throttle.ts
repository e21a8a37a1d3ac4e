interface Waiter {
  start(): void;
}

/**
 * A concurrency limit on `exec` with a FIFO queue. A queued caller whose signal aborts leaves the
 * queue at once with the signal's reason. `Infinity` means no limit (and no overhead).
 */
export class Throttle {
  #limit: number;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(limit = Number.POSITIVE_INFINITY) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Changes the limit; raising it starts queued calls at once. */
  set limit(value: number) {
    if (!(value >= 1)) throw new RangeError(`\`maxConcurrency\` must be at least 1, received ${value}`);
    this.#limit = value;
    this.#drain();
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  async run<T>(work: () => T | PromiseLike<T>, signal: AbortSignal): Promise<T> {
    if (this.#active >= this.#limit) await this.#enqueue(signal);
    else this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
      this.#drain();
    }
  }

  #enqueue(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener('abort', onAbort);
          this.#active++;
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #drain(): void {
    while (this.#active < this.#limit && this.#queue.length > 0) this.#queue.shift()?.start();
  }
}
