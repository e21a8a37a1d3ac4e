import { LRUCache } from 'lru-cache';
import type { MissCause } from '../types.js';
import { fingerprint, type RequestIdentity } from './cache-key.js';
import type { Entry } from './entry.js';

/** Entries sharing one fingerprint before further ones are keyed by their full text instead. */
const MAX_BUCKET = 4;

export type RemovalReason = 'evict' | 'delete' | 'clear' | 'overwrite';

export interface TierLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * The in-process LRU of entries, keyed by fingerprint with a bounded bucket per fingerprint and an
 * overflow keyed by full text. Bounds entries and bytes exactly, evicting one least-recently-used
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

  constructor(limits: TierLimits, onRemove: (entry: Entry, reason: RemovalReason) => void) {
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
    this.#limits = limits;
    this.#shrink();
    if (limits.maxEntries + 1 !== this.#lru.max) this.#rebuild(limits.maxEntries + 1);
  }

  /** lru-cache sizes its arrays once, so a new capacity means a new LRU holding the same order. */
  #rebuild(max: number): void {
    const next = new LRUCache<number | string, Entry>({ max });
    for (const [slot, head] of [...this.#lru.entries()].reverse()) next.set(slot, head);
    this.#lru = next;
  }

  /** The entry for a request, marking it most recently used; expired entries are returned too (the caller decides). */
  find(id: RequestIdentity, fp: number = fingerprint(id)): Entry | undefined {
    for (let e = this.#lru.get(fp); e !== undefined; e = e.next) {
      if (e.text === id.text && e.header === id.header) return e;
    }
    return this.#overflowed.has(fp) ? this.#lru.get(overflowKey(id)) : undefined;
  }

  /** Why a request found nothing: it was dropped from this cache before, or it is new. */
  missCause(fp: number): MissCause {
    return this.#ghosts.get(fp) ?? 'new';
  }

  /** Entries in the bucket of a fingerprint (at most 4; the rest of a crowded fingerprint is keyed by full text). */
  bucketDepth(fp: number): number {
    let depth = 0;
    for (let e = this.#lru.peek(fp); e !== undefined; e = e.next) depth++;
    return depth;
  }

  /** Adds an entry (not already present) to its fingerprint bucket, or under its full text once the bucket is full. */
  insert(entry: Entry, fp: number, bytes = entry.bytes): void {
    this.#count++;
    this.#bytes += bytes;
    const head = this.#lru.peek(fp);
    if (this.bucketDepth(fp) < MAX_BUCKET) {
      entry.next = head;
      this.#lru.set(fp, entry);
    } else {
      this.#overflowed.add(fp);
      this.#lru.set(overflowKey(entry), entry);
    }
    this.#shrink();
  }

  remove(entry: Entry, reason: RemovalReason): void {
    this.#unlink(entry);
    this.#count--;
    this.#bytes -= entry.bytes;
    if (reason === 'evict') this.#ghosts.set(fingerprint(entry), 'evicted');
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
    this.#ghosts.set(fingerprint(entry), 'expired');
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

  /** Takes an entry out of its bucket (found again by its fingerprint) or out of the overflow. */
  #unlink(entry: Entry): void {
    const fp = fingerprint(entry);
    const head = this.#lru.peek(fp);
    if (head === entry) {
      if (entry.next === undefined) this.#lru.delete(fp);
      else this.#lru.set(fp, entry.next);
      return;
    }
    for (let e = head; e !== undefined; e = e.next) {
      if (e.next === entry) {
        e.next = entry.next;
        return;
      }
    }
    this.#lru.delete(overflowKey(entry));
  }
}

function overflowKey(id: { header: string; text: string }): string {
  return `${id.header}\n${id.text}`;
}
