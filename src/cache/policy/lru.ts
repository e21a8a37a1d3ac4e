import type { EvictionPolicy } from './policy.js';
import { SlotLists } from './slot-lists.js';

/** Least recently used: one list, a hit moves its entry to the tail, the head is evicted. Admits everything. */
export class LruPolicy implements EvictionPolicy {
  readonly #lists: SlotLists;
  readonly refused = false;

  constructor(capacity: number) {
    this.#lists = new SlotLists(1, capacity);
  }

  grow(capacity: number): void {
    this.#lists.grow(capacity);
  }

  resize(): void {}

  hit(slot: number): void {
    this.#lists.move(0, 0, slot);
  }

  miss(): void {}

  insert(slot: number): void {
    this.#lists.push(0, slot);
  }

  remove(slot: number): void {
    this.#lists.unlink(0, slot);
  }

  evict(): number {
    const slot = this.#lists.head[0] as number;
    if (slot !== -1) this.#lists.unlink(0, slot);
    return slot;
  }

  clear(): void {
    this.#lists.clear();
  }

  order(): Iterable<number> {
    return this.#lists.fromTail(0);
  }
}
