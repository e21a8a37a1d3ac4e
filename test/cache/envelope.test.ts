import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEnvelope, serializeEnvelope, type Envelope } from '../../src/cache/envelope.js';

const KEY = 'v1:tenant:abc';

/** A valid wire envelope with `fields` replaced (given as JSON text, so that the test controls the exact bytes). */
function wire(fields: Record<string, string> = {}): string {
  const all: Record<string, string> = { v: '1', k: JSON.stringify(KEY), c: '1000', e: '61000', x: '5', n: '7', t: '"j"', d: '"answer"', ...fields };
  return `{${Object.entries(all).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

function refused(text: string): boolean {
  try {
    parseEnvelope(text, KEY);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ERR_SERIALIZATION';
  }
}

describe('parseEnvelope: an entry from a store is outside data', () => {
  it('reads back what serializeEnvelope wrote', () => {
    const envelope: Envelope = { key: KEY, value: { a: [1, 'é', null, true] }, createdAt: 1000, expiresAt: 61_000, execMs: 5, tokens: 7 };
    expect(parseEnvelope(serializeEnvelope(envelope), KEY)).toEqual(envelope);
    const bytes = parseEnvelope(serializeEnvelope({ ...envelope, value: new Uint8Array([0, 255, 1]) }), KEY);
    expect([...(bytes?.value as Uint8Array)]).toEqual([0, 255, 1]);
  });

  it.each([
    ['a literal __proto__ key', '{"__proto__":{"isAdmin":true}}'],
    ['a __proto__ key spelt with a JSON escape', '{"\\u005f_proto__":{"isAdmin":true}}'],
    ['a fully escaped __proto__ key, nested', '[{"a":{"\\u005f\\u005f\\u0070roto\\u005f\\u005f":{"isAdmin":true}}}]'],
    ['an escaped constructor.prototype', '{"\\u0063onstructor":{"prototype":{"isAdmin":true}}}'],
    ['constructor with an escaped prototype', '{"constructor":{"protot\\u0079pe":{"isAdmin":true}}}'],
  ])('refuses %s (prototype poisoning), however the text spells it', (_, d) => {
    expect(refused(wire({ d }))).toBe(true);
  });

  it('keeps a harmless constructor key', () => {
    expect(parseEnvelope(wire({ d: '{"constructor":"a string"}' }), KEY)?.value).toEqual({ constructor: 'a string' });
  });

  it.each([
    ['counters at -1e300', { x: '-1e300' }],
    ['tokens at -1e300', { n: '-1e300' }],
    ['an exec time of 1e300', { x: '1e300' }],
    ['a token count of 1e300', { n: '1e300' }],
    ['an exec time that is a string', { x: '"5"' }],
    ['an exec time of 1e400 (Infinity once parsed)', { x: '1e400' }],
    ['an expiry beyond a Date (8.64e15 + 1)', { e: '8640000000000001' }],
    ['an expiry before creation', { c: '5000', e: '4000' }],
    ['a creation time that is null', { c: 'null' }],
    ['invalid base64', { t: '"b"', d: '"not base64!!"' }],
    ['base64 with a missing pad', { t: '"b"', d: '"AAE"' }],
    ['a number out of range in the data', { d: '[1e400]' }],
  ])('refuses an entry with %s', (_, fields) => {
    expect(refused(wire(fields))).toBe(true);
  });

  it('refuses a 200 000-deep nested array without overflowing the stack', () => {
    const depth = 200_000;
    expect(refused(wire({ d: `${'['.repeat(depth)}${']'.repeat(depth)}` }))).toBe(true);
    expect(refused(wire({ d: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` }))).toBe(true);
  });

  it('accepts nesting as deep as serializeEnvelope writes, and -0 counters as 0', () => {
    const deep = wire({ d: `${'['.repeat(256)}${']'.repeat(256)}` });
    expect(refused(deep)).toBe(false);
    expect(refused(wire({ d: `${'['.repeat(257)}${']'.repeat(257)}` }))).toBe(true);
    const zero = parseEnvelope(wire({ x: '-0', n: '-0' }), KEY);
    expect(Object.is(zero?.execMs, 0) && Object.is(zero?.tokens, 0)).toBe(true);
  });

  it('never throws anything but ERR_SERIALIZATION, and returns only in-range envelopes (property)', () => {
    const number = fc.oneof(
      fc.double(), fc.integer(), fc.constantFrom(-0, 0, -1, 1e300, -1e300, 8.64e15, 8.64e15 + 1, Number.MAX_VALUE),
    ).map((n) => (Number.isFinite(n) ? String(n) : JSON.stringify(String(n))));
    const json = fc.json({ depthSize: 'large' });
    const field = fc.oneof(number, json, fc.constantFrom('"NaN"', '"Infinity"', '"-0"', '1e400', '-1e400', 'null', '"j"', '"b"'));
    const hostile = fc.record(
      { c: field, e: field, x: field, n: field, t: field, d: fc.oneof(json, field, fc.base64String().map((s) => JSON.stringify(s))) },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(hostile, (fields) => {
      let envelope: Envelope | undefined;
      try {
        envelope = parseEnvelope(wire(fields), KEY);
      } catch (error) {
        expect(error).toMatchObject({ code: 'ERR_SERIALIZATION' });
        return;
      }
      expect(envelope).toBeDefined();
      const e = envelope as Envelope;
      for (const n of [e.createdAt, e.expiresAt, e.execMs, e.tokens]) expect(Number.isFinite(n)).toBe(true);
      expect(e.execMs >= 0 && e.execMs <= 86_400_000 && e.tokens >= 0 && e.tokens <= 1e9).toBe(true);
      expect(e.expiresAt).toBeGreaterThanOrEqual(e.createdAt);
      expect(Math.abs(e.expiresAt)).toBeLessThanOrEqual(8.64e15);
      if (!(e.value instanceof Uint8Array)) expect(() => serializeEnvelope(e)).not.toThrow();
    }), { numRuns: 2000 });
  });

  it('refuses -0 on write: JSON would turn it into 0', () => {
    expect(() => serializeEnvelope({ key: KEY, value: { t: -0 }, createdAt: 0, expiresAt: 1, execMs: 0, tokens: 0 })).toThrow(/`value.t` .* -0/);
  });
});

describe('envelope tags', () => {
  it('round-trips tags, and writes none when there are none', () => {
    const base = { key: KEY, value: 'v', createdAt: 1, expiresAt: 2, execMs: 0, tokens: 0 };
    expect(parseEnvelope(serializeEnvelope({ ...base, tags: ['a', 'b'] }), KEY)).toMatchObject({ tags: ['a', 'b'] });
    expect(serializeEnvelope({ ...base, tags: [] })).not.toContain('"g"');
    expect(parseEnvelope(serializeEnvelope(base), KEY)).not.toHaveProperty('tags');
  });

  it.each([
    ['not an array', '"a"'],
    ['empty', '[]'],
    ['a non-string', '["a",1]'],
    ['an empty tag', '[""]'],
    ['a tag too long', JSON.stringify(['t'.repeat(129)])],
    ['too many', JSON.stringify(Array.from({ length: 17 }, (_, i) => `t${i}`))],
    ['repeated', '["a","a"]'],
  ])('refuses tags that are %s', (_, g) => {
    expect(refused(wire({ g }))).toBe(true);
  });

  it('reads back any valid tag list (property)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 128 }), { minLength: 1, maxLength: 16 }), (tags) => {
      expect(parseEnvelope(wire({ g: JSON.stringify(tags) }), KEY)?.tags).toEqual(tags);
    }));
  });
});
