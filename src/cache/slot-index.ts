/**
 * An open-addressing hash index from integer keys (already well-mixed hashes) to slots, 4 bytes a
 * cell outside the JS heap, a cell per 0.8 keys at most. The key of a slot is read from the owner's
 * array (`keys[slot]`), so the index stores slots only. Several slots may share a key (a lookup walks
 * all of them). Linear probing with backward-shift deletion: no tombstones, probe runs stay short.
 */
export class SlotIndex {
  #cells: Int32Array;
  #mask: number;
  #count = 0;
  keys: Int32Array;

  constructor(keys: Int32Array, expected = 8) {
    this.keys = keys;
    const size = cellsFor(expected);
    this.#cells = new Int32Array(size);
    this.#mask = size - 1;
  }

  get count(): number {
    return this.#count;
  }

  /** First cell to look at for `key`; walk on with `next` while `slotAt` is not -1. */
  home(key: number): number {
    return key & this.#mask;
  }

  next(cell: number): number {
    return (cell + 1) & this.#mask;
  }

  /** The slot in `cell`, or -1 when it is empty. */
  slotAt(cell: number): number {
    return (this.#cells[cell] as number) - 1;
  }

  /** Adds `slot`, whose key is already in `keys[slot]`. */
  add(slot: number): void {
    if ((this.#count + 1) * 5 > this.#cells.length * 4) this.#rehash(this.#cells.length * 2);
    this.#place(slot);
    this.#count++;
  }

  #place(slot: number): void {
    let cell = (this.keys[slot] as number) & this.#mask;
    while (this.#cells[cell] !== 0) cell = (cell + 1) & this.#mask;
    this.#cells[cell] = slot + 1;
  }

  /** Removes `slot` (its key still in `keys[slot]`); false when it was not there. */
  delete(slot: number): boolean {
    const mask = this.#mask;
    let cell = (this.keys[slot] as number) & mask;
    for (; ; cell = (cell + 1) & mask) {
      const held = this.#cells[cell] as number;
      if (held === 0) return false;
      if (held === slot + 1) break;
    }
    // Backward shift: pull later members of the probe run into the hole when their home allows it.
    let hole = cell;
    for (let at = (hole + 1) & mask; ; at = (at + 1) & mask) {
      const held = this.#cells[at] as number;
      if (held === 0) break;
      const home = (this.keys[held - 1] as number) & mask;
      if (((at - home) & mask) >= ((at - hole) & mask)) {
        this.#cells[hole] = held;
        hole = at;
      }
    }
    this.#cells[hole] = 0;
    this.#count--;
    return true;
  }

  clear(): void {
    this.#cells.fill(0);
    this.#count = 0;
  }

  #rehash(size: number): void {
    const old = this.#cells;
    this.#cells = new Int32Array(size);
    this.#mask = size - 1;
    for (const held of old) if (held !== 0) this.#place(held - 1);
  }
}

/** A power of two with room for `n` keys at a load of at most 0.8. */
function cellsFor(n: number): number {
  return 2 ** Math.max(3, Math.ceil(Math.log2((n * 5) / 4 + 1)));
}
