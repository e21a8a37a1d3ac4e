import { OptimizerError } from '../errors.js';

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
  return JSON.stringify(wire);
}

function checkJson(value: unknown, path: string, ancestors: object[], depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      throw refuse(path, `${value}`);
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

/**
 * Parses and validates an envelope read from a store. Returns `undefined` (a miss) for another
 * version; throws `ERR_SERIALIZATION` for anything malformed, for a key that is not the one asked
 * for (the entry belongs to another scope or request), and for `__proto__` / `constructor.prototype`
 * keys anywhere (prototype poisoning), so the caller deletes the entry.
 */
export function parseEnvelope(text: string, key: string): Envelope | undefined {
  let wire: unknown;
  try {
    wire = text.includes('"__proto__"') || text.includes('"constructor"') ? JSON.parse(text, rejectPoison) : JSON.parse(text);
  } catch (error) {
    if (error instanceof OptimizerError) throw error;
    throw new OptimizerError('ERR_SERIALIZATION', 'A stored entry is not valid JSON', { cause: error });
  }
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) throw invalid('not an object');
  const w = wire as Partial<Wire>;
  if (w.v !== ENVELOPE_VERSION) {
    if (typeof w.v === 'number') return undefined;
    throw invalid('no version');
  }
  if (w.k !== key) throw invalid('written under another key or scope');
  if (!isNumber(w.c) || !isNumber(w.e) || !isNumber(w.x) || !isNumber(w.n) || !('d' in w)) throw invalid('missing fields');
  let value: unknown = w.d;
  if (w.t === 'b') {
    if (typeof w.d !== 'string') throw invalid('bytes not base64');
    value = new Uint8Array(Buffer.from(w.d, 'base64'));
  } else if (w.t !== 'j') {
    throw invalid('unknown encoding');
  }
  return { key, value, createdAt: w.c, expiresAt: w.e, execMs: w.x, tokens: w.n };
}

function rejectPoison(this: unknown, name: string, value: unknown): unknown {
  if (name === '__proto__') throw invalid('a `__proto__` key (prototype poisoning)');
  if (name === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value) {
    throw invalid('a `constructor.prototype` key (prototype poisoning)');
  }
  return value;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function invalid(why: string): OptimizerError {
  return new OptimizerError('ERR_SERIALIZATION', `A stored entry was refused: ${why}`);
}
