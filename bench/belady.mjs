// Belady's MIN, the offline optimum a real policy is measured against: on a miss with the cache
// full, evict the key whose next use is farthest in the future; a key never used again, or used
// later than every key held, is not stored at all (the optimum may decline to store, as an
// admission policy may). Entries are of equal size (entry bounds; the traces carry no sizes).

const NONE = -1;

/** Hits of Belady's MIN over `trace` (an array of integer keys) with room for `size` entries. */
export function beladyHits(trace, size) {
  const n = trace.length;
  const ids = denseIds(trace);
  const never = n;
  const next = new Int32Array(n);
  const seen = new Int32Array(ids.distinct).fill(never);
  for (let i = n - 1; i >= 0; i--) {
    next[i] = seen[ids.of[i]];
    seen[ids.of[i]] = i;
  }
  // When each held key is next used (NONE: not held); a max-heap of (next use, key) with stale items skipped.
  const held = new Int32Array(ids.distinct).fill(NONE);
  const heap = new MaxHeap(n + 1); // one push per access at most
  let count = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const id = ids.of[i];
    const use = next[i];
    if (held[id] !== NONE) {
      hits++;
      held[id] = use;
      heap.push(use, id);
      continue;
    }
    if (use === never || size <= 0) continue;
    if (count < size) {
      count++;
    } else {
      while (held[heap.topId()] !== heap.topKey()) heap.pop();
      if (heap.topKey() <= use) continue;
      held[heap.topId()] = NONE;
      heap.pop();
    }
    held[id] = use;
    heap.push(use, id);
  }
  return hits;
}

function denseIds(trace) {
  const map = new Map();
  const of = new Int32Array(trace.length);
  for (let i = 0; i < trace.length; i++) {
    let id = map.get(trace[i]);
    if (id === undefined) map.set(trace[i], (id = map.size));
    of[i] = id;
  }
  return { of, distinct: map.size };
}

class MaxHeap {
  constructor(capacity) {
    this.keys = new Int32Array(capacity);
    this.ids = new Int32Array(capacity);
    this.size = 0;
  }

  topKey() {
    return this.keys[0];
  }

  topId() {
    return this.ids[0];
  }

  push(key, id) {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent] >= key) break;
      this.keys[i] = this.keys[parent];
      this.ids[i] = this.ids[parent];
      i = parent;
    }
    this.keys[i] = key;
    this.ids[i] = id;
  }

  pop() {
    const last = --this.size;
    const key = this.keys[last];
    const id = this.ids[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.keys[child + 1] > this.keys[child]) child++;
      if (this.keys[child] <= key) break;
      this.keys[i] = this.keys[child];
      this.ids[i] = this.ids[child];
      i = child;
    }
    this.keys[i] = key;
    this.ids[i] = id;
  }
}
