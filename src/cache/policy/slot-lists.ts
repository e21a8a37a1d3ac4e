/** Slots a list can hold: `prev` keeps the list's number in its top bits (`listOf`), the slot below. */
export const MAX_SLOTS = 2 ** 29 - 1;
const SLOT = 2 ** 29 - 1;
const LIST_SHIFT = 29;

/**
 * Doubly linked lists of slots (small integers) sharing two typed arrays, so a policy's order costs
 * 8 bytes per entry outside the JS heap instead of two pointers and an object per node. A slot is in
 * at most one list, whose number (0–3) `prev` carries in its top bits. `-1` ends a list.
 */
export class SlotLists {
  prev: Int32Array;
  next: Int32Array;
  /** Per list: first (least recently placed) and last slot, and length. */
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly length: Int32Array;

  constructor(lists: number, capacity: number) {
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.head = new Int32Array(lists).fill(-1);
    this.tail = new Int32Array(lists).fill(-1);
    this.length = new Int32Array(lists);
  }

  grow(capacity: number): void {
    this.prev = grown(this.prev, capacity);
    this.next = grown(this.next, capacity);
  }

  /** Appends `slot` at the tail (the most recent end) of `list`. */
  push(list: number, slot: number): void {
    const last = this.tail[list] as number;
    this.prev[slot] = (last + 1) | (list << LIST_SHIFT);
    this.next[slot] = -1;
    if (last === -1) this.head[list] = slot;
    else this.next[last] = slot;
    this.tail[list] = slot;
    (this.length[list] as number)++;
  }

  /** Takes `slot` out of `list`. */
  unlink(list: number, slot: number): void {
    const p = ((this.prev[slot] as number) & SLOT) - 1;
    const n = this.next[slot] as number;
    if (p === -1) this.head[list] = n;
    else this.next[p] = n;
    if (n === -1) this.tail[list] = p;
    else this.prev[n] = ((this.prev[n] as number) & ~SLOT) | (p + 1);
    (this.length[list] as number)--;
  }

  /** The list `slot` was last pushed to. */
  listOf(slot: number): number {
    return (this.prev[slot] as number) >>> LIST_SHIFT;
  }

  /** Moves `slot` (in `from`) to the tail of `to`. */
  move(from: number, to: number, slot: number): void {
    if (from === to && this.tail[to] === slot) return;
    this.unlink(from, slot);
    this.push(to, slot);
  }

  clear(): void {
    this.head.fill(-1);
    this.tail.fill(-1);
    this.length.fill(0);
  }

  /** Slots of `list` from tail (most recent) to head. */
  *fromTail(list: number): Generator<number> {
    for (let s = this.tail[list] as number; s !== -1; s = ((this.prev[s] as number) & SLOT) - 1) yield s;
  }
}

/** A copy of `array` with room for `capacity` elements (new ones zero). */
export function grown<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array>(array: T, capacity: number): T {
  if (capacity <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(capacity);
  next.set(array);
  return next;
}
