// Spatial sampling (SHARDS: Waldspurger et al., FAST 2015): keep every request to a fixed, hash-chosen
// share of the keys. The sampled trace run with a cache `rate` times as large has about the hit
// ratio of the whole trace, at `rate` of the cost. P3 (3.9 M requests) is stored sampled.
export const P3_SAMPLE_RATE = 1 / 8;

/** Whether `key` belongs to the sample of `rate` (a fixed hash: the same keys every run). */
export function sampled(key, rate) {
  let h = Math.imul(key ^ (key >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h < rate * 2 ** 32;
}
