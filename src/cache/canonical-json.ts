import { createHash } from 'node:crypto';

/**
 * Canonical JSON: the identity of params and chat messages in a cache key.
 *
 * Two values are equal (share a key) exactly when they are the same JSON data: `JSON.stringify` with
 * object keys sorted at every depth, with `undefined` fields absent and `undefined` array items `null`,
 * and an object with a `toJSON()` method (a `Date`, say) counting as what `toJSON()` returns, which is
 * what a model client sends. Binary data (typed arrays, `Buffer`, `DataView`, `ArrayBuffer`) is equal
 * to binary data of the same kind with the same bytes (a `Buffer` is a `Uint8Array`), never to a
 * string or an object. Everything JSON would drop or mangle is refused with a `TypeError` naming its
 * path: functions, symbols, bigints, `NaN`/`Infinity`, cycles, invalid dates, nesting deeper than
 * {@link MAX_DEPTH}, and objects that are not plain (`Map`, `Set`, `RegExp`, class instances, boxed
 * primitives), which `JSON.stringify` turns into `{}` so that every `Map` would share one entry.
 * Messages never name a value's content, only its path and type.
 */
export function canonicalJson(value: unknown, path = 'params'): string {
  return canonical(value, path, []);
}

/**
 * Where a value sits, built as a chain and spelt out only for an error message: keys are user data,
 * so one that does not read as a field name is shown by its length, never its text.
 */
type Path = string | { readonly up: Path; readonly at: string | number };

const FIELD_NAME = /^[A-Za-z_$][\w$-]{0,63}$/;

function pathText(path: Path): string {
  if (typeof path === 'string') return path;
  const { up, at } = path;
  if (typeof at === 'number') return `${pathText(up)}[${at}]`;
  return FIELD_NAME.test(at) ? `${pathText(up)}.${at}` : `${pathText(up)}[a key of ${at.length} characters]`;
}

/** Deepest nesting accepted: deeper values would overflow the stack instead of failing clearly. */
export const MAX_DEPTH = 256;

function canonical(value: unknown, path: Path, seen: object[]): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`\`${pathText(path)}\` must be finite to be part of a cache key, received ${value}`);
      return JSON.stringify(value);
    case 'undefined':
      return 'null';
    case 'object':
      return value === null ? 'null' : canonicalObject(value, path, seen);
    default:
      throw new TypeError(`\`${pathText(path)}\` cannot be part of a cache key (a ${typeof value})`);
  }
}

function canonicalObject(value: object, path: Path, seen: object[]): string {
  if (seen.includes(value)) throw new TypeError(`\`${pathText(path)}\` is circular and cannot be part of a cache key`);
  if (seen.length >= MAX_DEPTH) throw new TypeError(`\`${pathText(path)}\` is nested deeper than ${MAX_DEPTH} levels and cannot be part of a cache key`);
  // Arrays and plain objects first: what params and messages are made of (no plain object is binary).
  const plain = !Array.isArray(value) && isPlain(value);
  if (!plain && !Array.isArray(value)) {
    const binary = binaryOf(value);
    if (binary !== undefined) return binary;
  }
  seen.push(value);
  let out: string;
  if (Array.isArray(value)) {
    out = canonicalArray(value, path, seen);
  } else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    out = canonical(toJSONOf(value, path), path, seen);
  } else if (plain) {
    out = canonicalRecord(value as Record<string, unknown>, path, seen);
  } else {
    throw new TypeError(`\`${pathText(path)}\` cannot be part of a cache key (${kindOf(value)}); pass plain data: objects, arrays, strings, finite numbers, booleans, null`);
  }
  seen.pop();
  return out;
}

/**
 * Keys sorted, `undefined` fields left out. A plain loop without a path object for leaves: every
 * adapter call keys its params through here, on the hit path.
 */
function canonicalRecord(record: Record<string, unknown>, path: Path, seen: object[]): string {
  const keys = sortKeys(Object.keys(record));
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const child = record[key];
    if (child === undefined) continue;
    const text = typeof child === 'object' && child !== null ? canonicalObject(child, { up: path, at: key }, seen)
      : typeof child === 'string' ? JSON.stringify(child)
        : canonical(child, { up: path, at: key }, seen);
    out = out === '' ? `${quoteKey(key)}:${text}` : `${out},${quoteKey(key)}:${text}`;
  }
  return `{${out}}`;
}

/**
 * Keys in code-unit order, as `Array.prototype.sort` puts them: an insertion sort for the few keys
 * params have (the built-in sort's set-up costs more than sorting them).
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** Quoted field names, remembered: the same few recur in every call. Bounded in count and length, as keys are user data. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED = 1024;

function quoteKey(key: string): string {
  if (key.length > 64) return JSON.stringify(key);
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    if (quotedKeys.size >= MAX_QUOTED) quotedKeys.clear();
    quotedKeys.set(key, (quoted = JSON.stringify(key)));
  }
  return quoted;
}

function canonicalArray(items: readonly unknown[], path: Path, seen: object[]): string {
  let out = '[';
  // Indexed, not `map`: holes count as `undefined` (so `null`), as in JSON.
  for (let i = 0; i < items.length; i++) out += `${i === 0 ? '' : ','}${canonical(items[i], { up: path, at: i }, seen)}`;
  return `${out}]`;
}

function toJSONOf(value: object, path: Path): unknown {
  if (value instanceof Date && Number.isNaN(value.getTime())) {
    throw new TypeError(`\`${pathText(path)}\` is an invalid Date and cannot be part of a cache key`);
  }
  return (value as { toJSON(key: string): unknown }).toJSON('');
}

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Binary data as a token no JSON value can produce (JSON text never starts with `#`): its kind and
 * the sha256 of its bytes, so an image costs 60 characters of key, not its size.
 */
function binaryOf(value: object): string | undefined {
  let bytes: Uint8Array;
  if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  else if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) bytes = new Uint8Array(value);
  else return undefined;
  // The tag of `Object.prototype.toString`: a Buffer is a `Uint8Array`, whatever its class says.
  const kind = Object.prototype.toString.call(value).slice(8, -1);
  return `#${kind}:${createHash('sha256').update(bytes).digest('base64')}`;
}

/** What a refused object is, for the message: its class name when it has a sensible one. */
function kindOf(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== 'string' || !/^[A-Za-z_$][\w$]{0,40}$/.test(name)) return 'an object that is not plain data';
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}
