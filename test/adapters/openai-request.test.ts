import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/cache/canonical-json.js';
import { isCompleteChunks, isCompleteCompletion, openAiIdentity } from '../../src/adapters/openai-request.js';

const key = (id: ReturnType<typeof openAiIdentity>): string => `${id.model}\n${id.prompt}\n${canonicalJson(id.params)}`;
const messages = [{ role: 'user', content: 'hi' }];

/** Fields Ollama's /v1 never reads, with values of any JSON shape. */
const ignored = fc.dictionary(
  fc.constantFrom('n', 'logit_bias', 'tool_choice', 'user', 'max_completion_tokens', 'options', 'parallel_tool_calls', 'store', 'metadata', 'service_tier'),
  fc.jsonValue(),
);
const used = fc.record({
  temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
  seed: fc.option(fc.integer(), { nil: undefined }),
  max_tokens: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }),
  top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

describe('openAiIdentity', () => {
  it("keeps fields Ollama ignores out of the key, whatever their values ('ollama')", () => {
    fc.assert(fc.property(used, ignored, (fields, extra) => {
      const plain = openAiIdentity('chat', { model: 'm', messages, ...fields }, 'ollama');
      expect(key(openAiIdentity('chat', { model: 'm', messages, ...fields, ...extra }, 'ollama'))).toBe(key(plain));
    }));
  });

  it('gives different keys to requests that differ in a field the server uses', () => {
    fc.assert(fc.property(used, used, (a, b) => {
      const same = JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort());
      const ka = key(openAiIdentity('chat', { model: 'm', messages, ...a }, 'ollama'));
      const kb = key(openAiIdentity('chat', { model: 'm', messages, ...b }, 'ollama'));
      expect(ka === kb).toBe(same);
    }));
  });

  it("keys every non-volatile field with 'all', and never who asked", () => {
    const base = openAiIdentity('chat', { model: 'm', messages, n: 1 }, 'all');
    expect(key(openAiIdentity('chat', { model: 'm', messages, n: 2 }, 'all'))).not.toBe(key(base));
    expect(key(openAiIdentity('chat', { model: 'm', messages, n: 1, user: 'u', metadata: { a: '1' }, store: true }, 'all'))).toBe(key(base));
  });

  it('does not depend on the order of fields or of keys inside messages', () => {
    const a = openAiIdentity('chat', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'x' }] }, 'ollama');
    const b = openAiIdentity('chat', { messages: [{ content: 'x', role: 'user' }], temperature: 0, model: 'm' }, 'ollama');
    expect(key(a)).toBe(key(b));
  });

  it("keys a stop string as the one-element array Ollama makes of it, and an embedding's default format as float", () => {
    expect(key(openAiIdentity('chat', { model: 'm', messages, stop: 'x' }, 'ollama'))).toBe(key(openAiIdentity('chat', { model: 'm', messages, stop: ['x'] }, 'ollama')));
    const floats = openAiIdentity('embedding', { model: 'm', input: 'a', encoding_format: 'float' }, 'ollama');
    expect(key(openAiIdentity('embedding', { model: 'm', input: 'a' }, 'ollama'))).toBe(key(floats));
    expect(key(openAiIdentity('embedding', { model: 'm', input: 'a', encoding_format: 'base64' }, 'ollama'))).not.toBe(key(floats));
  });

  it('keeps a prompt string apart from an array holding it, and keys inline images by content hash', () => {
    expect(key(openAiIdentity('completion', { model: 'm', prompt: '["a"]' }, 'ollama')))
      .not.toBe(key(openAiIdentity('completion', { model: 'm', prompt: ['a'] }, 'ollama')));
    const image = (data: string) => openAiIdentity('chat', {
      model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] }],
    }, 'ollama');
    const big = image('A'.repeat(100_000));
    expect(big.prompt.length).toBeLessThan(200);
    expect(big.prompt).not.toBe(image('B'.repeat(100_000)).prompt);
  });
});

describe('completeness', () => {
  it('stores an answer only when every choice stopped', () => {
    expect(isCompleteCompletion({ choices: [{ finish_reason: 'stop' }] })).toBe(true);
    for (const reason of ['length', 'tool_calls', 'content_filter', null]) {
      expect(isCompleteCompletion({ choices: [{ finish_reason: 'stop' }, { finish_reason: reason }] })).toBe(false);
    }
    expect(isCompleteCompletion({ choices: [] })).toBe(false);
  });

  it('stores a stream only when each choice that appeared was finished with stop (a usage chunk has none)', () => {
    const part = (index: number, finish: string | null) => ({ choices: [{ index, delta: { content: 'x' }, finish_reason: finish }] });
    expect(isCompleteChunks([part(0, null), part(0, 'stop'), { choices: [], usage: {} }])).toBe(true);
    expect(isCompleteChunks([part(0, null), part(0, 'length')])).toBe(false);
    expect(isCompleteChunks([part(0, null)])).toBe(false);
    expect(isCompleteChunks([part(0, 'stop'), part(1, null)])).toBe(false);
    expect(isCompleteChunks([])).toBe(false);
  });
});
