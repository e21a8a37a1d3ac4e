import type { MissCause } from '../types.js';
import { fingerprint, fullFingerprint, type RequestIdentity } from './cache-key.js';
import type { Entry } from './entry.js';
import { Ghosts } from './ghosts.js';
import { createPolicy } from './policy/create.js';
import type { EvictionPolicy, PolicyName } from './policy/policy.js';
import { grown, MAX_SLOTS } from './policy/slot-lists.js';
import { SlotIndex } from './slot-index.js';

/**
 * Entries an index key holds before further ones go one level down. The first level, which natural
 * traffic fills, holds one entry a fingerprint: colliding prompts (templates that differ between the
 * samples) get their own full-fingerprint key. Full fingerprints collide only when crafted, so their
 * keys may hold a few, and further ones are found by their full text.
 */
const FIRST_BUCKET = 1;
const SECOND_BUCKET = 4;
/** Second-level keys (full fingerprints) live above the first level's 30-bit range in the same index. */
const SECOND_LEVEL = 2 ** 30;
/** `keys[slot]` of an entry found by its full text (the third level). */
const BY_TEXT = -1;
/** Hits a slot counts in 16 bits; beyond, in a map (exact, and rare). */
const HITS_MAX = 0xffff;

type Fingerprint = (id: { readonly header: string; readonly text: string }) => number;

export type RemovalReason = 'evict' | 'delete' | 'clear' | 'overwrite';

export interface TierLimits {
  maxEntries: number;
  maxBytes: number;
}

export interface TierOptions {
  policy?: PolicyName;
  /** For tests, which need collisions at every level on demand. */
  fingerprint?: Fingerprint;
  fullFingerprint?: Fingerprint;
}

/**
 * The in-process entries, in slots: a slot's entry, index key and hit count live in parallel arrays
 * (typed ones outside the JS heap), an open-addressing index finds a slot from the request's
 * fingerprint (see `find`), and the eviction policy orders slots. Bounds entries and bytes exactly,
 * evicting one entry at a time. Remembers the fingerprints of entries it dropped (ghosts) so a later
 * miss can say whether eviction, expiry or a refused admission caused it. Internal: ResponseCache is
 * the public face.
 */
export class MemoryTier {
  #entries: (Entry | undefined)[];
  /** Index key per held slot; in a free slot, the next free slot. */
  #keys: Int32Array;
  #hits: Uint16Array;
  readonly #bigHits = new Map<number, number>();
  readonly #index: SlotIndex;
  readonly #byText = new Map<string, number>();
  readonly #overflowed = new Set<number>();
  readonly #policy: EvictionPolicy;
  readonly #ghosts: Ghosts;
  readonly #onRemove: (entry: Entry, reason: RemovalReason) => void;
  readonly #fingerprint: Fingerprint;
  readonly #fullFingerprint: Fingerprint;
  #limits: TierLimits;
  #used = 0;
  #free = -1;
  #count = 0;
  #bytes = 0;
  /** The slot `find` returned last: `countHit` right after it needs no search. */
  #lastSlot = -1;

  constructor(limits: TierLimits, onRemove: (entry: Entry, reason: RemovalReason) => void, options: TierOptions = {}) {
    this.#fingerprint = options.fingerprint ?? fingerprint;
    this.#fullFingerprint = options.fullFingerprint ?? fullFingerprint;
    this.#limits = limits;
    this.#onRemove = onRemove;
    const capacity = Math.min(limits.maxEntries + 1, 16);
    this.#entries = new Array<Entry | undefined>(capacity);
    this.#keys = new Int32Array(capacity);
    this.#hits = new Uint16Array(capacity);
    this.#index = new SlotIndex(this.#keys, capacity);
    this.#policy = createPolicy(options.policy ?? 'w-tinylfu', capacity, (slot) => this.#firstLevel(slot));
    this.#policy.resize(limits.maxEntries);
    this.#ghosts = new Ghosts(Math.min(limits.maxEntries, 100_000));
  }

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get limits(): TierLimits {
    return this.#limits;
  }

  /** Changes the bounds; evicts at once if the cache is now over them. */
  resize(limits: TierLimits): void {
    this.#limits = limits;
    this.#policy.resize(limits.maxEntries);
    this.#shrink();
  }

  /**
   * The entry for a request; expired entries are returned too (the caller decides). `touch` tells
   * the policy it was used (a lookup; not a delete or an overwrite). Three levels: the sampled
   * fingerprint; once that overflowed, the full fingerprint; once that overflowed too (crafted
   * collisions), the full text.
   */
  find(id: RequestIdentity, fp: number = this.#fingerprint(id), touch = false): Entry | undefined {
    let slot = this.#walk(fp, id);
    if (slot === -1 && this.#overflowed.has(fp)) {
      const fp2 = SECOND_LEVEL + this.#fullFingerprint(id);
      slot = this.#walk(fp2, id);
      if (slot === -1 && this.#overflowed.has(fp2)) slot = this.#byText.get(overflowKey(id)) ?? -1;
    }
    if (slot === -1) return undefined;
    if (touch) this.#policy.hit(slot, fp);
    this.#lastSlot = slot;
    return this.#entries[slot];
  }

  #walk(key: number, id: RequestIdentity): number {
    const index = this.#index;
    const keys = this.#keys;
    for (let cell = index.home(key); ; cell = index.next(cell)) {
      const slot = index.slotAt(cell);
      if (slot === -1) return -1;
      if (keys[slot] === key) {
        const e = this.#entries[slot] as Entry;
        if (e.text === id.text && e.header === id.header) return slot;
      }
    }
  }

  /** A lookup found nothing: why (dropped from this cache before, or new). Counts the access for the policy. */
  miss(fp: number): MissCause {
    this.#policy.miss(fp);
    return this.#ghosts.get(fp) ?? 'new';
  }

  /** Entries under an index key (1 at most at the first level, 4 at the second). */
  bucketDepth(key: number): number {
    const index = this.#index;
    let depth = 0;
    for (let cell = index.home(key); ; cell = index.next(cell)) {
      const slot = index.slotAt(cell);
      if (slot === -1) return depth;
      if (this.#keys[slot] === key) depth++;
    }
  }

  /** Adds an entry (not already present) at the first level with room, then evicts while over the bounds. */
  insert(entry: Entry, fp: number, bytes = entry.bytes): void {
    this.#count++;
    this.#bytes += bytes;
    const slot = this.#allocate();
    this.#entries[slot] = entry;
    this.#hits[slot] = 0;
    this.#place(slot, entry, fp);
    this.#policy.insert(slot, fp, this.#ghosts.get(fp) === 'rejected');
    this.#shrink();
  }

  #place(slot: number, entry: Entry, fp: number): void {
    if (this.bucketDepth(fp) < FIRST_BUCKET) return this.#indexAs(slot, fp);
    if (this.#overflowed.size > 2 * this.#limits.maxEntries + 64) this.#rebuildOverflowed();
    this.#overflowed.add(fp);
    const fp2 = SECOND_LEVEL + this.#fullFingerprint(entry);
    if (this.bucketDepth(fp2) < SECOND_BUCKET) return this.#indexAs(slot, fp2);
    this.#overflowed.add(fp2);
    this.#keys[slot] = BY_TEXT;
    this.#byText.set(overflowKey(entry), slot);
  }

  #indexAs(slot: number, key: number): void {
    this.#keys[slot] = key;
    this.#index.add(slot);
  }

  /** Marks of overflowed keys outlive their entries; past a bound, they are rebuilt from what is held. */
  #rebuildOverflowed(): void {
    this.#overflowed.clear();
    for (const slot of this.#policy.order()) {
      const key = this.#keys[slot] as number;
      if (key >= 0 && key < SECOND_LEVEL) continue;
      const e = this.#entries[slot] as Entry;
      this.#overflowed.add(this.#fingerprint(e));
      if (key === BY_TEXT) this.#overflowed.add(SECOND_LEVEL + this.#fullFingerprint(e));
    }
  }

  #allocate(): number {
    if (this.#free !== -1) {
      const slot = this.#free;
      this.#free = this.#keys[slot] as number;
      return slot;
    }
    if (this.#used === this.#keys.length) this.#grow(Math.max(this.#used + 1, Math.min(this.#limits.maxEntries + 1, this.#used * 2, MAX_SLOTS)));
    return this.#used++;
  }

  /** Slots are allocated as entries arrive, doubling up to the entry bound (plus one: an insert lands before the eviction). */
  #grow(capacity: number): void {
    const entries = new Array<Entry | undefined>(capacity);
    for (let i = 0; i < this.#used; i++) entries[i] = this.#entries[i];
    this.#entries = entries;
    this.#keys = grown(this.#keys, capacity);
    this.#hits = grown(this.#hits, capacity);
    this.#index.keys = this.#keys;
    this.#policy.grow(capacity);
  }

  remove(entry: Entry, reason: RemovalReason): void {
    const slot = this.#slotOf(entry);
    if (slot === -1) return;
    this.#policy.remove(slot);
    this.#release(slot, entry);
    this.#onRemove(entry, reason);
  }

  #release(slot: number, entry: Entry): void {
    if (this.#keys[slot] === BY_TEXT) this.#byText.delete(overflowKey(entry));
    else this.#index.delete(slot);
    this.#entries[slot] = undefined;
    this.#keys[slot] = this.#free;
    this.#free = slot;
    if (this.#hits[slot] === HITS_MAX) this.#bigHits.delete(slot);
    if (this.#lastSlot === slot) this.#lastSlot = -1;
    this.#count--;
    this.#bytes -= entry.bytes;
  }

  /** The slot holding `entry`, or -1: found again from its fingerprints. */
  #slotOf(entry: Entry): number {
    const last = this.#lastSlot;
    if (last !== -1 && this.#entries[last] === entry) return last;
    const slot = this.#walk(this.#fingerprint(entry), entry);
    if (slot !== -1 && this.#entries[slot] === entry) return slot;
    const deeper = this.#walk(SECOND_LEVEL + this.#fullFingerprint(entry), entry);
    if (deeper !== -1 && this.#entries[deeper] === entry) return deeper;
    const byText = this.#byText.get(overflowKey(entry));
    return byText !== undefined && this.#entries[byText] === entry ? byText : -1;
  }

  /** The first-level fingerprint of a held slot (the policy's frequency key). */
  #firstLevel(slot: number): number {
    const key = this.#keys[slot] as number;
    return key >= 0 && key < SECOND_LEVEL ? key : this.#fingerprint(this.#entries[slot] as Entry);
  }

  /** Counts a hit on an entry held (the slot is usually the one just found). */
  countHit(entry: Entry): void {
    const slot = this.#slotOf(entry);
    if (slot === -1) return;
    const hits = this.#hits[slot] as number;
    if (hits < HITS_MAX) this.#hits[slot] = hits + 1;
    else this.#bigHits.set(slot, (this.#bigHits.get(slot) ?? 0) + 1);
  }

  /** Hits counted on an entry while held (0 for one not held). */
  hitsOf(entry: Entry): number {
    const slot = this.#slotOf(entry);
    if (slot === -1) return 0;
    return (this.#hits[slot] as number) + (this.#bigHits.get(slot) ?? 0);
  }

  clear(): void {
    const all = [...this.entries()];
    this.#policy.clear();
    this.#index.clear();
    this.#byText.clear();
    this.#overflowed.clear();
    this.#bigHits.clear();
    this.#ghosts.clear();
    this.#entries.fill(undefined);
    this.#used = 0;
    this.#free = -1;
    this.#lastSlot = -1;
    this.#count = 0;
    this.#bytes = 0;
    for (const e of all) this.#onRemove(e, 'clear');
  }

  /** Every entry, the one the policy most wants to keep first. */
  *entries(): Generator<Entry> {
    for (const slot of this.#policy.order()) yield this.#entries[slot] as Entry;
  }

  /** Records that an entry was found expired, so its next miss is counted as an expiry. */
  noteExpired(entry: Entry): void {
    this.#ghosts.set(this.#fingerprint(entry), 'expired');
  }

  #shrink(): void {
    const { maxBytes } = this.#limits;
    // Slots beyond what the policy's lists can number (2^29 − 1, far beyond any heap) are never used.
    const maxEntries = Math.min(this.#limits.maxEntries, MAX_SLOTS - 1);
    while (this.#count > maxEntries || this.#bytes > maxBytes) {
      const slot = this.#policy.evict();
      if (slot === -1) return;
      const entry = this.#entries[slot] as Entry;
      this.#ghosts.set(this.#firstLevel(slot), this.#policy.refused ? 'rejected' : 'evicted');
      this.#release(slot, entry);
      this.#onRemove(entry, 'evict');
    }
  }
}

function overflowKey(id: { header: string; text: string }): string {
  return `${id.header}\n${id.text}`;
}
