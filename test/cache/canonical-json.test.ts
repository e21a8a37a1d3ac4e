import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalParams, fullKey, requestIdentity, resolveHash } from '../../src/cache/cache-key.js';
import { canonicalJson, MAX_DEPTH } from '../../src/cache/canonical-json.js';

const sha = resolveHash('sha256');
const keyOf = (params: Record<string, unknown>) => fullKey(requestIdentity('p', 'm', '', canonicalParams(params)), sha);

/** Binary data in the reference model: a class, so it never equals a plain object or a string. */
class Bytes {
  constructor(readonly kind: string, readonly bytes: number[]) {}
}

/**
 * The documented equality, written independently of the implementation: JSON data with `undefined`
 * fields absent and `undefined` items `null`, a `toJSON()` object as its result, -0 as 0, binary data
 * as its kind and bytes.
 */
function model(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value === 0 ? 0 : value;
  if (typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return new Bytes(Object.prototype.toString.call(value), [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)]);
  if (value instanceof ArrayBuffer) return new Bytes('ArrayBuffer', [...new Uint8Array(value)]);
  if (Array.isArray(value)) return Array.from(value, model);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return model((value as { toJSON(): unknown }).toJSON());
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, model(v)]));
}

const leaf = fc.oneof(
  fc.constantFrom('a', 'b', '', '1970-01-01T00:00:00.000Z', '#Uint8Array:x', '{}', '[]', 'null'),
  fc.constantFrom(0, -0, 1, 1.5, -2),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.integer({ min: 0, max: 1 }).map((ms) => new Date(ms)),
  fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }).chain((bytes) => fc.constantFrom(
    new Uint8Array(bytes), Buffer.from(bytes), new Uint16Array(bytes), new Int8Array(bytes), new DataView(new Uint8Array(bytes).buffer),
    new Uint8Array(bytes).buffer,
  )),
);

const { value: data } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.constantFrom('x', 'y', 'z', '0'), tie('value'), { maxKeys: 3 }),
}));

/** Rewrites a value into one the documentation calls equal: keys reordered, a Date as its ISO string and back, a Buffer as a Uint8Array… */
function equalForm(value: unknown, inArray = false): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && value === '1970-01-01T00:00:00.000Z') return new Date(0);
  if (Object.is(value, -0)) return 0;
  if (inArray && value === null) return undefined;
  if (inArray && value === undefined) return null;
  if (Buffer.isBuffer(value)) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map((item) => equalForm(item, true));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).reverse().map(([k, v]) => [k, equalForm(v)]);
    return Object.fromEntries([...entries, ['absent', undefined]]);
  }
  return value;
}

describe('canonicalJson: equality', () => {
  it('gives two params the same key exactly when they are equal as documented', () => {
    fc.assert(
      fc.property(data, data, (a, b) => {
        expect(keyOf({ v: a }) === keyOf({ v: b })).toBe(isDeepStrictEqual(model({ v: a }), model({ v: b })));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives equal forms of one value the same key', () => {
    fc.assert(
      fc.property(data, (a) => {
        const b = equalForm(a);
        expect(isDeepStrictEqual(model({ v: a }), model({ v: b }))).toBe(true);
        expect(keyOf({ v: b })).toBe(keyOf({ v: a }));
      }),
    );
  });

  it('does not depend on object key order, at any depth', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
    expect(canonicalJson({ b: { y: 1, x: 2 }, a: [1, { d: 1, c: 2 }] })).toBe('{"a":[1,{"c":2,"d":1}],"b":{"x":2,"y":1}}');
  });

  it('keeps the canonical form of JSON data as it was, so existing keys stay valid', () => {
    expect(canonicalJson({ temperature: 0, stop: ['\n'], options: { seed: 1, num_ctx: 2048 }, d: new Date(0) }))
      .toBe('{"d":"1970-01-01T00:00:00.000Z","options":{"num_ctx":2048,"seed":1},"stop":["\\n"],"temperature":0}');
  });

  it('tells binary data apart by kind and bytes, and from any string', () => {
    const bytes = canonicalJson({ img: new Uint8Array([1, 2]) });
    expect(canonicalJson({ img: Buffer.from([1, 2]) })).toBe(bytes);
    expect(canonicalJson({ img: new Uint8Array([1, 3]) })).not.toBe(bytes);
    expect(canonicalJson({ img: new Uint16Array([1, 2]) })).not.toBe(bytes);
    // The same bytes in another view: Uint8Array [1, 0] and Uint16Array [1] are the same memory.
    expect(canonicalJson({ img: new Uint16Array([1]) })).not.toBe(canonicalJson({ img: new Uint8Array([1, 0]) }));
    expect(canonicalJson({ img: bytes.slice(7, -1) })).not.toBe(bytes);
    expect(canonicalJson({ img: new Uint8Array(0).buffer })).not.toBe(canonicalJson({ img: {} }));
  });
});

describe('canonicalJson: refusals', () => {
  it.each([
    ['a Map', new Map([['a', 1]]), 'a Map'],
    ['a Set', new Set([1]), 'a Set'],
    ['a RegExp', /a/, 'a RegExp'],
    ['a class instance', new (class Temperature { value = 1 })(), 'a Temperature'],
    ['a boxed string', new String('x'), 'a String'],
    ['a WeakMap', new WeakMap(), 'a WeakMap'],
    ['a promise', Promise.resolve(1), 'a Promise'],
    ['an error', new Error('secret text'), 'an Error'],
  ])('refuses %s with a TypeError naming the param', (_, value, kind) => {
    expect(() => keyOf({ options: { v: value } })).toThrow(TypeError);
    expect(() => keyOf({ options: { v: value } })).toThrow(`\`params.options.v\` cannot be part of a cache key (${kind})`);
  });

  it('no longer gives different Maps (or Sets, RegExps) one key', () => {
    // Before, all of these canonicalized to `{}` and shared an entry.
    for (const [a, b] of [[new Map([['a', 1]]), new Map([['b', 2]])], [new Set([1]), new Set([2])], [/a/, /b/]] as const) {
      expect(() => keyOf({ v: a })).toThrow(TypeError);
      expect(() => keyOf({ v: b })).toThrow(TypeError);
    }
  });

  it('refuses values that JSON would silently drop or mangle, naming the path', () => {
    expect(() => canonicalJson({ options: { temperature: Number.NaN } })).toThrow(/`params\.options\.temperature` must be finite/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/`params\.f` cannot be part of a cache key \(a function\)/);
    expect(() => canonicalJson({ n: [1, 2n] })).toThrow(/`params\.n\[1\]` cannot be part of a cache key \(a bigint\)/);
    expect(() => canonicalJson({ d: new Date(Number.NaN) })).toThrow(/`params\.d` is an invalid Date/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/`params\.self` is circular/);
  });

  it('refuses nesting deeper than its limit with a TypeError, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => canonicalJson({ deep })).toThrow(TypeError);
    expect(() => canonicalJson({ deep })).toThrow(`nested deeper than ${MAX_DEPTH} levels`);
    let fine: unknown = 1;
    for (let i = 0; i < MAX_DEPTH - 1; i++) fine = [fine];
    expect(canonicalJson({ fine })).toMatch(/^\{"fine":\[+1\]+\}$/);
  });

  it('names a key that is not a field name by its length, never its text', () => {
    const message = (() => {
      try {
        canonicalJson({ 'SSN 123-45-6789 of patient Jane Doe': { v: new Map() } });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).toBe('`params[a key of 35 characters].v` cannot be part of a cache key (a Map); pass plain data: objects, arrays, strings, finite numbers, booleans, null');
    expect(() => canonicalJson({ 'top-p': new Set() })).toThrow('`params.top-p` cannot');
  });

  it('treats undefined fields as absent and undefined items as null, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
    expect(keyOf({ a: undefined })).toBe(keyOf({}));
    expect(keyOf({})).toBe(fullKey(requestIdentity('p', 'm', '', canonicalParams(undefined)), sha));
    expect(canonicalJson({ a: [undefined] })).toBe(canonicalJson({ a: [null] }));
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson({ a: [, 1] })).toBe('{"a":[null,1]}');
  });
});

describe('canonicalParams', () => {
  it('refuses params that are themselves not plain data, instead of reading them as no params', () => {
    expect(() => canonicalParams(new Map([['temperature', 1]]) as unknown as Record<string, unknown>)).toThrow('`params` cannot be part of a cache key (a Map)');
  });
});
