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
 * The default detector. Each point's one-step change is measured against the series' own
 * typical change (a slow RMS), then gated twice: it must exceed `threshold` typical changes AND be
 * rarer than `rarity` among the recent surprises (a decayed histogram: heavy-tailed series such as
 * tweet counts, and regular daily jumps, stop alerting once they are the norm). After an alert the
 * detector stays quiet for `cooldownPoints` so that one event raises one alert.
 */
export function createRareChangeRule(settings: RareChangeSettings): PointDetector {
  let scale = new ChangeScale(settings.scaleWindowPoints);
  const surprises = new DecayedHistogram(1 / settings.rarityWindowPoints);
  let seen = 0;
  let lastAlert = Number.NEGATIVE_INFINITY;

  const judge = (surprise: number): PointVerdict => {
    const tail = surprises.tail(surprise);
    const score = surprise > 0 ? Math.max(0, 1 - tail) : 0; // rounding can give −2e-16
    const candidate = seen > settings.warmupPoints && surprise > settings.threshold && tail < settings.rarity;
    const isAnomaly = candidate && seen - lastAlert > settings.cooldownPoints;
    if (isAnomaly) lastAlert = seen;
    return { isAnomaly, score };
  };

  return {
    observe(x) {
      seen++;
      const surprise = scale.surprise(x);
      scale.update(x);
      const verdict = judge(surprise);
      surprises.add(surprise);
      return verdict;
    },
    reset() {
      scale = new ChangeScale(settings.scaleWindowPoints);
      surprises.clear();
      seen = 0;
      lastAlert = Number.NEGATIVE_INFINITY;
    },
  };
}
