import { LRUCache } from 'lru-cache';
import type { MissCause } from '../types.js';
import { fingerprint, fullFingerprint, type RequestIdentity } from './cache-key.js';
import type { Entry } from './entry.js';

/**
 * Entries a bucket holds before further ones go one level down. Entries in one bucket share one place
 * in the LRU order, so the first level, which natural traffic fills, holds one entry: colliding
 * prompts (templates that differ between the samples) get their own full-fingerprint slot and exact
 * LRU order. Full fingerprints collide only when crafted, so their buckets may hold a few.
 */
const FIRST_BUCKET = 1;
const SECOND_BUCKET = 4;
/** Second-level buckets (full fingerprints) live above the first level's 30-bit range in the same LRU. */
const SECOND_LEVEL = 2 ** 30;

type Fingerprint = (id: { readonly header: string; readonly text: string }) => number;

export type RemovalReason = 'evict' | 'delete' | 'clear' | 'overwrite';

export interface TierLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * The in-process LRU of entries, keyed by fingerprint with a bounded bucket per fingerprint, then by
 * full fingerprint, then by full text (see `find`). Bounds entries and bytes exactly, evicting one least-recently-used
 * entry at a time. Remembers the fingerprints of entries it dropped (a ghost list) so a later miss
 * can say whether it was caused by eviction or expiry. Internal: ResponseCache is the public face.
 */
export class MemoryTier {
  #lru: LRUCache<number | string, Entry>;
  readonly #ghosts: LRUCache<number, MissCause>;
  readonly #overflowed = new Set<number>();
  readonly #onRemove: (entry: Entry, reason: RemovalReason) => void;
  #limits: TierLimits;
  #count = 0;
  #bytes = 0;
  readonly #fingerprint: Fingerprint;
  readonly #fullFingerprint: Fingerprint;

  /** `hashes` exists for tests, which need collisions at every level on demand. */
  constructor(limits: TierLimits, onRemove: (entry: Entry, reason: RemovalReason) => void, hashes: { fingerprint: Fingerprint; fullFingerprint: Fingerprint } = { fingerprint, fullFingerprint }) {
    this.#fingerprint = hashes.fingerprint;
    this.#fullFingerprint = hashes.fullFingerprint;
    this.#limits = limits;
    this.#onRemove = onRemove;
    // One slot more than entries: an insert lands before the shrink that restores the bound.
    this.#lru = new LRUCache({ max: limits.maxEntries + 1 });
    this.#ghosts = new LRUCache({ max: Math.max(16, Math.min(limits.maxEntries, 100_000)) });
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
    // lru-cache sizes its arrays once, so a new capacity means a new LRU holding the same order. It
    // is allocated first: when that fails (a capacity too large to allocate), nothing has changed.
    const next = limits.maxEntries + 1 === this.#lru.max ? undefined : new LRUCache<number | string, Entry>({ max: limits.maxEntries + 1 });
    this.#limits = limits;
    this.#shrink();
    if (next === undefined) return;
    for (const [slot, head] of [...this.#lru.entries()].reverse()) next.set(slot, head);
    this.#lru = next;
  }

  /**
   * The entry for a request, marking it most recently used; expired entries are returned too (the
   * caller decides). Three levels: the sampled fingerprint's bucket; once that bucket overflowed, the
   * full fingerprint's bucket; once that overflowed too (crafted collisions), the full text.
   */
  find(id: RequestIdentity, fp: number = this.#fingerprint(id)): Entry | undefined {
    const found = this.#walk(fp, id);
    if (found !== undefined || !this.#overflowed.has(fp)) return found;
    const fp2 = SECOND_LEVEL + this.#fullFingerprint(id);
    const deeper = this.#walk(fp2, id);
    if (deeper !== undefined || !this.#overflowed.has(fp2)) return deeper;
    return this.#lru.get(overflowKey(id));
  }

  #walk(slot: number, id: RequestIdentity): Entry | undefined {
    for (let e = this.#lru.get(slot); e !== undefined; e = e.next) {
      if (e.text === id.text && e.header === id.header) return e;
    }
    return undefined;
  }

  /** Why a request found nothing: it was dropped from this cache before, or it is new. */
  missCause(fp: number): MissCause {
    return this.#ghosts.get(fp) ?? 'new';
  }

  /** Entries in the bucket of a slot (1 at the first level, at most 4 at the second). */
  bucketDepth(fp: number): number {
    let depth = 0;
    for (let e = this.#lru.peek(fp); e !== undefined; e = e.next) depth++;
    return depth;
  }

  /** Adds an entry (not already present) at the first level with room: sampled bucket, full-fingerprint bucket, full text. */
  insert(entry: Entry, fp: number, bytes = entry.bytes): void {
    this.#count++;
    this.#bytes += bytes;
    if (!this.#chain(fp, entry, FIRST_BUCKET)) {
      if (this.#overflowed.size > 2 * this.#limits.maxEntries + 64) this.#rebuildOverflowed();
      this.#overflowed.add(fp);
      const fp2 = SECOND_LEVEL + this.#fullFingerprint(entry);
      if (!this.#chain(fp2, entry, SECOND_BUCKET)) {
        this.#overflowed.add(fp2);
        this.#lru.set(overflowKey(entry), entry);
      }
    }
    this.#shrink();
  }

  /** Marks of overflowed buckets outlive their entries; past a bound, they are rebuilt from what is held. */
  #rebuildOverflowed(): void {
    this.#overflowed.clear();
    for (const [slot, head] of this.#lru.entries()) {
      if (typeof slot === 'number' && slot < SECOND_LEVEL) continue;
      for (let e: Entry | undefined = head; e !== undefined; e = e.next) {
        this.#overflowed.add(this.#fingerprint(e));
        if (typeof slot === 'string') this.#overflowed.add(SECOND_LEVEL + this.#fullFingerprint(e));
      }
    }
  }

  #chain(slot: number, entry: Entry, capacity: number): boolean {
    if (this.bucketDepth(slot) >= capacity) return false;
    entry.next = this.#lru.peek(slot);
    this.#lru.set(slot, entry);
    return true;
  }

  remove(entry: Entry, reason: RemovalReason): void {
    this.#unlink(entry);
    this.#count--;
    this.#bytes -= entry.bytes;
    if (reason === 'evict') this.#ghosts.set(this.#fingerprint(entry), 'evicted');
    this.#onRemove(entry, reason);
  }

  clear(): void {
    const all = [...this.entries()];
    this.#lru.clear();
    this.#overflowed.clear();
    this.#ghosts.clear();
    this.#count = 0;
    this.#bytes = 0;
    for (const e of all) this.#onRemove(e, 'clear');
  }

  /** Every entry, most recently used first. */
  *entries(): Generator<Entry> {
    for (const head of this.#lru.values()) {
      for (let e: Entry | undefined = head; e !== undefined; e = e.next) yield e;
    }
  }

  /** Records that an entry was found expired, so its next miss is counted as an expiry. */
  noteExpired(entry: Entry): void {
    this.#ghosts.set(this.#fingerprint(entry), 'expired');
  }

  #shrink(): void {
    const { maxEntries, maxBytes } = this.#limits;
    while (this.#count > maxEntries || this.#bytes > maxBytes) {
      const oldest = this.#lru.rvalues().next();
      if (oldest.done === true || oldest.value === undefined) return;
      let last: Entry = oldest.value;
      while (last.next !== undefined) last = last.next;
      this.remove(last, 'evict');
    }
  }

  /** Takes an entry out of whichever level holds it (found again from its fingerprints). */
  #unlink(entry: Entry): void {
    if (this.#unchain(this.#fingerprint(entry), entry)) return;
    if (this.#unchain(SECOND_LEVEL + this.#fullFingerprint(entry), entry)) return;
    this.#lru.delete(overflowKey(entry));
  }

  #unchain(slot: number, entry: Entry): boolean {
    const head = this.#lru.peek(slot);
    if (head === entry) {
      if (entry.next === undefined) this.#lru.delete(slot);
      else this.#lru.set(slot, entry.next);
      return true;
    }
    for (let e = head; e !== undefined; e = e.next) {
      if (e.next === entry) {
        e.next = entry.next;
        return true;
      }
    }
    return false;
  }
}

function overflowKey(id: { header: string; text: string }): string {
  return `${id.header}\n${id.text}`;
}
