import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callKeyText } from '../../src/adapters/ai-sdk-key.js';
import { canonicalJson } from '../../src/cache/canonical-json.js';

const MODEL = { specificationVersion: 'v4', provider: 'ollama.chat', modelId: 'llama3.1:8b' };

/** Small alphabets, so that equal and nearly equal values are frequent. */
const text = fc.string({ unit: fc.constantFrom('a', 'b', ':', '1', 's', ';', '"'), maxLength: 4 });
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text }),
  fc.record({ type: fc.constant('text'), text, providerOptions: fc.record({ x: fc.record({ y: text }) }) }),
  fc.record({ type: fc.constant('file'), mediaType: fc.constant('image/png'), data: text }),
);
const message = fc.oneof(
  fc.record({ role: fc.constant('system'), content: text }),
  fc.record({ role: fc.constantFrom('user', 'assistant'), content: fc.array(part, { maxLength: 3 }) }),
);
const settings = fc.record({
  temperature: fc.constantFrom(0, 0.5, 1),
  maxOutputTokens: fc.constantFrom(1, 11),
  seed: fc.integer({ min: 0, max: 3 }),
  stopSequences: fc.array(text, { maxLength: 2 }),
  providerOptions: fc.record({ ollama: fc.record({ think: fc.boolean() }) }),
  futureField: text,
}, { requiredKeys: [] });
const call = fc.record({ prompt: fc.array(message, { maxLength: 3 }), settings });

/** What the key must distinguish: the call as canonical JSON, without volatile fields. */
const canonical = (c: { prompt: unknown; settings: object }) => canonicalJson({ ...c.settings, prompt: c.prompt });
const keyOf = (c: { prompt: unknown; settings: object }, extra: object = {}) => callKeyText(MODEL, { ...c.settings, ...extra, prompt: c.prompt });

describe('callKeyText', () => {
  it('gives two calls one key exactly when they are the same call', () => {
    fc.assert(fc.property(call, call, (a, b) => {
      expect(keyOf(a) === keyOf(b)).toBe(canonical(a) === canonical(b));
    }), { numRuns: 2000 });
  });

  it('ignores field order, the abort signal, headers and its own providerOptions namespace', () => {
    fc.assert(fc.property(call, (a) => {
      const reversed = Object.fromEntries(Object.entries(a.settings).reverse());
      const providerOptions = { ...(a.settings.providerOptions ?? {}), llmOptimizationEngine: { scope: 'x' } };
      expect(keyOf({ ...a, settings: reversed }, { headers: { 'x-id': '1' }, abortSignal: new AbortController().signal })).toBe(keyOf(a));
      expect(keyOf(a, { providerOptions })).toBe(keyOf(a, { providerOptions: a.settings.providerOptions }));
    }));
  });

  it('keys file data by content: bytes and their base64 alike, AI SDK 6 and 7 shapes', () => {
    const bytes = new Uint8Array([137, 80, 78, 71]);
    const base64 = Buffer.from(bytes).toString('base64');
    const v3 = (data: unknown) => callKeyText(MODEL, { prompt: [{ role: 'user', content: [{ type: 'file', mediaType: 'image/png', data }] }] });
    const v4 = (data: unknown) => v3({ type: 'data', data });
    expect(v3(bytes)).toBe(v3(base64));
    expect(v4(bytes)).toBe(v4(base64));
    expect(v3(new Uint8Array([1]))).not.toBe(v3(bytes));
    expect(v3(bytes).length).toBeLessThan(200);
  });

  it('keeps models of different providers and specification versions apart', () => {
    const params = { prompt: [{ role: 'system', content: 'x' }] };
    expect(callKeyText(MODEL, params)).not.toBe(callKeyText({ ...MODEL, provider: 'openai.chat' }, params));
    expect(callKeyText(MODEL, params)).not.toBe(callKeyText({ ...MODEL, specificationVersion: 'v3' }, params));
  });

  it('refuses a value that cannot be keyed, naming where it is', () => {
    expect(() => callKeyText(MODEL, { prompt: [], tools: [{ fn: () => 1 }] })).toThrow(/params/);
  });
});
