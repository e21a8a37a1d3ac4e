/**
 * A threshold calibrated online so that a target share of calls goes to the large tier.
 *
 * Two parts (ADR 0060): the threshold is the `(1 − level)` quantile of the last `window` observed
 * difficulties (so it follows the traffic's distribution), and `level` starts at the target and is
 * nudged after each decision by `rate × (target − wentLarge)`: an integral correction that
 * absorbs what the quantile cannot see (large-tier calls forced by errors, truncation, a check
 * function, ties in the scores). Both are O(1) per call but for a sort of the window every
 * 64 observations.
 */
export class ThresholdCalibrator {
  readonly target: number;
  readonly #window: Float64Array;
  readonly #rate: number;
  #count = 0;
  #next = 0;
  #level: number;
  #sinceSort = 0;
  #threshold: number;

  constructor(target: number, window: number, initialThreshold: number, rate = 0.005) {
    this.target = target;
    this.#window = new Float64Array(window);
    this.#rate = rate;
    this.#level = target;
    this.#threshold = initialThreshold;
  }

  /** Difficulties above it go to the large tier. */
  get threshold(): number {
    return this.#threshold;
  }

  /** The share of calls the quantile currently sends large (the target, corrected). */
  get level(): number {
    return this.#level;
  }

  /** Observations seen (the window holds the last `window` of them). */
  get observations(): number {
    return this.#count;
  }

  /** Records one call's difficulty (before deciding on it, so the first calls are calibrated too). */
  observe(difficulty: number): void {
    if (!Number.isFinite(difficulty)) return;
    this.#window[this.#next] = difficulty;
    this.#next = (this.#next + 1) % this.#window.length;
    this.#count++;
    if (++this.#sinceSort >= RESORT_EVERY || this.#count <= WARM_UP) this.#recompute();
  }

  /** Records where one call went in the end (the router's decision, not where a degraded tier sent it). */
  decided(wentLarge: boolean): void {
    const level = this.#level + this.#rate * (this.target - (wentLarge ? 1 : 0));
    this.#level = Math.min(1, Math.max(0, level));
  }

  /** State kept across restarts by the learned-state file. */
  export(): { level: number; window: number[] } {
    const n = Math.min(this.#count, this.#window.length);
    return { level: this.#level, window: Array.from(this.#window.subarray(0, n)) };
  }

  restore(state: { level: number; window: readonly number[] }): void {
    if (Number.isFinite(state.level)) this.#level = Math.min(1, Math.max(0, state.level));
    for (const d of state.window.slice(-this.#window.length)) this.observe(d);
    if (this.#count > 0) this.#recompute();
  }

  #recompute(): void {
    this.#sinceSort = 0;
    const n = Math.min(this.#count, this.#window.length);
    const sorted = this.#window.slice(0, n).sort();
    this.#threshold = quantileOfSorted(sorted, 1 - this.#level);
  }
}

/** Observations after which the window is sorted again (between sorts, only `level` moves). */
const RESORT_EVERY = 64;
/** The first observations each re-sort the window: the threshold settles from the very first calls. */
const WARM_UP = 16;

/**
 * The `q` quantile of sorted values, as the value below which a share `q` lies: with `q = 1` it is
 * the maximum (nothing is above it), with `q = 0` just below the minimum (everything is above it).
 */
export function quantileOfSorted(sorted: Float64Array | readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (q <= 0) return (sorted[0] as number) - Number.EPSILON * Math.max(1, Math.abs(sorted[0] as number));
  const index = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[index] as number;
}
