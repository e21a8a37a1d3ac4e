/** Hits of Belady's MIN (offline optimum, may decline to store) over `trace` with room for `size` entries. */
export function beladyHits(trace: ArrayLike<number>, size: number): number;
