import { FrequencySketch } from './frequency-sketch.js';
import type { EvictionPolicy, SlotFingerprint } from './policy.js';
import { grown, SlotLists } from './slot-lists.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
/** Caffeine's starting point: 1 % of the entries in the window, 80 % of the main space protected. */
const INITIAL_WINDOW_SHARE = 0.01;
const PROTECTED_SHARE = 0.8;
/** Caffeine's hill climber: step 6.25 % of the cache, decaying 2 % a sample, restarting on a 5-point change. */
const STEP = 0.0625;
const STEP_DECAY = 0.98;
const RESTART_THRESHOLD = 0.05;
/** A candidate this frequent is admitted against a hotter victim once in 128 (Caffeine: defeats hash flooding). */
const WARM_CANDIDATE = 6;

/**
 * W-TinyLFU as Caffeine does it: new entries enter a small LRU window; an entry leaving the window
 * competes with the main space's next victim, and only the one the frequency sketch says was used
 * more often stays, so one-off keys never push out popular ones (the loser, when it is the newcomer,
 * was refused admission: cause `rejected`). The main space is a segmented LRU (probation, and
 * protected for entries hit there). A hill climber resizes the window every sample (ten accesses per
 * entry) in whichever direction raised the hit ratio, so recency-heavy traffic gets a large window.
 */
export class WTinyLfuPolicy implements EvictionPolicy {
  readonly #lists = new SlotLists(3, 0);
  #queue = new Uint8Array(0);
  readonly #sketch = new FrequencySketch();
  readonly #fpOf: SlotFingerprint;
  #windowShare = INITIAL_WINDOW_SHARE;
  #step = STEP;
  #sampleHits = 0;
  #sampleMisses = 0;
  #sampleSize = 0;
  #previousHitRate = 0;
  #random = 0x9e3779b9;
  refused = false;

  constructor(capacity: number, fpOf: SlotFingerprint) {
    this.#fpOf = fpOf;
    this.grow(capacity);
  }

  grow(capacity: number): void {
    this.#lists.grow(capacity);
    this.#queue = grown(this.#queue, capacity);
    this.#sketch.ensureCapacity(capacity);
    this.#sampleSize = 10 * capacity;
  }

  resize(): void {}

  /** The window's share of the entries (what the climber has chosen), for tests and the simulator. */
  get windowShare(): number {
    return this.#windowShare;
  }

  hit(slot: number, fp: number): void {
    this.#sketch.increment(fp);
    const queue = this.#queue[slot] as number;
    if (queue === PROBATION) {
      this.#queue[slot] = PROTECTED;
      this.#lists.move(PROBATION, PROTECTED, slot);
      this.#demoteProtected();
    } else {
      this.#lists.move(queue, queue, slot);
    }
    if (++this.#sampleHits + this.#sampleMisses >= this.#sampleSize) this.#climb();
  }

  miss(fp: number): void {
    this.#sketch.increment(fp);
    if (this.#sampleHits + ++this.#sampleMisses >= this.#sampleSize) this.#climb();
  }

  insert(slot: number): void {
    this.#queue[slot] = WINDOW;
    this.#lists.push(WINDOW, slot);
  }

  remove(slot: number): void {
    this.#lists.unlink(this.#queue[slot] as number, slot);
  }

  evict(): number {
    const lists = this.#lists;
    for (;;) {
      const window = lists.length[WINDOW] as number;
      const main = (lists.length[PROBATION] as number) + (lists.length[PROTECTED] as number);
      if (window + main === 0) return -1;
      if (window > 0 && (window > this.#windowShare * (window + main) || main === 0)) {
        const candidate = lists.head[WINDOW] as number;
        const victim = this.#mainVictim();
        if (victim === -1) {
          this.#queue[candidate] = PROBATION;
          lists.move(WINDOW, PROBATION, candidate);
          continue;
        }
        if (!this.#admit(candidate, victim)) return this.#drop(WINDOW, candidate, true);
        this.#queue[candidate] = PROBATION;
        lists.move(WINDOW, PROBATION, candidate);
        return this.#drop(this.#queue[victim] as number, victim, false);
      }
      const victim = this.#mainVictim();
      return victim === -1 ? this.#drop(WINDOW, lists.head[WINDOW] as number, false) : this.#drop(this.#queue[victim] as number, victim, false);
    }
  }

  #mainVictim(): number {
    const probation = this.#lists.head[PROBATION] as number;
    return probation === -1 ? (this.#lists.head[PROTECTED] as number) : probation;
  }

  #admit(candidate: number, victim: number): boolean {
    const candidateFreq = this.#sketch.frequency(this.#fpOf(candidate));
    const victimFreq = this.#sketch.frequency(this.#fpOf(victim));
    if (candidateFreq > victimFreq) return true;
    if (candidateFreq < WARM_CANDIDATE) return false;
    this.#random ^= this.#random << 13;
    this.#random ^= this.#random >>> 17;
    this.#random ^= this.#random << 5;
    return (this.#random & 127) === 0;
  }

  #drop(queue: number, slot: number, refused: boolean): number {
    this.#lists.unlink(queue, slot);
    this.refused = refused;
    return slot;
  }

  #demoteProtected(): void {
    const lists = this.#lists;
    const protectedCount = lists.length[PROTECTED] as number;
    if (protectedCount <= PROTECTED_SHARE * (protectedCount + (lists.length[PROBATION] as number))) return;
    const oldest = lists.head[PROTECTED] as number;
    this.#queue[oldest] = PROBATION;
    lists.move(PROTECTED, PROBATION, oldest);
  }

  /** Caffeine's climber: keep stepping the window the way that last raised the hit ratio. */
  #climb(): void {
    const requests = this.#sampleHits + this.#sampleMisses;
    const hitRate = this.#sampleHits / requests;
    const change = hitRate - this.#previousHitRate;
    const amount = change >= 0 ? this.#step : -this.#step;
    this.#step = Math.abs(change) >= RESTART_THRESHOLD ? STEP * Math.sign(amount || 1) : STEP_DECAY * amount;
    this.#previousHitRate = hitRate;
    this.#windowShare = Math.min(1, Math.max(0, this.#windowShare + amount));
    this.#sampleHits = 0;
    this.#sampleMisses = 0;
  }

  clear(): void {
    this.#lists.clear();
    this.#sketch.clear();
  }

  *order(): Iterable<number> {
    yield* this.#lists.fromTail(PROTECTED);
    yield* this.#lists.fromTail(PROBATION);
    yield* this.#lists.fromTail(WINDOW);
  }
}
