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
