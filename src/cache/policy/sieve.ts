import type { EvictionPolicy } from './policy.js';
import { grown, SlotLists } from './slot-lists.js';

/**
 * SIEVE (Zhang et al., NSDI 2024): one FIFO list and a hand. A hit only sets the entry's visited bit;
 * the hand walks from the oldest entry towards the newest, clearing visited bits, and evicts the
 * first entry not visited since it last passed. Retained entries keep their place, new ones go to
 * the tail. Admits everything.
 */
export class SievePolicy implements EvictionPolicy {
  readonly #lists: SlotLists;
  #visited: Uint8Array;
  /** Next slot the hand examines; -1: start again from the head. */
  #hand = -1;
  readonly refused = false;

  constructor(capacity: number) {
    this.#lists = new SlotLists(1, capacity);
    this.#visited = new Uint8Array(capacity);
  }

  grow(capacity: number): void {
    this.#lists.grow(capacity);
    this.#visited = grown(this.#visited, capacity);
  }

  resize(): void {}

  hit(slot: number): void {
    this.#visited[slot] = 1;
  }

  miss(): void {}

  insert(slot: number): void {
    this.#visited[slot] = 0;
    this.#lists.push(0, slot);
  }

  remove(slot: number): void {
    if (this.#hand === slot) this.#hand = this.#lists.next[slot] as number;
    this.#lists.unlink(0, slot);
  }

  evict(): number {
    const lists = this.#lists;
    if (lists.length[0] === 0) return -1;
    let slot = this.#hand === -1 ? (lists.head[0] as number) : this.#hand;
    while (this.#visited[slot] === 1) {
      this.#visited[slot] = 0;
      slot = lists.next[slot] as number;
      if (slot === -1) slot = lists.head[0] as number;
    }
    this.#hand = lists.next[slot] as number;
    lists.unlink(0, slot);
    return slot;
  }

  clear(): void {
    this.#lists.clear();
    this.#hand = -1;
  }

  order(): Iterable<number> {
    return this.#lists.fromTail(0);
  }
}
