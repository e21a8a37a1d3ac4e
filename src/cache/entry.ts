import { copyStored } from '../internal/value-copy.js';

/** What entries of one scope, model and params share (interned, so each entry holds one pointer). */
export interface HeaderInfo {
  readonly header: string;
  readonly model: string;
  readonly scope: string;
  /** The cache's time origin: entries store times as small integers relative to it. */
  readonly epoch: number;
  /** The hit counters of this model and this scope, looked up once rather than on every hit. */
  readonly counters: { readonly model: { hits: number }; readonly scope: { hits: number } };
}

/**
 * One cached answer and what the cache knows about it. Internal. Kept small on purpose (the cache
 * may hold 100 000 of them): shared parts live in `info`, times are integer ms from the cache's epoch
 * (V8 keeps small integers inline, where a fractional time would cost a 16-byte box), and the full
 * key is computed only when something asks for it.
 */
export class Entry {
  /** Full key, computed when first needed. */
  key: string | undefined = undefined;
  hits = 0;
  /** Next entry in the same fingerprint bucket. */
  next: Entry | undefined = undefined;
  readonly #created: number;
  readonly #expires: number;

  constructor(
    readonly info: HeaderInfo,
    readonly text: string,
    readonly value: unknown,
    now: number,
    ttlMs: number,
    /** Time the `exec` that produced the value took, in whole ms: what each hit saves. */
    readonly execMs: number,
    /** Tokens the producing call used (prompt + output), for cost savings. */
    readonly tokens: number,
  ) {
    this.#created = Math.floor(now - info.epoch);
    this.#expires = Math.ceil(now - info.epoch + ttlMs);
  }

  get header(): string {
    return this.info.header;
  }

  /** Recomputed rather than stored (a field per entry costs more than the rare recount on removal). */
  get bytes(): number {
    return estimateBytes(this.info.header, this.text, this.value);
  }

  get model(): string {
    return this.info.model;
  }

  get scope(): string {
    return this.info.scope;
  }

  get createdAt(): number {
    return this.info.epoch + this.#created;
  }

  get expiresAt(): number {
    return this.info.epoch + this.#expires;
  }

  /**
   * Whether the entry is still fresh at `now`. A `now` before the entry was created means the clock
   * was set back (an injected wall clock): how long the entry has really lived is unknown, so it is
   * not fresh, rather than served for its TTL plus the length of the jump.
   */
  isFresh(now: number): boolean {
    const t = now - this.info.epoch;
    return t < this.#expires && t >= this.#created;
  }
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

/**
 * Values the cache can copy faithfully, and so store: primitives, and plain objects, arrays and typed
 * arrays at the top level. `structuredClone` would turn a class instance into a plain object (its
 * prototype, methods and getters lost), so such values are returned but never stored.
 */
export function isStorable(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A caller's own copy, so no caller can change what the next one gets: primitives are immutable and
 * shared; storable objects are copied (a stored value quickly, from the shape noted when it was
 * stored: see `internal/value-copy.ts`). A value that cannot be cloned faithfully (a class instance, a
 * function inside) is passed on as it is: it was never stored, and only callers of the one computation
 * that produced it (coalesced waiters) share it.
 */
export function isolate<T>(value: T): T {
  if (typeof value !== 'object' || value === null || !isStorable(value)) return value;
  try {
    return copyStored(value);
  } catch {
    return value;
  }
}
