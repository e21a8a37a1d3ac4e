/**
 * What decides which entries the in-process cache keeps: admission (may a new entry displace an old
 * one?) and eviction (which one goes?). The tier owns the entries, their slots, the index and the
 * bounds; a policy sees only slot numbers and fingerprints and keeps its own order in typed arrays.
 * Internal: users pick one by name with the cache's `policy` option.
 */
export interface EvictionPolicy {
  /** Makes room for slots `0 … capacity - 1` (the tier grows its arrays before using a new slot). */
  grow(capacity: number): void;
  /** The cache's entry bound changed (segment sizes follow it). */
  resize(maxEntries: number): void;
  /** A lookup found the entry in `slot`. The hit path: constant time, no allocation. */
  hit(slot: number, fp: number): void;
  /** A lookup of `fp` found nothing (frequency-based policies count the access). */
  miss(fp: number): void;
  /** A new entry entered `slot`. `refusedBefore`: its key was refused admission recently (a ghost). */
  insert(slot: number, fp: number, refusedBefore: boolean): void;
  /** The entry in `slot` leaves for another reason than `evict` (delete, overwrite). */
  remove(slot: number): void;
  /**
   * Picks the next entry to evict, takes it out of the policy's order and returns its slot, or -1
   * when the policy holds nothing. `refused` tells whether the choice refused the entry admission.
   */
  evict(): number;
  /** Whether the last `evict` refused its entry admission (a miss of its own cause later). */
  readonly refused: boolean;
  clear(): void;
  /** Every slot held, the one most worth keeping first (snapshots restore in reverse). */
  order(): Iterable<number>;
}

/** The policies a cache can use (`ResponseCache` option `policy`). */
export const POLICY_NAMES = ['w-tinylfu', 's3-fifo', 'sieve', 'lru'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** The first-level (30-bit) fingerprint of the entry a slot holds: a frequency policy's key for it. */
export type SlotFingerprint = (slot: number) => number;
