const BINS = 64;
const MAX_SCORE = 64;
const BIN_SCALE = BINS / Math.log2(1 + MAX_SCORE);
/** Weights grow geometrically instead of decaying every bin; rescale long before overflow. */
const RESCALE_AT = 1e100;

function binOf(score: number): number {
  return Math.min(BINS - 1, Math.floor(Math.log2(1 + score) * BIN_SCALE));
}

/**
 * Exponentially decayed histogram of non-negative scores on log-spaced bins (64 bins over
 * [0, 64], about 7 % wide each). `tail(s)` is the decayed fraction of past scores that fell in
 * `s`'s bin or above: an empirical, bounded-memory p-value. O(1) add, at most 64 steps per query.
 */
export class DecayedHistogram {
  readonly #bins = new Float64Array(BINS);
  readonly #growth: number;
  #weight = 1;
  #total = 0;

  /** @param decay weight lost per new score, e.g. `1 / 1000` for a memory of ~1000 scores. */
  constructor(decay: number) {
    this.#growth = 1 / (1 - decay);
  }

  add(score: number): void {
    const b = binOf(score);
    this.#bins[b] = (this.#bins[b] ?? 0) + this.#weight;
    this.#total += this.#weight;
    this.#weight *= this.#growth;
    if (this.#weight > RESCALE_AT) this.#rescale();
  }

  /** Fraction of past scores at least as large as `score` (bin resolution); 1 when empty. */
  tail(score: number): number {
    if (this.#total === 0) return 1;
    const b = binOf(score);
    let above = 0;
    for (let i = BINS - 1; i >= b; i--) above += this.#bins[i] ?? 0;
    return above / this.#total;
  }

  clear(): void {
    this.#bins.fill(0);
    this.#weight = 1;
    this.#total = 0;
  }

  #rescale(): void {
    const w = this.#weight;
    for (let i = 0; i < BINS; i++) this.#bins[i] = (this.#bins[i] ?? 0) / w;
    this.#total /= w;
    this.#weight = 1;
  }
}
