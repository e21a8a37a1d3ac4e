import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { withOptimization } from '../../src/langchain.js';
import { CountingModel } from './langchain-fakes.js';

let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  vi.restoreAllMocks();
});

function newEngine(): OptimizationEngine {
  engine = new OptimizationEngine();
  return engine;
}

describe('withOptimization: a chat model whose invoke, batch and stream go through the engine', () => {
  it('sends identical calls to the model once and marks the hit, with zero usage', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    const model = withOptimization(inner, engine);
    const first = await model.invoke('Why is the sky blue?');
    const status: CallStatus = {};
    const second = await model.invoke('Why is the sky blue?', { optimization: { status } });
    expect(inner.calls).toBe(1);
    expect(second.content).toBe(first.content);
    expect(status.outcome).toBe('hit');
    expect(first.response_metadata['optimization']).toEqual({ outcome: 'miss' });
    expect(second.response_metadata['optimization']).toEqual({ outcome: 'hit' });
    expect(first.usage_metadata).toMatchObject({ input_tokens: 5, output_tokens: 7 });
    expect(second.usage_metadata).toMatchObject({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });
  });

  it('keys on every message part: roles, names, images by content, tool calls by order rather than random ids', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    const model = withOptimization(inner, engine);
    const image = (data: string) => new HumanMessage({ content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] });
    await model.invoke([image('A'.repeat(400))]);
    await model.invoke([image('B'.repeat(400))]);
    await model.invoke([image('A'.repeat(400))]);
    expect(inner.calls).toBe(2);
    await model.invoke([new SystemMessage('Be brief.'), new HumanMessage('hi')]);
    await model.invoke([new SystemMessage('Be long.'), new HumanMessage('hi')]);
    await model.invoke([new HumanMessage('Human: x\nAI: y')]);
    await model.invoke([new HumanMessage('x'), new AIMessage('y')]);
    expect(inner.calls).toBe(6);
    const turn = (id: string) => [
      new HumanMessage('weather?'),
      new AIMessage({ content: '', id: `run-${id}`, tool_calls: [{ name: 'weather', args: { city: 'Oslo' }, id: `call_${id}` }] }),
      new ToolMessage({ content: 'sunny', tool_call_id: `call_${id}` }),
    ];
    await model.invoke(turn('1'));
    await model.invoke(turn('2'));
    expect(inner.calls).toBe(7);
  });

  it('keys on call options and bound tools, not on callbacks, tags, metadata, run names or signals', async () => {
    const engine = newEngine();
    const inner = new FakeStreamingChatModel({ responses: [new AIMessage('ok')] });
    const spy = vi.spyOn(inner, '_generate');
    const model = withOptimization(inner, engine);
    await model.invoke('hi');
    await model.invoke('hi', { tags: ['t'], metadata: { requestId: 'r1' }, runName: 'n', signal: new AbortController().signal, callbacks: [] });
    expect(spy).toHaveBeenCalledTimes(1);
    await model.invoke('hi', { stop: ['.'] });
    expect(spy).toHaveBeenCalledTimes(2);
    const tool = { type: 'function' as const, function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } } };
    await model.bindTools([tool]).invoke('hi');
    expect(spy).toHaveBeenCalledTimes(3);
    await model.bindTools([tool]).invoke('hi');
    expect(spy).toHaveBeenCalledTimes(3);
    await model.bindTools([{ ...tool, function: { ...tool.function, name: 'other' } }]).invoke('hi');
    expect(spy).toHaveBeenCalledTimes(4);
  });

  it('keeps model settings in the key: two models of one type with different settings never share', async () => {
    const engine = newEngine();
    const a = new CountingModel({ responses: ['unused'] });
    const b = new CountingModel({ responses: ['unused'] });
    vi.spyOn(a, 'invocationParams').mockReturnValue({ model: 'm', temperature: 0 });
    vi.spyOn(b, 'invocationParams').mockReturnValue({ model: 'm', temperature: 1 });
    await withOptimization(a, engine).invoke('hi');
    await withOptimization(b, engine).invoke('hi');
    expect([a.calls, b.calls]).toEqual([1, 1]);
  });

  it('shares one model call between concurrent identical invokes, and batch coalesces duplicates', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    const model = withOptimization(inner, engine);
    const answers = await Promise.all(Array.from({ length: 10 }, () => model.invoke('same')));
    expect(inner.calls).toBe(1);
    expect(new Set(answers.map((a) => a.content)).size).toBe(1);
    expect(answers.filter((a) => (a.response_metadata['optimization'] as { outcome: string }).outcome === 'coalesced')).toHaveLength(9);
    const batch = await model.batch(['x', 'y', 'x', 'y']);
    expect(inner.calls).toBe(3);
    expect(batch.map((m) => m.content)).toEqual([batch[0]?.content, batch[1]?.content, batch[0]?.content, batch[1]?.content]);
  });

  it('never stores a truncated answer', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    inner.finish = 'length';
    const model = withOptimization(inner, engine);
    await model.invoke('hi');
    await model.invoke('hi');
    expect(inner.calls).toBe(2);
    expect(engine.cache.size).toBe(0);
  });

  it('cannot be poisoned by a caller mutating its message', async () => {
    const engine = newEngine();
    const model = withOptimization(new CountingModel({ responses: ['unused'] }), engine);
    const first = await model.invoke('hi');
    first.content = 'poisoned';
    const second = await model.invoke('hi');
    (second.response_metadata as Record<string, unknown>)['finish_reason'] = 'poisoned';
    const third = await model.invoke('hi');
    expect(third.content).toBe('answer 1 to hi');
    expect(third.response_metadata['finish_reason']).toBe('stop');
  });

  it('keeps scopes apart (per model and per call)', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    const a = withOptimization(inner, engine, { scope: 'tenant-a' });
    const b = withOptimization(inner, engine, { scope: 'tenant-b' });
    await a.invoke('hi');
    await b.invoke('hi');
    await a.invoke('hi', { optimization: { scope: 'tenant-c' } });
    expect(inner.calls).toBe(3);
    await b.invoke('hi');
    expect(inner.calls).toBe(3);
  });

  it('with requireFinishReason, stores no answer that names no finish reason', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['a', 'b'] });
    const model = withOptimization(inner, engine, { requireFinishReason: true });
    expect((await model.invoke('hi')).content).toBe('a');
    expect((await model.invoke('hi')).content).toBe('b');
    expect((await withOptimization(inner, engine).invoke('hi')).content).toBe('a');
    expect((await withOptimization(inner, engine).invoke('hi')).content).toBe('a');
  });

  it('lets a caller give up on a shared call without ending it for the others', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['shared'], sleep: 20 });
    const spy = vi.spyOn(inner, '_generate');
    const model = withOptimization(inner, engine);
    const controller = new AbortController();
    const leaving = model.invoke('hi', { signal: controller.signal });
    const staying = model.invoke('hi');
    controller.abort(new Error('caller left'));
    await expect(leaving).rejects.toThrow();
    expect((await staying).content).toBe('shared');
    expect(spy).toHaveBeenCalledTimes(1);
    expect((await model.invoke('hi')).response_metadata['optimization']).toEqual({ outcome: 'hit' });
  });

  it('rejects bad options naming them', () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    expect(() => withOptimization(inner, engine, { ttlMs: -5 })).toThrow(/`ttlMs`/);
    expect(() => withOptimization(inner, engine, { requireFinishReason: 'yes' } as never)).toThrow(/`requireFinishReason`/);
    expect(() => withOptimization({} as never, engine)).toThrow(/`chatModel`/);
    expect(() => withOptimization(inner, {} as never)).toThrow(/`engine`/);
  });
});

describe('withOptimization: streams', () => {
  async function text(stream: AsyncIterable<{ content: unknown }>): Promise<{ text: string; chunks: number }> {
    let out = '';
    let chunks = 0;
    for await (const chunk of stream) {
      out += String(chunk.content);
      chunks++;
    }
    return { text: out, chunks };
  }

  it('records a stream and replays it chunk by chunk; the hit is marked on the first chunk', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['Hello there', 'Other answer'], generationInfo: { finish_reason: 'stop' } });
    const spy = vi.spyOn(inner, '_streamResponseChunks');
    const model = withOptimization(inner, engine);
    const first = await text(await model.stream('hi'));
    const replayed: unknown[] = [];
    for await (const chunk of await model.stream('hi')) replayed.push(chunk.response_metadata['optimization']);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(first).toEqual({ text: 'Hello there', chunks: 11 });
    expect(replayed).toHaveLength(11);
    expect(replayed[0]).toEqual({ outcome: 'hit' });
  });

  it('shares one upstream stream between concurrent identical streams, all reading the same text', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['one shared answer', 'never'], sleep: 2 });
    const spy = vi.spyOn(inner, '_streamResponseChunks');
    const model = withOptimization(inner, engine);
    const results = await Promise.all(Array.from({ length: 5 }, async () => text(await model.stream('same'))));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.text === 'one shared answer' && r.chunks === 17)).toBe(true);
  });

  it('never stores a truncated stream, nor one a consumer broke off', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['cut short'], generationInfo: { finish_reason: 'length' } });
    const spy = vi.spyOn(inner, '_streamResponseChunks');
    const model = withOptimization(inner, engine);
    await text(await model.stream('hi'));
    await text(await model.stream('hi'));
    expect(spy).toHaveBeenCalledTimes(2);
    const whole = new FakeListChatModel({ responses: ['a whole answer'] });
    const wholeSpy = vi.spyOn(whole, '_streamResponseChunks');
    const wrapped = withOptimization(whole, engine);
    for await (const _chunk of await wrapped.stream('x')) break;
    await text(await wrapped.stream('x'));
    expect(wholeSpy).toHaveBeenCalledTimes(2);
    expect((await text(await wrapped.stream('x'))).text).toBe('a whole answer');
    expect(wholeSpy).toHaveBeenCalledTimes(2);
  });

  it('serves streamEvents (v2) from the same recorded stream', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['evented', 'never'] });
    const spy = vi.spyOn(inner, '_streamResponseChunks');
    const model = withOptimization(inner, engine);
    const read = async () => {
      let out = '';
      for await (const event of model.streamEvents('hi', { version: 'v2' })) {
        if (event.event === 'on_chat_model_stream') out += String((event.data as { chunk: { content: string } }).chunk.content);
      }
      return out;
    };
    expect(await read()).toBe('evented');
    expect(await read()).toBe('evented');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('keeps a stream entry apart from an invoke entry of the same call', async () => {
    const engine = newEngine();
    const inner = new FakeListChatModel({ responses: ['abc'] });
    const streams = vi.spyOn(inner, '_streamResponseChunks');
    const calls = vi.spyOn(inner, '_generate');
    const model = withOptimization(inner, engine);
    await text(await model.stream('hi'));
    const answer = await model.invoke('hi');
    expect(answer.content).toBe('abc');
    expect([streams.mock.calls.length, calls.mock.calls.length]).toEqual([1, 1]);
  });

  it('streams a model that cannot stream as one chunk, from the cache on a repeat', async () => {
    const engine = newEngine();
    const inner = new CountingModel({ responses: ['unused'] });
    vi.spyOn(inner, '_streamResponseChunks').mockImplementation(undefined as never);
    Object.defineProperty(inner, '_streamResponseChunks', { value: Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf(inner)))._streamResponseChunks });
    const model = withOptimization(inner, engine);
    expect((await text(await model.stream('hi'))).chunks).toBe(1);
    expect((await text(await model.stream('hi'))).text).toBe('answer 1 to hi');
    expect(inner.calls).toBe(1);
  });
});
