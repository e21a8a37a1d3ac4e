/** One cached answer and what the cache knows about it. Internal. */
export interface Entry {
  readonly header: string;
  readonly text: string;
  readonly model: string;
  readonly scope: string;
  readonly value: unknown;
  /** Full key, computed when first needed. */
  key: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Time the `exec` that produced the value took, in ms: what each hit saves. */
  readonly execMs: number;
  /** Tokens the producing call used (prompt + output), for cost savings. */
  readonly tokens: number;
  readonly bytes: number;
  hits: number;
  /** Where the entry sits in the LRU: its bucket's fingerprint, or its own full text after a bucket overflowed. */
  readonly slot: number | string;
  /** Next entry in the same fingerprint bucket. */
  next: Entry | undefined;
}

/**
 * Approximate bytes an entry holds: UTF-16 text of its identity plus its value. For objects the JSON
 * length is used; values JSON cannot measure count as `Infinity` (never stored when a byte budget is set).
 */
export function estimateBytes(header: string, text: string, value: unknown): number {
  return 2 * (header.length + text.length) + valueBytes(value);
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return 2 * value.length;
  if (typeof value !== 'object' || value === null) return 16;
  try {
    return 2 * (JSON.stringify(value)?.length ?? 0);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Primitives are immutable and shared; objects are copied in and out, so no caller can change what the next one gets. */
export function isolate<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}
