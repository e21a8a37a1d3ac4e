/**
 * Private copies of stored values at the speed of a cache hit (ADR 0035).
 *
 * A stored value is copied once on the way in with `structuredClone`, and its shape is noted: which
 * nodes are plain objects, which arrays hold only primitives (one `slice()` copies those: an
 * Ollama `context` of token ids, an embedding) and which hold objects. A hit then copies the value
 * node by node from those notes, never scanning a primitive array, and hands anything it did not
 * note (a `Date`, a `Map`, a typed array, an array with extra properties, anything nested deeper
 * than {@link MAX_DEPTH}) to `structuredClone`. The copy is the same data `structuredClone` would
 * give, 10–30× faster for a typical LLM response (measured in bench/adapters-hit.mjs).
 *
 * The notes live in a WeakMap keyed by the stored nodes: they cost nothing per entry in the cache
 * and go away with the value. A value that was never stored here (an `exec` result handed to a
 * coalesced caller) is not in the map and is copied with `structuredClone`, as before.
 */

/** An array of primitives only, without extra properties: one `slice()`. */
const FLAT = 1;
/** An array holding objects, without extra properties: element by element. */
const NESTED = 2;
/**
 * How a noted node is copied. A plain object (prototype `Object.prototype`) is noted by the keys
 * whose values are objects: the copy is a spread (V8 clones the object's shape at once) with those
 * keys then replaced by copies.
 */
type Kind = typeof FLAT | typeof NESTED | readonly string[];

/** Nodes nested deeper than this are left to `structuredClone` (which copes with any depth JSON allows). */
const MAX_DEPTH = 64;

const kinds = new WeakMap<object, Kind>();

/**
 * The value as a cache stores it: a `structuredClone` of the caller's value, with its shape noted
 * for {@link copyStored}. Throws what `structuredClone` throws (a function or a symbol inside).
 */
export function storedCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const stored = structuredClone(value);
  note(stored, 0);
  return stored;
}

/**
 * A private copy of a value: the same data, no node shared with `value` (strings and other
 * primitives are immutable and shared). Fastest for a value {@link storedCopy} made; a value that
 * was not noted (an `exec` result, a live stream chunk) is copied by walking its plain objects and
 * arrays, with `structuredClone` for every other node (a `Date`, a `Map`, a class instance, a typed
 * array, an array with extra properties, anything deeper than {@link MAX_DEPTH}; a cyclic value
 * whole). Throws a `DataCloneError` where `structuredClone` would (a function or a symbol inside).
 */
export function copyStored<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  return copyNode(value, kinds.get(value)) as T;
}

function note(node: object, depth: number): void {
  if (depth >= MAX_DEPTH) return;
  if (Array.isArray(node)) {
    if (Object.getPrototypeOf(node) !== Array.prototype || hasExtraKeys(node)) return;
    let flat = true;
    for (const element of node as unknown[]) {
      if (typeof element === 'object' && element !== null) {
        flat = false;
        note(element, depth + 1);
      }
    }
    kinds.set(node, flat ? FLAT : NESTED);
    return;
  }
  if (Object.getPrototypeOf(node) !== Object.prototype) return;
  const objects: string[] = [];
  for (const key of Object.keys(node)) {
    const child = (node as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null) {
      objects.push(key);
      note(child, depth + 1);
    }
  }
  kinds.set(node, objects);
}

/** `Object.keys` lists an array's indices first: a last key that is not an index is an extra property. */
function hasExtraKeys(array: unknown[]): boolean {
  const keys = Object.keys(array);
  const last = keys[keys.length - 1];
  return last !== undefined && !(INDEX.test(last) && Number(last) < MAX_LENGTH);
}

/** An array index as a key: a canonical integer below 2³² − 1. */
const INDEX = /^(?:0|[1-9]\d{0,9})$/;
const MAX_LENGTH = 2 ** 32 - 1;

function copyNode(node: object, kind: Kind | undefined): unknown {
  if (kind === FLAT) return (node as unknown[]).slice();
  if (kind === NESTED) {
    const array = node as unknown[];
    const out = new Array<unknown>(array.length);
    for (let i = 0; i < array.length; i++) out[i] = copyChild(array[i]);
    return out;
  }
  if (kind === undefined) return copyWhole(node);
  // A spread defines own properties (an own `__proto__` key stays a key) and never runs a setter.
  const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
  for (let i = 0; i < kind.length; i++) {
    const key = kind[i] as string;
    out[key] = copyChild(out[key]);
  }
  return out;
}

function copyChild(value: unknown): unknown {
  return typeof value !== 'object' || value === null ? value : copyNode(value, kinds.get(value));
}

/** Thrown when a value nobody noted turns out to be cyclic: `structuredClone` keeps its shape. */
const CYCLE = new Error('cyclic value');

function copyWhole(node: object): unknown {
  try {
    return copyUnnoted(node, []);
  } catch (error) {
    if (error === CYCLE) return structuredClone(node);
    throw error;
  }
}

/** A node nobody noted: plain objects key by key and plain arrays index by index (holes kept), the rest cloned. */
function copyUnnoted(node: object, path: object[]): unknown {
  if (path.includes(node)) throw CYCLE;
  if (path.length < MAX_DEPTH) {
    const proto: unknown = Object.getPrototypeOf(node);
    if (Array.isArray(node) && proto === Array.prototype && !hasExtraKeys(node)) {
      path.push(node);
      const out = new Array<unknown>(node.length);
      for (let i = 0; i < node.length; i++) if (i in node) out[i] = copyLoose((node as unknown[])[i], path);
      path.pop();
      return out;
    }
    if (proto === Object.prototype) {
      path.push(node);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(node)) {
        const child = copyLoose((node as Record<string, unknown>)[key], path);
        if (key === '__proto__') Object.defineProperty(out, key, { value: child, writable: true, enumerable: true, configurable: true });
        else out[key] = child;
      }
      path.pop();
      return out;
    }
  }
  return structuredClone(node);
}

function copyLoose(value: unknown, path: object[]): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw new DOMException(`A ${typeof value} could not be cloned`, 'DataCloneError');
  if (typeof value !== 'object' || value === null) return value;
  const kind = kinds.get(value);
  return kind === undefined ? copyUnnoted(value, path) : copyNode(value, kind);
}
