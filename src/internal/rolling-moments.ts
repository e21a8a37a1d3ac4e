/**
 * Rolling mean and sample standard deviation over the last `capacity` values, O(1) per update.
 *
 * The arithmetic (shifted sums, exact recompute every `capacity` pushes, summation order) is
 * deliberately identical to the NAB reference `lib/rolling.mjs`, so the seed 3σ rule built on it
 * flags exactly the same points as the reference detector, bit for bit.
 */
export class RollingMoments {
  readonly #buf: Float64Array;
  readonly #capacity: number;
  #len = 0;
  #head = 0;
  #shift = Number.NaN;
  #s1 = 0;
  #s2 = 0;
  #sinceRecompute = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#buf = new Float64Array(capacity);
  }

  get count(): number {
    return this.#len;
  }

  push(x: number): void {
    if (Number.isNaN(this.#shift)) this.#shift = x;
    const evicted = this.#len === this.#capacity ? this.#buf[this.#head] : undefined;
    if (evicted === undefined) this.#len++;
    this.#buf[this.#head] = x;
    this.#head = (this.#head + 1) % this.#capacity;
    const y = x - this.#shift;
    this.#s1 += y;
    this.#s2 += y * y;
    if (evicted !== undefined) {
      const o = evicted - this.#shift;
      this.#s1 -= o;
      this.#s2 -= o * o;
    }
    if (++this.#sinceRecompute >= this.#capacity) this.#recompute();
  }

  mean(): number {
    return this.#shift + this.#s1 / this.#len;
  }

  std(): number {
    const n = this.#len;
    if (n < 2) return 0;
    const v = (this.#s2 - (this.#s1 * this.#s1) / n) / (n - 1);
    return v > 0 ? Math.sqrt(v) : 0;
  }

  #recompute(): void {
    const buf = this.#buf;
    const len = this.#len;
    let m = 0;
    for (let i = 0; i < len; i++) m += buf[i] ?? 0;
    this.#shift = m / len;
    this.#s1 = 0;
    this.#s2 = 0;
    for (let i = 0; i < len; i++) {
      const y = (buf[i] ?? 0) - this.#shift;
      this.#s1 += y;
      this.#s2 += y * y;
    }
    this.#sinceRecompute = 0;
  }
}
