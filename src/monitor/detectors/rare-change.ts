import { DecayedHistogram } from '../../internal/decayed-histogram.js';
import type { PointDetector, PointVerdict } from './types.js';

export interface RareChangeSettings {
  readonly threshold: number;
  readonly rarity: number;
  readonly scaleWindowPoints: number;
  readonly rarityWindowPoints: number;
  readonly cooldownPoints: number;
  readonly warmupPoints: number;
}

/** Floors for the scale of a flat line: relative to the level, then absolute. */
const RELATIVE_SCALE_FLOOR = 1e-6;
const ABSOLUTE_SCALE_FLOOR = 1e-12;

/**
 * Root-mean-square of one-step changes: a plain running mean until `window` changes have been
 * seen, then an exponentially weighted one with smoothing `1 / window` (no start-up bias).
 */
class ChangeScale {
  readonly #window: number;
  #previous = Number.NaN;
  #meanSquare = 0;
  #count = 0;

  constructor(window: number) {
    this.#window = window;
  }

  /** One-step changes learned so far. */
  get changes(): number {
    return this.#count;
  }

  /** |x − previous| in units of the typical change so far; 0 for the first value. */
  surprise(x: number): number {
    const prev = this.#previous;
    if (Number.isNaN(prev)) return 0;
    const rms = Math.sqrt(this.#meanSquare);
    const scale = Math.max(rms, RELATIVE_SCALE_FLOOR * Math.abs(prev), ABSOLUTE_SCALE_FLOOR);
    return Math.abs(x - prev) / scale;
  }

  update(x: number): void {
    const prev = this.#previous;
    this.#previous = x;
    if (Number.isNaN(prev)) return;
    const d = x - prev;
    const weight = 1 / Math.min(this.#count + 1, this.#window);
    // Clamp so that an absurd but finite jump (1e200) cannot turn the state into Infinity/NaN.
    this.#meanSquare += weight * (Math.min(d * d, Number.MAX_VALUE) - this.#meanSquare);
    this.#count++;
  }
}

/**
 * Rarity of a surprise while the history is too short to show it directly. `settled` holds only
 * surprises measured against a settled scale (one learned from at least `warmupPoints` changes);
 * fewer than `1 / rarity` of them cannot resolve a 1-in-`1 / rarity` tail, so the tail at `s` is
 * also extrapolated from the tail at `s / 2`, assuming it falls at least like 1/s² in between (the
 * decay Chebyshev's inequality guarantees for any series with a finite RMS). A change larger
 * than anything seen since the scale settled therefore passes only if changes half its size were
 * rare too: heavy-tailed series stay quiet, a spike in steady noise does not.
 */
function warmupTail(settled: DecayedHistogram, surprise: number): number {
  return Math.max(settled.tail(surprise), settled.tail(surprise / 2) / 4);
}

/**
 * The default detector. Each point's one-step change is measured against the series' own
 * typical change (a slow RMS), then gated twice: it must exceed `threshold` typical changes AND be
 * rarer than `rarity` among the recent surprises (a decayed histogram: heavy-tailed series such as
 * tweet counts, and regular daily jumps, stop alerting once they are the norm). After an alert the
 * detector stays quiet for `cooldownPoints` so that one event raises one alert.
 *
 * Warm-up: the main histogram also holds the first surprises, measured against a scale of a few
 * changes (the very first one is maximal); they fade with its memory but keep its tail above
 * `rarity` for about `1 / rarity` points. Until `1 / rarity` settled surprises have been seen,
 * rarity is read instead from a second histogram of settled surprises only ({@link warmupTail}).
 */
export function createRareChangeRule(settings: RareChangeSettings): PointDetector {
  let scale = new ChangeScale(settings.scaleWindowPoints);
  const surprises = new DecayedHistogram(1 / settings.rarityWindowPoints);
  const settled = new DecayedHistogram(1 / settings.rarityWindowPoints);
  const settledAfter = Math.max(1, settings.warmupPoints);
  let settledCount = 0;
  let seen = 0;
  let lastAlert = Number.NEGATIVE_INFINITY;

  const warmingUp = (): boolean => settledCount * settings.rarity < 1;

  const judge = (surprise: number): PointVerdict => {
    const tail = warmingUp() ? warmupTail(settled, surprise) : surprises.tail(surprise);
    const score = surprise > 0 ? Math.max(0, 1 - tail) : 0; // rounding can give −2e-16
    const candidate = seen > settings.warmupPoints && surprise > settings.threshold && tail < settings.rarity;
    const isAnomaly = candidate && seen - lastAlert > settings.cooldownPoints;
    if (isAnomaly) lastAlert = seen;
    return { isAnomaly, score };
  };

  const learn = (surprise: number, changesBefore: number): void => {
    surprises.add(surprise);
    if (changesBefore >= settledAfter && warmingUp()) {
      settled.add(surprise);
      settledCount++;
    }
  };

  return {
    observe(x) {
      seen++;
      const changesBefore = scale.changes;
      const surprise = scale.surprise(x);
      scale.update(x);
      const verdict = judge(surprise);
      learn(surprise, changesBefore);
      return verdict;
    },
    reset() {
      scale = new ChangeScale(settings.scaleWindowPoints);
      surprises.clear();
      settled.clear();
      settledCount = 0;
      seen = 0;
      lastAlert = Number.NEGATIVE_INFINITY;
    },
  };
}
