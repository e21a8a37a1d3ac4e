import { OptimizerError } from '../errors.js';
import { jsonDataProblem } from '../internal/json-data.js';
import { tagsProblem } from '../internal/arguments.js';

/** Version of the stored envelope: bumped whenever its shape changes; other versions read as a miss. */
export const ENVELOPE_VERSION = 1;

/** What the engine keeps in a shared store for one answer. */
export interface Envelope {
  /** The full key the envelope was written under (it holds the scope): checked on read. */
  readonly key: string;
  readonly value: unknown;
  /** Creation and expiry times by the writer's clock (epoch ms with the default clock). */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly execMs: number;
  readonly tokens: number;
  /** Tags the entry was written with (`CallOptions.tags`); absent when none. */
  readonly tags?: readonly string[];
}

/** Wire shape: short field names, `t` says how `d` is encoded (`j` JSON value, `b` base64 bytes). */
interface Wire {
  v: number;
  k: string;
  c: number;
  e: number;
  x: number;
  n: number;
  t: 'j' | 'b';
  d: unknown;
  /** Tags, only when there are some (readers of version 1 without tags ignore the field). */
  g?: readonly string[];
}

const MAX_DEPTH = 256;

/**
 * Serializes an envelope. The value must be plain JSON data (strings, finite numbers, booleans,
 * null, arrays, plain objects) or a top-level `Uint8Array`; anything JSON would silently change or
 * drop (a Date, a Map, a class instance, NaN, a function, a bigint, a cycle) is refused with
 * `ERR_SERIALIZATION`, so a later hit can never return something different from the original.
 */
export function serializeEnvelope(envelope: Envelope): string {
  const { value } = envelope;
  const bytes = value instanceof Uint8Array;
  if (!bytes) checkJson(value, 'value', [], 0);
  const wire: Wire = {
    v: ENVELOPE_VERSION, k: envelope.key, c: envelope.createdAt, e: envelope.expiresAt,
    x: envelope.execMs, n: envelope.tokens, t: bytes ? 'b' : 'j',
    d: bytes ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value,
  };
  if (envelope.tags !== undefined && envelope.tags.length > 0) wire.g = envelope.tags;
  return JSON.stringify(wire);
}

function checkJson(value: unknown, path: string, ancestors: object[], depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      // JSON writes -0 as 0: a hit would differ from the answer.
      if (Number.isFinite(value) && !Object.is(value, -0)) return;
      throw refuse(path, Object.is(value, -0) ? '-0' : `${value}`);
    case 'object':
      if (value === null) return;
      return checkObject(value, path, ancestors, depth);
    default:
      throw refuse(path, `a ${typeof value}`);
  }
}

function checkObject(value: object, path: string, ancestors: object[], depth: number): void {
  if (depth >= MAX_DEPTH) throw refuse(path, `nesting deeper than ${MAX_DEPTH}`);
  if (ancestors.includes(value)) throw refuse(path, 'a circular reference');
  ancestors.push(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) throw refuse(`${path}[${i}]`, 'undefined in an array');
      checkJson(value[i], `${path}[${i}]`, ancestors, depth + 1);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw refuse(path, `an instance of ${nameOf(value)}`);
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) checkJson(v, `${path}.${k}`, ancestors, depth + 1);
    }
  }
  ancestors.pop();
}

function nameOf(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'a class';
}

function refuse(path: string, what: string): OptimizerError {
  return new OptimizerError(
    'ERR_SERIALIZATION',
    `\`${path}\` cannot be stored in a shared store: it is ${what}; only plain JSON data or a Uint8Array can be (the answer was still returned)`,
  );
}

/** Longest `exec` time an entry may claim, in ms (a day): a larger or negative claim is not an answer we wrote. */
export const MAX_EXEC_MS = 86_400_000;
/** Most tokens an entry may claim. */
export const MAX_TOKENS = 1_000_000_000;
/** Times are epoch ms (or an injected clock's ms): beyond a `Date`'s range they are not times. */
const MAX_TIME = 8.64e15;
/**
 * Longest TTL an entry is written to a shared store with (about 317 years): a longer one (a caller's
 * `ttlMs: 1e19`) would make an expiry readers refuse, and Redis refuses such a `PX`.
 */
export const MAX_STORE_TTL_MS = 1e13;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses and validates an envelope read from a store: outside data, so every field gets a type and
 * range check. Returns `undefined` (a miss) for another version; throws `ERR_SERIALIZATION` for
 * anything malformed or out of range (times beyond a `Date`'s range or an expiry before creation,
 * an `exec` time or token count that is negative or absurd, bytes that are not canonical base64, a
 * value nested deeper than the writer allows), for a key that is not the one asked for (the entry
 * belongs to another scope or request), and for `__proto__` / `constructor.prototype` keys anywhere
 * in the parsed value, however the text spelt them (prototype poisoning), so the caller deletes the
 * entry. Tags, when present, must be 1 to 16 distinct non-empty strings of at most 128 characters.
 */
export function parseEnvelope(text: string, key: string): Envelope | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch (error) {
    throw new OptimizerError('ERR_SERIALIZATION', 'A stored entry is not valid JSON', { cause: error });
  }
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) throw invalid('not an object');
  const w = wire as Partial<Record<keyof Wire, unknown>>;
  if (w.v !== ENVELOPE_VERSION) {
    if (typeof w.v === 'number') return undefined;
    throw invalid('no version');
  }
  if (w.k !== key) throw invalid('written under another key or scope');
  const { c: createdAt, e: expiresAt, x: execMs, n: tokens } = w;
  if (!inRange(createdAt, -MAX_TIME, MAX_TIME) || !inRange(expiresAt, createdAt, MAX_TIME)) throw invalid('times out of range');
  if (!inRange(execMs, 0, MAX_EXEC_MS) || !inRange(tokens, 0, MAX_TOKENS)) throw invalid('counters out of range');
  if (!('d' in w)) throw invalid('no data');
  const envelope = { key, value: decode(w.t, w.d), createdAt, expiresAt, execMs: execMs + 0, tokens: tokens + 0 };
  if (!('g' in w)) return envelope;
  // Tags are checked like the writer checks them (count, type, length), and never empty when present.
  if (!Array.isArray(w.g) || w.g.length === 0 || tagsProblem('g', w.g) !== undefined) throw invalid('tags malformed');
  if (new Set(w.g).size !== w.g.length) throw invalid('tags repeated');
  return { ...envelope, tags: Object.freeze([...(w.g as string[])]) };
}

function decode(encoding: unknown, data: unknown): unknown {
  if (encoding === 'b') {
    if (typeof data !== 'string' || !BASE64.test(data)) throw invalid('bytes not base64');
    return new Uint8Array(Buffer.from(data, 'base64'));
  }
  if (encoding !== 'j') throw invalid('unknown encoding');
  const problem = jsonDataProblem(data, MAX_DEPTH);
  if (problem !== undefined) throw invalid(problem);
  return data;
}

/** A finite number within [min, max]; `-0` counts as 0 (the caller adds 0 to normalize it). */
function inRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && value >= min && value <= max;
}

function invalid(why: string): OptimizerError {
  return new OptimizerError('ERR_SERIALIZATION', `A stored entry was refused: ${why}`);
}
