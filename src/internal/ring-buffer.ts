/**
 * A fixed-size history of (timestamp, value) pairs in preallocated typed arrays: `push` never
 * allocates, so it can sit on the cache-hit path. `seq` counts every push ever made, which lets a
 * reader that remembers where it stopped catch up on what it has not seen (if it is still held).
 */
export class RingBuffer {
  readonly capacity: number;
  readonly #values: Float64Array;
  readonly #times: Float64Array;
  #seq = 0;
  /** Where the next push goes (`seq % capacity`, kept to spare a division per push). */
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#values = new Float64Array(capacity);
    this.#times = new Float64Array(capacity);
  }

  /** Pushes ever made (not capped by capacity). */
  get seq(): number {
    return this.#seq;
  }

  /** Values held (at most `capacity`). */
  get size(): number {
    return this.#seq < this.capacity ? this.#seq : this.capacity;
  }

  /** The oldest sequence number still held. */
  get firstSeq(): number {
    return this.#seq - this.size;
  }

  push(value: number, timestampMs: number): void {
    const i = this.#next;
    this.#values[i] = value;
    this.#times[i] = timestampMs;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    this.#seq++;
  }

  /** Value of push number `seq` (must be in [firstSeq, seq)). */
  valueAt(seq: number): number {
    return this.#values[seq % this.capacity] as number;
  }

  timeAt(seq: number): number {
    return this.#times[seq % this.capacity] as number;
  }

  /** The most recent value, or NaN when empty. */
  last(): number {
    return this.#seq === 0 ? Number.NaN : this.valueAt(this.#seq - 1);
  }

  /** Values held from `fromSeq` (clamped to what is held) to the newest, oldest first. */
  values(fromSeq = 0): number[] {
    const out: number[] = [];
    for (let s = Math.max(fromSeq, this.firstSeq); s < this.#seq; s++) out.push(this.valueAt(s));
    return out;
  }

  /**
   * First sequence number whose timestamp is at or after `timestampMs` (strictly after when
   * `exclusive`). Binary search: assumes timestamps were pushed in non-decreasing order.
   */
  seqSince(timestampMs: number, exclusive = false): number {
    let lo = this.firstSeq;
    let hi = this.#seq;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.timeAt(mid);
      if (t < timestampMs || (exclusive && t === timestampMs)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  clear(): void {
    this.#seq = 0;
    this.#next = 0;
  }
}
