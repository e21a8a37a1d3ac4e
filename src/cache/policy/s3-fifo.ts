import type { EvictionPolicy } from './policy.js';
import { grown, SlotLists } from './slot-lists.js';

const SMALL = 0;
const MAIN = 1;
/** Share of the entries held that the small (probation) queue keeps, as the paper measured best. */
const SMALL_SHARE = 0.1;
const MAX_FREQ = 3;

/**
 * S3-FIFO (Yang et al., SOSP 2023): a small FIFO for new entries, a main FIFO, and a ghost list of
 * keys dropped from the small one (the tier's ghost list, cause `rejected`). An entry leaving the
 * small queue without a hit is dropped: never admitted to the main queue, a miss of cause
 * `rejected` if it returns, and a key that returns from the ghost list goes straight to the main
 * queue. The main queue is a CLOCK with a 2-bit frequency: a used entry is reinserted with one less.
 */
export class S3FifoPolicy implements EvictionPolicy {
  readonly #lists: SlotLists;
  /** Per slot: bit 0 the queue, bits 1–2 the frequency. */
  #flags: Uint8Array;
  refused = false;

  constructor(capacity: number) {
    this.#lists = new SlotLists(2, capacity);
    this.#flags = new Uint8Array(capacity);
  }

  grow(capacity: number): void {
    this.#lists.grow(capacity);
    this.#flags = grown(this.#flags, capacity);
  }

  resize(): void {}

  hit(slot: number): void {
    const f = this.#flags[slot] as number;
    if (f >> 1 < MAX_FREQ) this.#flags[slot] = f + 2;
  }

  miss(): void {}

  insert(slot: number, _fp: number, refusedBefore: boolean): void {
    const queue = refusedBefore ? MAIN : SMALL;
    this.#flags[slot] = queue;
    this.#lists.push(queue, slot);
  }

  remove(slot: number): void {
    this.#lists.unlink((this.#flags[slot] as number) & 1, slot);
  }

  evict(): number {
    const lists = this.#lists;
    for (;;) {
      const small = lists.length[SMALL] as number;
      const main = lists.length[MAIN] as number;
      if (small + main === 0) return -1;
      if (small > 0 && (small >= SMALL_SHARE * (small + main) || main === 0)) {
        const slot = lists.head[SMALL] as number;
        if ((this.#flags[slot] as number) >> 1 === 0) return this.#drop(SMALL, slot, true);
        this.#flags[slot] = MAIN;
        lists.move(SMALL, MAIN, slot);
      } else {
        const slot = lists.head[MAIN] as number;
        const freq = (this.#flags[slot] as number) >> 1;
        if (freq === 0) return this.#drop(MAIN, slot, false);
        this.#flags[slot] = MAIN | ((freq - 1) << 1);
        lists.move(MAIN, MAIN, slot);
      }
    }
  }

  #drop(queue: number, slot: number, refused: boolean): number {
    this.#lists.unlink(queue, slot);
    this.refused = refused;
    return slot;
  }

  clear(): void {
    this.#lists.clear();
  }

  *order(): Iterable<number> {
    yield* this.#lists.fromTail(MAIN);
    yield* this.#lists.fromTail(SMALL);
  }
}
