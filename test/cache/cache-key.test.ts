import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalParams, fingerprint, fullKey, requestIdentity, resolveHash } from '../../src/cache/cache-key.js';

const sha = resolveHash('sha256');
const key = (prompt: string | { role: string; content: string }[], model: string, scope: string, params?: Record<string, unknown>) =>
  fullKey(requestIdentity(prompt, model, scope, canonicalParams(params)), sha);

describe('fullKey', () => {
  it('changes whenever prompt, model, scope or any param changes', () => {
    const base = key('p', 'm', '', { temperature: 0 });
    expect(key('p2', 'm', '', { temperature: 0 })).not.toBe(base);
    expect(key('p', 'm2', '', { temperature: 0 })).not.toBe(base);
    expect(key('p', 'm', 't1', { temperature: 0 })).not.toBe(base);
    expect(key('p', 'm', '', { temperature: 0.1 })).not.toBe(base);
    expect(key('p', 'm', '', { temperature: 0, seed: 1 })).not.toBe(base);
    expect(key('p', 'm', '', {})).toBe(key('p', 'm', ''));
  });

  it('cannot be forged by moving text between fields', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (a, b, c, d) => {
        fc.pre(a !== c || b !== d);
        expect(key(a, 'm', b)).not.toBe(key(c, 'm', d));
        expect(key('p', a, b)).not.toBe(key('p', c, d));
      }),
    );
  });

  it('keeps a string prompt apart from messages with the same JSON text', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(key(JSON.stringify(messages), 'm', '')).not.toBe(key(messages, 'm', ''));
  });

  it('carries the key version and the scope for stores', () => {
    expect(key('p', 'm', '')).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(key('p', 'm', 'tenant/42')).toMatch(/^v1:tenant%2F42:[0-9a-f]{64}$/);
    expect(fullKey(requestIdentity('p', 'm', '', ''), resolveHash('md5'))).toMatch(/^v1:[0-9a-f]{32}$/);
  });
});

describe('fullKey over any string', () => {
  // Code units chosen to collide: lone surrogates of both halves, the U+FFFD UTF-8 puts in their place,
  // and the characters of the escapes and of URL encoding.
  const unit = fc.constantFrom('a', '\\', 'u', 'd', '8', '0', '%', '\n', ':', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uFFFD', '\uD83D\uDE00');
  const text = fc.array(unit, { maxLength: 6 }).map((units) => units.join(''));

  it('never throws and never gives two prompts or two scopes one key', () => {
    fc.assert(
      fc.property(text, text, text, text, (p1, s1, p2, s2) => {
        expect(key(p1, 'm', s1) === key(p2, 'm', s2)).toBe(p1 === p2 && s1 === s2);
        expect(key([{ role: 'user', content: p1 }], 'm', s1) === key([{ role: 'user', content: p2 }], 'm', s2)).toBe(p1 === p2 && s1 === s2);
      }),
      { numRuns: 3000 },
    );
  });

  it('keys a scope with a lone surrogate instead of throwing a URIError', () => {
    expect(key('p', 'm', 'a\uD800/b')).toMatch(/^v1:a%uD800%2Fb:[0-9a-f]{64}$/);
    expect(key('p', 'm', '\uDC00')).not.toBe(key('p', 'm', '\uDBFF'));
  });

  it('keeps the key of well-formed text as it was', () => {
    const expected = createHash('sha256').update('llmoe:v1\ns0:1:m\nhi \u00e9').digest('hex');
    expect(key('hi \u00e9', 'm', '')).toBe(`v1:${expected}`);
  });
});

describe('resolveHash', () => {
  it('refuses a custom hash that returns no string, instead of giving every request one key', () => {
    const hash = resolveHash((() => undefined) as unknown as (text: string) => string);
    expect(() => fullKey(requestIdentity('p', 'm', '', ''), hash)).toThrow("The cache's `hash` function must return a non-empty string, received undefined");
    expect(() => fullKey(requestIdentity('p', 'm', '', ''), resolveHash(() => ''))).toThrow(/received an empty string/);
  });
});

describe('fingerprint', () => {
  it('is the same for equal requests built separately', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.string(), (prompt, model) => {
        const a = requestIdentity(prompt, `m${model}`, '', '');
        const b = requestIdentity(`${prompt}`, `m${model}`, '', '');
        expect(fingerprint(a)).toBe(fingerprint(b));
      }),
    );
  });

  it('is a small integer usable as a map key', () => {
    const fp = fingerprint(requestIdentity('x'.repeat(5000), 'm', '', ''));
    expect(Number.isInteger(fp)).toBe(true);
    expect(fp).toBeGreaterThanOrEqual(0);
    expect(fp).toBeLessThan(2 ** 30);
  });
});
