import { grown } from './policy/slot-lists.js';
import { SlotIndex } from './slot-index.js';

/** Why a key left the cache, as remembered for its next miss. */
export type GhostCause = 'evicted' | 'expired' | 'rejected';
const CAUSES: readonly GhostCause[] = ['evicted', 'expired', 'rejected'];

/**
 * Fingerprints of keys the cache dropped, and why, so a later miss can say it was caused by eviction,
 * expiry or a refused admission rather than being new (S3-FIFO also reads it: a key it refused comes
 * back into its main queue). Metadata only, first in first out, at most `limit` keys; about 9 bytes a
 * key outside the JS heap, grown as keys arrive.
 */
export class Ghosts {
  #ring = new Int32Array(16);
  #causes = new Uint8Array(16);
  readonly #index = new SlotIndex(this.#ring, 16);
  #size = 0;
  #oldest = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = Math.max(16, limit);
  }

  get(fp: number): GhostCause | undefined {
    const at = this.#find(fp);
    return at === -1 ? undefined : CAUSES[this.#causes[at] as number];
  }

  set(fp: number, cause: GhostCause): void {
    const code = CAUSES.indexOf(cause);
    const at = this.#find(fp);
    if (at !== -1) {
      this.#causes[at] = code;
      return;
    }
    let slot: number;
    if (this.#size < this.#ring.length) {
      slot = this.#size++;
    } else if (this.#ring.length < this.#limit) {
      const capacity = Math.min(this.#limit, this.#ring.length * 2);
      this.#ring = grown(this.#ring, capacity);
      this.#causes = grown(this.#causes, capacity);
      this.#index.keys = this.#ring;
      slot = this.#size++;
    } else {
      slot = this.#oldest;
      this.#oldest = (this.#oldest + 1) % this.#ring.length;
      this.#index.delete(slot);
    }
    this.#ring[slot] = fp;
    this.#causes[slot] = code;
    this.#index.add(slot);
  }

  #find(fp: number): number {
    const index = this.#index;
    for (let cell = index.home(fp); ; cell = index.next(cell)) {
      const slot = index.slotAt(cell);
      if (slot === -1) return -1;
      if (this.#ring[slot] === fp) return slot;
    }
  }

  clear(): void {
    this.#index.clear();
    this.#size = 0;
    this.#oldest = 0;
  }
}
