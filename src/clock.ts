/** A source of time in milliseconds. Inject one (e.g. `createManualClock()` from `/testing`) to drive TTLs in tests. */
export interface Clock {
  now(): number;
}

/** Monotonic wall-clock milliseconds: epoch-based like `Date.now()`, but never jumps backwards. */
const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => origin + performance.now(),
};
