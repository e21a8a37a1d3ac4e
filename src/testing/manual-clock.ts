import { abortReason } from './abort.js';
import { expectFiniteNumber, expectNonNegativeNumber } from './option-checks.js';

/**
 * A clock that only moves when the test moves it. Pass it (and its `sleep`) wherever the code
 * under test accepts an injected clock, so tests never wait on the wall clock.
 *
 * @example
 * ```ts
 * const clock = createManualClock();
 * const slept = clock.sleep(100);
 * clock.advance(100); // `slept` resolves
 * ```
 */
export interface ManualClock {
  /** Current time in milliseconds. */
  now(): number;
  /**
   * Moves time forward by `ms`, resolving every sleep whose deadline is reached, earliest first
   * (ties in the order the sleeps were started). Continuations run after `advance` returns, so a
   * sleep started by such a continuation is not fired by this call: use {@link advanceAsync} then.
   */
  advance(ms: number): void;
  /**
   * Like {@link advance}, but fires due timers one at a time and lets promise continuations run
   * between them, so chains of sleeps inside the window (latency, then one sleep per chunk) all fire.
   */
  advanceAsync(ms: number): Promise<void>;
  /** Sets the time. Moving forward fires due timers like {@link advance}; moving back fires none. */
  set(ms: number): void;
  /**
   * Resolves once the clock reaches `now() + ms`; `ms <= 0` resolves at once. Rejects with the
   * signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many sleeps are waiting: lets a test see that the code under test has started waiting. */
  readonly pendingTimers: number;
}

interface Timer {
  readonly deadline: number;
  readonly order: number;
  readonly resolve: () => void;
}

class ManualClockImpl implements ManualClock {
  #now: number;
  #timers: Timer[] = [];
  #order = 0;

  constructor(startMs: number) {
    this.#now = startMs;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  now = (): number => this.#now;

  advance = (ms: number): void => {
    expectNonNegativeNumber('ms', ms);
    const target = this.#now + ms;
    for (let timer = this.#nextDue(target); timer !== undefined; timer = this.#nextDue(target)) {
      this.#fire(timer);
    }
    this.#now = target;
  };

  advanceAsync = async (ms: number): Promise<void> => {
    expectNonNegativeNumber('ms', ms);
    const target = this.#now + ms;
    await flushContinuations();
    for (let timer = this.#nextDue(target); timer !== undefined; timer = this.#nextDue(target)) {
      this.#fire(timer);
      await flushContinuations();
    }
    this.#now = target;
  };

  set = (ms: number): void => {
    expectFiniteNumber('ms', ms);
    if (ms >= this.#now) this.advance(ms - this.#now);
    else this.#now = ms;
  };

  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    expectFiniteNumber('ms', ms);
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((item) => item !== timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer: Timer = {
        deadline: this.#now + ms,
        order: this.#order++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  #nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers) {
      if (timer.deadline > target) continue;
      if (best === undefined || timer.deadline < best.deadline ||
        (timer.deadline === best.deadline && timer.order < best.order)) best = timer;
    }
    return best;
  }

  #fire(timer: Timer): void {
    this.#timers = this.#timers.filter((item) => item !== timer);
    this.#now = Math.max(this.#now, timer.deadline);
    timer.resolve();
  }
}

/** One macrotask turn: every pending promise continuation has run by then. */
const flushContinuations = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Creates a {@link ManualClock} starting at `startMs`.
 *
 * @param startMs - initial time in milliseconds. @default 0
 * @throws RangeError when `startMs` is not a finite number.
 */
export function createManualClock(startMs = 0): ManualClock {
  expectFiniteNumber('startMs', startMs);
  return new ManualClockImpl(startMs);
}
