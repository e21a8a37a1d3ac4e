import { FrequencySketch } from './frequency-sketch.js';
import type { EvictionPolicy, SlotFingerprint } from './policy.js';
import { SlotLists } from './slot-lists.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
/** Entries that left the window just now and compete for a place in the main space (between an insert and its eviction). */
const CANDIDATES = 3;
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
 * W-TinyLFU as Caffeine does it: new entries enter a small LRU window; an entry pushed out of the
 * window competes with the main space's next victim, and only the one the frequency sketch says was
 * used more often stays, so one-off keys never push out popular ones (a newcomer that loses was
 * refused admission: its next miss has the cause `rejected`). The main space is a segmented LRU
 * (probation, and protected for entries hit there). A hill climber resizes the window every sample
 * (ten accesses per entry) in whichever direction raised the hit ratio, so recency-heavy traffic
 * gets a large window and frequency-heavy traffic a small one.
 */
export class WTinyLfuPolicy implements EvictionPolicy {
  readonly #lists = new SlotLists(4, 0);
  readonly #sketch = new FrequencySketch();
  readonly #fpOf: SlotFingerprint;
  /** Entries the cache holds when full: the entry bound, or fewer when bytes bind first. */
  #capacity = 1;
  #windowShare = INITIAL_WINDOW_SHARE;
  /** Signed: the climber's next move, as a share of the capacity (Caffeine starts by shrinking the window). */
  #step = -STEP;
  #sampleHits = 0;
  #sampleMisses = 0;
  #previousHitRate = 0;
  #random = 0x9e3779b9;
  refused = false;

  constructor(capacity: number, fpOf: SlotFingerprint) {
    this.#fpOf = fpOf;
    this.grow(capacity);
  }

  grow(capacity: number): void {
    this.#lists.grow(capacity);
    this.#sketch.ensureCapacity(capacity);
  }

  resize(maxEntries: number): void {
    this.#capacity = Math.max(1, maxEntries);
  }

  /** The window's share of the capacity (what the climber has chosen so far). */
  get windowShare(): number {
    return this.#windowShare;
  }

  hit(slot: number, fp: number): void {
    this.#sketch.increment(fp);
    const queue = this.#lists.listOf(slot);
    if (queue === PROBATION || queue === CANDIDATES) {
      this.#lists.move(queue, PROTECTED, slot);
      this.#demoteProtected();
    } else {
      this.#lists.move(queue, queue, slot);
    }
    if (++this.#sampleHits + this.#sampleMisses >= SAMPLE_PER_ENTRY * this.#capacity) this.#climb();
  }

  miss(fp: number): void {
    this.#sketch.increment(fp);
    if (this.#sampleHits + ++this.#sampleMisses >= SAMPLE_PER_ENTRY * this.#capacity) this.#climb();
  }

  /**
   * Puts a new entry in the window; what the window must give up becomes a candidate for the main
   * space, admitted at once while the main space has room, else left to the eviction that follows.
   */
  insert(slot: number): void {
    const lists = this.#lists;
    // Candidates of the last insert that no eviction judged: the cache had room for them.
    while (lists.length[CANDIDATES] !== 0) this.#enter(CANDIDATES, PROBATION, lists.head[CANDIDATES] as number);
    lists.push(WINDOW, slot);
    const window = lists.length[WINDOW] as number;
    const main = (lists.length[PROBATION] as number) + (lists.length[PROTECTED] as number);
    // The new entry may be evicted right after: the cache has shown room for one fewer.
    if (window + main - 1 > this.#capacity) this.#capacity = window + main - 1;
    const windowMax = Math.max(1, Math.round(this.#windowShare * this.#capacity));
    for (let over = window - windowMax, room = this.#capacity - windowMax - main; over > 0; over--, room--) {
      this.#enter(WINDOW, room > 0 ? PROBATION : CANDIDATES, lists.head[WINDOW] as number);
    }
  }

  #enter(from: number, to: number, slot: number): void {
    this.#lists.move(from, to, slot);
  }

  remove(slot: number): void {
    this.#lists.unlink(this.#lists.listOf(slot), slot);
  }

  evict(): number {
    const lists = this.#lists;
    const held = (lists.length[WINDOW] as number) + (lists.length[PROBATION] as number) + (lists.length[PROTECTED] as number) + (lists.length[CANDIDATES] as number);
    if (held === 0) return -1;
    this.#capacity = Math.max(1, held - 1);
    const victim = this.#mainVictim();
    const candidate = lists.head[CANDIDATES] as number;
    if (candidate === -1) return victim === -1 ? this.#drop(lists.head[WINDOW] as number, false) : this.#drop(victim, false);
    if (victim === -1) return this.#drop(candidate, false);
    if (!this.#admit(candidate, victim)) return this.#drop(candidate, true);
    this.#enter(CANDIDATES, PROBATION, candidate);
    return this.#drop(victim, false);
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

  #drop(slot: number, refused: boolean): number {
    this.#lists.unlink(this.#lists.listOf(slot), slot);
    this.refused = refused;
    return slot;
  }

  #demoteProtected(): void {
    const lists = this.#lists;
    const protectedCount = lists.length[PROTECTED] as number;
    if (protectedCount <= PROTECTED_SHARE * (this.#capacity * (1 - this.#windowShare))) return;
    this.#enter(PROTECTED, PROBATION, lists.head[PROTECTED] as number);
  }

  /** Caffeine's climber: keep stepping the window the way that last raised the hit ratio. */
  #climb(): void {
    const hitRate = this.#sampleHits / (this.#sampleHits + this.#sampleMisses);
    const change = hitRate - this.#previousHitRate;
    const amount = change >= 0 ? this.#step : -this.#step;
    this.#step = Math.abs(change) >= RESTART_THRESHOLD ? STEP * (amount >= 0 ? 1 : -1) : STEP_DECAY * amount;
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
    yield* this.#lists.fromTail(CANDIDATES);
    yield* this.#lists.fromTail(WINDOW);
  }
}

/** Accesses per entry of capacity in one sample of the climber (Caffeine's 10). */
const SAMPLE_PER_ENTRY = 10;
