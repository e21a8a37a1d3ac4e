import { DecayedHistogram } from '../../internal/decayed-histogram.js';

export interface ChannelSettings {
  readonly rarity: number;
  readonly scaleWindowPoints: number;
  readonly rarityWindowPoints: number;
  readonly warmupPoints: number;
}

/** A residual counts at most this many mean squares (100 RMS) in the scale once the scale is known (neutral on the NAB dev split). */
const OUTLIER_SQUARE_CAP = 10_000;

/** Floors for the scale of a flat residual: relative to the level, then absolute. */
const RELATIVE_SCALE_FLOOR = 1e-6;
const ABSOLUTE_SCALE_FLOOR = 1e-12;

/**
 * Rarity of a surprise while the history is too short to show it directly. `settled` holds only
 * surprises measured against a settled scale (one learned from at least `warmupPoints` residuals);
 * fewer than `1 / rarity` of them cannot resolve a 1-in-`1 / rarity` tail, so the tail at `s` is
 * also extrapolated from the tail at `s / 2`, assuming it falls at least like 1/s² in between (the
 * decay Chebyshev's inequality guarantees for any series with a finite RMS). A residual larger
 * than anything seen since the scale settled therefore passes only if residuals half its size
 * were rare too: heavy-tailed series stay quiet, a spike in steady noise does not.
 */
function warmupTail(settled: DecayedHistogram, surprise: number): number {
  return Math.max(settled.tail(surprise), settled.tail(surprise / 2) / 4);
}

/**
 * One view of a series: a residual (a one-step change, a shift of the recent mean…) measured in
 * units of its own root-mean-square (a plain running mean for the first `scaleWindowPoints`
 * residuals, exponential smoothing `1 / scaleWindowPoints` after), and how rare such a surprise
 * has been, read from an exponentially decayed histogram of past surprises: an empirical p-value
 * that adapts to each series on its own, whatever the shape of its noise.
 *
 * Warm-up: the main histogram also holds the first surprises, measured against a scale of a few
 * residuals; they fade with its memory but keep its tail above `rarity` for about `1 / rarity`
 * points. Until `1 / rarity` settled surprises have been seen, rarity is read instead from a
 * second histogram of settled surprises only ({@link warmupTail}).
 */
export class SurpriseChannel {
  readonly #settings: ChannelSettings;
  readonly #boundOutliers: boolean;
  readonly #surprises: DecayedHistogram;
  readonly #settled: DecayedHistogram;
  readonly #settledAfter: number;
  #meanSquare = 0;
  #count = 0;
  #settledCount = 0;

  /** `boundOutliers`: the scale takes at most 100 RMS of one residual ('rare-shift'; 'rare-change' keeps its published arithmetic). */
  constructor(settings: ChannelSettings, boundOutliers = false) {
    this.#settings = settings;
    this.#boundOutliers = boundOutliers;
    this.#surprises = new DecayedHistogram(1 / settings.rarityWindowPoints);
    this.#settled = new DecayedHistogram(1 / settings.rarityWindowPoints);
    this.#settledAfter = Math.max(1, settings.warmupPoints);
  }

  /** |residual| in units of the typical residual so far; 0 when there is no residual yet (NaN). */
  surprise(residual: number, level: number): number {
    if (Number.isNaN(residual)) return 0;
    const rms = Math.sqrt(this.#meanSquare);
    return Math.abs(residual) / Math.max(rms, RELATIVE_SCALE_FLOOR * Math.abs(level), ABSOLUTE_SCALE_FLOOR);
  }

  /** Share of recent surprises at least as large as `surprise` (see the class comment for warm-up). */
  tail(surprise: number): number {
    return this.#warmingUp() ? warmupTail(this.#settled, surprise) : this.#surprises.tail(surprise);
  }

  /** Records `surprise` in the histograms, then learns the scale from `residual` (NaN: nothing to learn). */
  learn(surprise: number, residual: number): void {
    this.#surprises.add(surprise);
    if (this.#count >= this.#settledAfter && this.#warmingUp()) {
      this.#settled.add(surprise);
      this.#settledCount++;
    }
    if (Number.isNaN(residual)) return;
    const weight = 1 / Math.min(this.#count + 1, this.#settings.scaleWindowPoints);
    // Clamp so that an absurd but finite jump (1e200) cannot turn the state into Infinity/NaN, and,
    // once the scale is known, so that one outlier moves it by a bounded step (Huber-like): a single
    // 100× sample must not blind the channel for thousands of points; a lasting change still grows
    // the scale geometrically, point after point.
    let square = Math.min(residual * residual, Number.MAX_VALUE);
    if (this.#boundOutliers && this.#count >= this.#settledAfter && this.#meanSquare > 0) square = Math.min(square, OUTLIER_SQUARE_CAP * this.#meanSquare);
    this.#meanSquare += weight * (square - this.#meanSquare);
    this.#count++;
  }

  reset(): void {
    this.#surprises.clear();
    this.#settled.clear();
    this.#meanSquare = 0;
    this.#count = 0;
    this.#settledCount = 0;
  }

  #warmingUp(): boolean {
    return this.#settledCount * this.#settings.rarity < 1;
  }
}
