/** Options of {@link createSeasonalForecaster}. */
export interface SeasonalForecasterOptions {
  /**
   * Width of one observation (a bucket of calls), in ms. The daily and weekly seasons are counted
   * in buckets, so a day must hold a whole number of them.
   * @default 300_000 (5 minutes)
   */
  readonly bucketMs?: number;
  /**
   * Learn a weekly rhythm on top of the daily one (7 × 24 h ÷ `bucketMs` numbers: 16 KB at 5-minute
   * buckets). `false`: daily rhythm only.
   * @default true
   */
  readonly weekly?: boolean;
}

/** A streaming forecaster of a count per bucket: level, damped trend, daily and weekly rhythm. */
export interface SeasonalForecaster {
  /**
   * Learns the count of the bucket that starts at (or contains) `timestampMs`. Buckets may be
   * skipped (nothing known about them), never revisited out of order: an earlier bucket is ignored.
   * A non-finite or negative `value` is ignored.
   */
  observe(value: number, timestampMs: number): void;
  /** Expected count of the bucket containing `timestampMs` (≥ 0); `NaN` before anything was observed. */
  forecast(timestampMs: number): number;
  /** Buckets observed so far. */
  readonly observed: number;
}

const DAY_MS = 86_400_000;
/** Largest count per bucket taken as it is. */
const MAX_COUNT = 1e12;
/** Smoothing of each daily and weekly slot (per visit), and of the recent correction (per bucket). */
const GAMMA_DAY = 0.2;
const GAMMA_WEEK = 0.3;
const CORRECTION_SMOOTHING = 1 / 6;
/** The correction fades by this factor per bucket ahead. */
const CORRECTION_DAMPING = 0.9;
/** Counts beyond this many mean absolute errors (or Poisson SDs) from the forecast are clipped before they teach the rhythm (bursts). */
const CLIP = 3;
const ERROR_SMOOTHING = 0.02;

/** Exponentially smoothed value per slot; the first visit sets it. */
class Profile {
  readonly values: Float64Array;
  readonly visits: Uint16Array;
  readonly #gamma: number;

  constructor(slots: number, gamma: number) {
    this.values = new Float64Array(slots);
    this.visits = new Uint16Array(slots);
    this.#gamma = gamma;
  }

  slot(bucket: number): number {
    const n = this.values.length;
    return ((bucket % n) + n) % n;
  }

  known(bucket: number): boolean {
    return (this.visits[this.slot(bucket)] ?? 0) > 0;
  }

  at(bucket: number): number {
    return this.values[this.slot(bucket)] ?? 0;
  }

  learn(bucket: number, value: number): void {
    const i = this.slot(bucket);
    const visits = this.visits[i] ?? 0;
    this.values[i] = visits === 0 ? value : (this.values[i] ?? 0) + this.#gamma * (value - (this.values[i] ?? 0));
    if (visits < 65_535) this.visits[i] = visits + 1;
  }
}

function checkOptions(options: SeasonalForecasterOptions): { bucketMs: number; weekly: boolean } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`The forecaster's options must be an object; received ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'bucketMs' && key !== 'weekly') throw new TypeError(`Unknown forecaster option \`${key}\`; known options: bucketMs, weekly`);
  }
  const bucketMs = options.bucketMs ?? 300_000;
  if (typeof bucketMs !== 'number' || !Number.isInteger(bucketMs) || bucketMs < 1 || DAY_MS % bucketMs !== 0) {
    throw new RangeError(`\`bucketMs\` must be a positive integer that divides a day (86 400 000 ms); received ${String(bucketMs)}`);
  }
  const weekly = options.weekly ?? true;
  if (typeof weekly !== 'boolean') throw new TypeError(`\`weekly\` must be a boolean; received ${typeof weekly} ${String(weekly)}`);
  return { bucketMs, weekly };
}

/**
 * Creates a robust seasonal forecaster of a count per bucket. It keeps the smoothed count of every
 * time of day and, with `weekly`, of every time of week (the weekly one knows quiet weekends, the
 * daily one fills in until a week has been seen; the forecast weighs the two by how well each has
 * predicted lately, so each series finds its own blend), plus a recent
 * correction: the smoothed error of the last hour or so, which carries growth, a slow day or the
 * start of a busy spell, fading over the buckets ahead. A count far from the forecast (over 3
 * mean absolute errors) is clipped before it teaches the rhythm: a burst moves tomorrow's forecast
 * a little, not the whole profile. O(1) per bucket; memory: one number per daily slot and, with
 * `weekly`, one per weekly slot (16 KB at 5-minute buckets).
 *
 * @example
 * ```ts
 * const f = createSeasonalForecaster({ bucketMs: 300_000 });
 * f.observe(42, Date.parse('2026-12-01T09:00:00Z')); // 42 calls between 09:00 and 09:05
 * f.forecast(Date.parse('2026-12-02T09:00:00Z'));    // expected calls tomorrow at 09:00
 * ```
 */
export function createSeasonalForecaster(options: SeasonalForecasterOptions = {}): SeasonalForecaster {
  const { bucketMs, weekly } = checkOptions(options);
  const daySlots = DAY_MS / bucketMs;
  const day = new Profile(daySlots, GAMMA_DAY);
  const week = weekly ? new Profile(daySlots * 7, GAMMA_WEEK) : undefined;
  let level = Number.NaN;
  let correction = 0;
  let meanAbsError = 0;
  let dayError = 0;
  let weekError = 0;
  let lastBucket = Number.NEGATIVE_INFINITY;
  let observed = 0;

  const bucketOf = (t: number): number => Math.floor(t / bucketMs);
  /**
   * The rhythm's count for a bucket: the weekly and daily profiles weighted by how well each has
   * predicted lately (the inverse of its mean absolute error), whichever is known, else the level.
   */
  const base = (bucket: number): number => {
    const d = day.known(bucket) ? day.at(bucket) : Number.NaN;
    const w = week?.known(bucket) === true ? week.at(bucket) : Number.NaN;
    if (!Number.isNaN(d) && !Number.isNaN(w)) {
      const errors = dayError + weekError;
      return errors > 0 ? (d * weekError + w * dayError) / errors : (d + w) / 2;
    }
    if (!Number.isNaN(w)) return w;
    return Number.isNaN(d) ? level : d;
  };
  const predict = (bucket: number): number =>
    Math.max(0, base(bucket) + correction * CORRECTION_DAMPING ** Math.max(0, bucket - lastBucket - 1));

  return {
    get observed() {
      return observed;
    },
    observe(value, timestampMs) {
      if (!Number.isFinite(value) || value < 0 || !Number.isFinite(timestampMs)) return;
      // Counts past 1e12 per bucket are not calls: held there so that products of counts and errors stay finite.
      value = Math.min(value, MAX_COUNT);
      const bucket = bucketOf(timestampMs);
      if (bucket <= lastBucket) return;
      let taught = value;
      if (!Number.isNaN(level)) {
        const expected = predict(bucket);
        const error = value - expected;
        // Counts are at least Poisson-noisy: never clip within 3 √(expected + 1) of the forecast.
        const limit = CLIP * Math.max(meanAbsError, Math.sqrt(expected + 1));
        if (observed >= 10) taught = Math.max(expected - limit, Math.min(expected + limit, value));
        meanAbsError += ERROR_SMOOTHING * (Math.abs(error) - meanAbsError);
        if (week?.known(bucket) === true && day.known(bucket)) {
          dayError += ERROR_SMOOTHING * (Math.abs(taught - day.at(bucket)) - dayError);
          weekError += ERROR_SMOOTHING * (Math.abs(taught - week.at(bucket)) - weekError);
        }
        correction = correction * CORRECTION_DAMPING ** (bucket - lastBucket - 1);
        correction += CORRECTION_SMOOTHING * (taught - base(bucket) - correction);
      }
      level = Number.isNaN(level) ? value : level + CORRECTION_SMOOTHING * (taught - level);
      day.learn(bucket, taught);
      week?.learn(bucket, taught);
      lastBucket = bucket;
      observed++;
    },
    forecast(timestampMs) {
      if (Number.isNaN(level)) return Number.NaN;
      return predict(bucketOf(timestampMs));
    },
  };
}
