import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chatIdentity, isFlattenedPrompt, keyedMessages, plainData, stableLlmKey } from '../../src/adapters/langchain-key.js';

/** LangChain's own `_getSerializedCacheKeyParametersForCall` formula (language_models/base.ts). */
function llmKeyOf(params: Record<string, unknown>): string {
  return Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}:${JSON.stringify(v)}`).sort().join(',');
}

const json = fc.jsonValue({ maxDepth: 3 });
const options = fc.dictionary(fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }).filter((k) => k !== 'signal'), json, { maxKeys: 5 });

describe('stableLlmKey', () => {
  it('gives a call with a signal the key of the same call without one', () => {
    fc.assert(fc.property(options, (params) => {
      const withSignal = llmKeyOf({ ...params, signal: new AbortController().signal });
      expect(stableLlmKey(withSignal)).toBe(llmKeyOf(params));
    }));
  });

  it('never merges two different option sets', () => {
    fc.assert(fc.property(options, options, (a, b) => {
      fc.pre(llmKeyOf(a) !== llmKeyOf(b));
      expect(stableLlmKey(llmKeyOf({ ...a, signal: {} }))).not.toBe(stableLlmKey(llmKeyOf({ ...b, signal: {} })));
    }));
  });

  it('keeps a value that merely contains the text `signal:{}`', () => {
    const key = llmKeyOf({ stop: ['a,signal:{}'], signal: {} });
    expect(stableLlmKey(key)).toBe(llmKeyOf({ stop: ['a,signal:{}'] }));
  });
});

describe('keyedMessages', () => {
  const turn = (callId: string, runId: string) => [
    new HumanMessage('What is the weather in Oslo and Rome?'),
    new AIMessage({
      content: '', id: runId,
      tool_calls: [{ name: 'weather', args: { city: 'Oslo' }, id: `${callId}-1` }, { name: 'weather', args: { city: 'Rome' }, id: `${callId}-2` }],
    }),
    new ToolMessage({ content: 'sunny', tool_call_id: `${callId}-1` }),
    new ToolMessage({ content: 'rain', tool_call_id: `${callId}-2` }),
  ];

  it('ignores random message and tool-call ids but keeps which result answers which call', () => {
    fc.assert(fc.property(fc.uuid(), fc.uuid(), fc.uuid(), fc.uuid(), (a, b, runA, runB) => {
      expect(keyedMessages(turn(a, runA))).toEqual(keyedMessages(turn(b, runB)));
    }));
    const swapped = turn('x', 'r');
    const [, , oslo, rome] = swapped;
    (oslo as ToolMessage).tool_call_id = 'x-2';
    (rome as ToolMessage).tool_call_id = 'x-1';
    expect(keyedMessages(swapped)).not.toEqual(keyedMessages(turn('x', 'r')));
  });

  it('keys images by content: equal data, equal key; different data, different key', () => {
    const image = (data: string) => [new HumanMessage({ content: [{ type: 'text', text: 'what?' }, { type: 'image', source_type: 'base64', mime_type: 'image/png', data }] })];
    fc.assert(fc.property(fc.base64String({ minLength: 300, maxLength: 600 }), fc.base64String({ minLength: 300, maxLength: 600 }), (a, b) => {
      expect(keyedMessages(image(a))).toEqual(keyedMessages(image(a)));
      if (a !== b) expect(keyedMessages(image(a))).not.toEqual(keyedMessages(image(b)));
      expect(JSON.stringify(keyedMessages(image(a))).length).toBeLessThan(300);
    }));
  });
});

describe('plainData', () => {
  it('refuses a cycle, naming its path', () => {
    const value: Record<string, unknown> = { a: 1 };
    value['self'] = value;
    expect(() => plainData(value, 'options.x')).toThrow(/`options\.x\.self`/);
  });

  it('sends -0 as 0 and keeps a field named __proto__, as JSON does (found by the property below)', () => {
    expect(Object.is(plainData(-0, 'v'), 0)).toBe(true);
    const parsed = JSON.parse('{"__proto__":{"a":1},"b":-0}') as unknown;
    expect(JSON.stringify(plainData(parsed, 'v'))).toBe('{"__proto__":{"a":1},"b":0}');
  });

  it('is what JSON would send for JSON data', () => {
    fc.assert(fc.property(json, (value) => {
      expect(plainData(value, 'v')).toEqual(JSON.parse(JSON.stringify(value)) as unknown);
    }));
  });
});

describe('chatIdentity', () => {
  const model = { _llmType: () => 'fake', invocationParams: (o: unknown) => ({ model: 'm', options: { temperature: 0 }, o }) };

  it('is one key for the same data written in any field order, and a different key for different data', () => {
    const entries = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })), { selector: ([k]) => k, maxLength: 6 });
    fc.assert(fc.property(entries, entries, (a, b) => {
      const args = Object.fromEntries(a);
      const reversed = Object.fromEntries([...a].reverse());
      const call = (value: Record<string, unknown>) => [new AIMessage({ content: '', tool_calls: [{ name: 't', args: value, id: 'c1' }] })];
      expect(chatIdentity(model, call(args), { extra: args })).toEqual(chatIdentity(model, call(reversed), { extra: reversed }));
      const other = Object.fromEntries(b);
      if (JSON.stringify(plainData(args, 'a')) !== JSON.stringify(plainData(other, 'b'))) {
        expect(chatIdentity(model, call(args), {})).not.toEqual(chatIdentity(model, call(other), {}));
      }
    }));
  });
});

describe('isFlattenedPrompt', () => {
  it('spots LangChain’s placeholders for content blocks, and nothing else', () => {
    expect(isFlattenedPrompt('Human: what is this?[image]')).toBe(true);
    expect(isFlattenedPrompt('Human: listen[audio]')).toBe(true);
    expect(isFlattenedPrompt('Human: [x] done, [ ] todo')).toBe(false);
  });
});
