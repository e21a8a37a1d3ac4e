// Reference implementation of the original service's 3σ rule, which the `seed-3sigma` method must
// match point for point (test/monitor/anomaly-detector.test.ts).
//
// Copied verbatim, so the tests run from this repository alone, from the workspace's shared NAB
// tools (`tools/nab/detectors/seed-3sigma.mjs`, and `Ring` and `RollingMoments` from
// `tools/nab/lib/rolling.mjs`), written for this project as the specification of the seed rule; they
// carry no licence of their own. The NAB data those tools score against is not copied.

/** Fixed-capacity ring buffer of numbers. */
class Ring {
  constructor(cap) { this.buf = new Float64Array(cap); this.cap = cap; this.len = 0; this.head = 0; }
  /** Append x; returns the evicted value, or undefined while not full. */
  push(x) {
    let old;
    if (this.len === this.cap) { old = this.buf[this.head]; } else this.len++;
    this.buf[this.head] = x;
    this.head = (this.head + 1) % this.cap;
    return old;
  }
}

/** Rolling mean / sample std over the last `cap` values, O(1) per update (shifted sums, periodic exact recompute). */
class RollingMoments {
  constructor(cap) { this.ring = new Ring(cap); this.shift = NaN; this.s1 = 0; this.s2 = 0; this.sinceRecompute = 0; }
  get n() { return this.ring.len; }
  push(x) {
    if (Number.isNaN(this.shift)) this.shift = x;
    const old = this.ring.push(x);
    const y = x - this.shift;
    this.s1 += y; this.s2 += y * y;
    if (old !== undefined) { const o = old - this.shift; this.s1 -= o; this.s2 -= o * o; }
    if (++this.sinceRecompute >= this.ring.cap) this.recompute();
  }
  recompute() {
    const { buf, len } = this.ring;
    let m = 0; for (let i = 0; i < len; i++) m += buf[i];
    this.shift = m / len; this.s1 = 0; this.s2 = 0;
    for (let i = 0; i < len; i++) { const y = buf[i] - this.shift; this.s1 += y; this.s2 += y * y; }
    this.sinceRecompute = 0;
  }
  mean() { return this.shift + this.s1 / this.n; }
  std() {
    const n = this.n; if (n < 2) return 0;
    const v = (this.s2 - (this.s1 * this.s1) / n) / (n - 1);
    return v > 0 ? Math.sqrt(v) : 0;
  }
}

// Seed rule of the PerformanceMonitor design, as specified: keep the last 1,000 values; after a
// warm-up, flag x when |x - mean| > 3 * std of that history (history taken before x is added;
// every value, anomalous or not, enters the history). No debouncing.
export function createDetector({ window = 1000, warmup = 30, k = 3 } = {}) {
  const m = new RollingMoments(window);
  return {
    push(x) {
      let flag = false;
      if (m.n >= warmup) flag = Math.abs(x - m.mean()) > k * m.std();
      m.push(x);
      return flag;
    },
  };
}
