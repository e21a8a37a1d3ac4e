import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult, isCompleteChunks, isCompleteReason, type StoredGeneration, type StoredResult } from '../../src/adapters/langchain-values.js';

const text = fc.string({ unit: 'binary', maxLength: 200 });
const generation = fc.record({
  text,
  message: fc.option(fc.record({ type: fc.constantFrom('ai', 'human'), data: fc.record({ content: text, response_metadata: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })) }) }), { nil: undefined }),
}).map((g): StoredGeneration => (g.message === undefined ? { text: g.text } : { text: g.text, message: g.message }));

describe('encodeResult / decodeResult', () => {
  it('round-trips any result, texts with newlines and any characters included', () => {
    fc.assert(fc.property(fc.array(generation, { minLength: 1, maxLength: 3 }), fc.boolean(), (generations, sameText) => {
      const result: StoredResult = {
        // Most answers have `text` equal to the message's content (the encoding's fast case); some do not.
        generations: generations.map((g) => (sameText && g.message !== undefined ? { ...g, text: g.message.data['content'] as string } : g)),
      };
      expect(decodeResult(encodeResult(result))).toEqual(JSON.parse(JSON.stringify(result)) as unknown);
    }));
  });
});

describe('completeness', () => {
  it('stores stop-like finish reasons, never length or content filters', () => {
    for (const reason of ['stop', 'end_turn', 'STOP', 'tool_calls']) expect(isCompleteReason(reason, true)).toBe(true);
    for (const reason of ['length', 'max_tokens', 'MAX_TOKENS', 'content_filter', 'SAFETY', 'load', 7]) expect(isCompleteReason(reason, false)).toBe(false);
    expect(isCompleteReason(undefined, false)).toBe(true);
    expect(isCompleteReason(undefined, true)).toBe(false);
  });

  it('judges a stream by the last finish reason it carried', () => {
    const chunk = (reason?: string) => ({ text: 'x', message: reason === undefined ? {} : { response_metadata: { done_reason: reason } } });
    expect(isCompleteChunks([chunk(), chunk('stop')], false)).toBe(true);
    expect(isCompleteChunks([chunk(), chunk('length')], false)).toBe(false);
    expect(isCompleteChunks([chunk('stop'), chunk()], true)).toBe(true);
    expect(isCompleteChunks([], false)).toBe(false);
  });
});
