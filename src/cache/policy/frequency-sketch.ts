/**
 * How often keys were seen recently, approximately, in fixed memory (TinyLFU: Einziger, Friedman and
 * Manes, ACM ToS 2017). A doorkeeper (a one-bit-per-cell Bloom filter) absorbs each key's first
 * sighting, so the many keys seen once never reach the count-min sketch of 4-bit counters behind it;
 * increments are conservative (only the smallest of a key's four counters grow), and after a sample
 * of ten accesses per entry every counter is halved and the doorkeeper emptied (aging), so old
 * popularity fades.
 */
export class FrequencySketch {
  #table = new Uint32Array(0);
  #tableMask = 0;
  #door = new Uint32Array(0);
  #doorMask = 0;
  #additions = 0;
  #sampleSize = 0;

  /** Sizes the sketch for `capacity` entries (384 bytes at least, so a small cache's keys rarely share counters); a larger capacity starts the counts afresh. */
  ensureCapacity(capacity: number): void {
    // The sample follows the capacity even when the table is already large enough (its floor).
    this.#sampleSize = SAMPLE_PER_ENTRY * capacity;
    const words = powerOfTwo(Math.max(64, Math.ceil((capacity * COUNTERS_PER_ENTRY) / 8)));
    if (words <= this.#table.length) return;
    this.#table = new Uint32Array(words);
    this.#tableMask = words - 1;
    const doorWords = powerOfTwo(Math.max(32, Math.ceil((capacity * DOOR_BITS_PER_ENTRY) / 32)));
    this.#door = new Uint32Array(doorWords);
    this.#doorMask = doorWords * 32 - 1;
    this.#additions = 0;
  }

  /** Estimated accesses of `fp` in the current sample, 0–16. */
  frequency(fp: number): number {
    const h = spread(fp);
    const step = (h >>> 16) | 1;
    let min = 15;
    for (let i = 0, at = h; i < 4; i++, at = (at + step) >>> 0) {
      const c = ((this.#table[(at >>> 3) & this.#tableMask] as number) >>> ((at & 7) << 2)) & 15;
      if (c < min) min = c;
    }
    return min + (this.#inDoor(h) ? 1 : 0);
  }

  /** Counts one access of `fp`. */
  increment(fp: number): void {
    const h = spread(fp);
    if (this.#inDoor(h)) this.#count(h);
    else this.#enterDoor(h);
    if (++this.#additions >= this.#sampleSize) this.#age();
  }

  #count(h: number): void {
    const step = (h >>> 16) | 1;
    const table = this.#table;
    const mask = this.#tableMask;
    let min = 15;
    for (let i = 0, at = h; i < 4; i++, at = (at + step) >>> 0) {
      const c = ((table[(at >>> 3) & mask] as number) >>> ((at & 7) << 2)) & 15;
      if (c < min) min = c;
    }
    if (min === 15) return;
    for (let i = 0, at = h; i < 4; i++, at = (at + step) >>> 0) {
      const word = (at >>> 3) & mask;
      const shift = (at & 7) << 2;
      if ((((table[word] as number) >>> shift) & 15) === min) table[word] = (table[word] as number) + (1 << shift);
    }
  }

  #inDoor(h: number): boolean {
    const a = h & this.#doorMask;
    const b = Math.imul(h, 0x2c1b3c6d) >>> 0 & this.#doorMask;
    return ((this.#door[a >>> 5] as number) & (1 << (a & 31))) !== 0 && ((this.#door[b >>> 5] as number) & (1 << (b & 31))) !== 0;
  }

  #enterDoor(h: number): void {
    const a = h & this.#doorMask;
    const b = Math.imul(h, 0x2c1b3c6d) >>> 0 & this.#doorMask;
    this.#door[a >>> 5] = (this.#door[a >>> 5] as number) | (1 << (a & 31));
    this.#door[b >>> 5] = (this.#door[b >>> 5] as number) | (1 << (b & 31));
  }

  #age(): void {
    const table = this.#table;
    for (let i = 0; i < table.length; i++) table[i] = ((table[i] as number) >>> 1) & 0x77777777;
    this.#door.fill(0);
    this.#additions = 0;
  }

  clear(): void {
    this.#table.fill(0);
    this.#door.fill(0);
    this.#additions = 0;
  }
}

/** Four-bit counters per entry of capacity (Caffeine uses 16; the doorkeeper lets far fewer do). */
const COUNTERS_PER_ENTRY = 4;
const DOOR_BITS_PER_ENTRY = 8;
/** Accesses per entry of capacity before the counts are halved (Caffeine's and the paper's 10). */
const SAMPLE_PER_ENTRY = 10;

function powerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/** Fingerprints are well mixed already; one more round decorrelates the sketch's cells from the index's slots. */
function spread(fp: number): number {
  const h = Math.imul(fp ^ (fp >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
