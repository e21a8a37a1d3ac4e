import { generateText, jsonSchema, streamText, tool as aiTool, wrapLanguageModel, type ModelMessage, type ToolSet } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import * as ai6 from 'ai-v6';
import { MockLanguageModelV3 } from 'ai-v6/test';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { optimizationMiddleware } from '../../src/ai-sdk.js';

const TEXT = 'The sky is blue because of Rayleigh scattering.';
const usage = { inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 9, text: 9, reasoning: undefined } };

type Reason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error';

function result(text = TEXT, reason: Reason = 'stop') {
  return {
    content: [{ type: 'text' as const, text }],
    finishReason: { unified: reason, raw: reason },
    usage,
    warnings: [],
    response: { id: 'resp-1', timestamp: new Date(1_700_000_000_000), modelId: 'mock-model' },
  };
}

function parts(text = TEXT, reason: Reason = 'stop') {
  const words = text.split(/(?<= )/);
  return [
    { type: 'stream-start' as const, warnings: [] },
    { type: 'response-metadata' as const, id: 'resp-1', timestamp: new Date(1_700_000_000_000), modelId: 'mock-model' },
    { type: 'text-start' as const, id: '0' },
    ...words.map((delta) => ({ type: 'text-delta' as const, id: '0', delta })),
    { type: 'text-end' as const, id: '0' },
    { type: 'finish' as const, finishReason: { unified: reason, raw: reason }, usage },
  ];
}

let engine: OptimizationEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** An AI SDK 7 mock model (v4) behind the middleware, counting the calls that reach it. */
function setup(options: { reason?: Reason; text?: (n: number) => string; gate?: Promise<void> } = {}) {
  engine = new OptimizationEngine();
  const calls = { generate: 0, stream: 0, params: [] as unknown[] };
  const mock = new MockLanguageModelV4({
    doGenerate: async (params) => {
      calls.params.push(params);
      const n = ++calls.generate;
      await options.gate;
      return result(options.text?.(n) ?? TEXT, options.reason);
    },
    doStream: async (params) => {
      calls.params.push(params);
      const n = ++calls.stream;
      await options.gate;
      return { stream: convertArrayToReadableStream(parts(options.text?.(n) ?? TEXT, options.reason)), response: { headers: { 'x-request': String(n) } } };
    },
  });
  const model = wrapLanguageModel({ model: mock, middleware: optimizationMiddleware({ engine }) });
  return { engine, calls, model };
}

const meta = (r: { providerMetadata?: Record<string, unknown> | undefined }) => r.providerMetadata?.['llmOptimizationEngine'] as Record<string, unknown> | undefined;

describe('optimizationMiddleware: generateText (AI SDK 7, v4 mock model)', () => {
  it('answers an identical call from the cache, says so, and reports zero usage for the hit', async () => {
    const { calls, model } = setup();
    const first = await generateText({ model, prompt: 'Why is the sky blue?', temperature: 0 });
    const second = await generateText({ model, prompt: 'Why is the sky blue?', temperature: 0 });
    expect(calls.generate).toBe(1);
    expect(second.text).toBe(first.text);
    expect(meta(first)).toMatchObject({ outcome: 'miss', hit: false });
    expect(meta(second)).toMatchObject({ outcome: 'hit', hit: true, source: 'memory', cachedUsage: { inputTokens: 12, outputTokens: 9 } });
    expect(first.usage.inputTokens).toBe(12);
    expect(second.usage.inputTokens).toBe(0);
    expect(second.usage.outputTokens).toBe(0);
    expect(second.response.timestamp).toEqual(new Date(1_700_000_000_000));
  });

  it("reports the stored usage of a hit with hitUsage: 'original'", async () => {
    engine = new OptimizationEngine();
    const model = wrapLanguageModel({ model: new MockLanguageModelV4({ doGenerate: async () => result() }), middleware: optimizationMiddleware({ engine, hitUsage: 'original' }) });
    await generateText({ model, prompt: 'Hi' });
    const hit = await generateText({ model, prompt: 'Hi' });
    expect(meta(hit)?.['hit']).toBe(true);
    expect(hit.usage.inputTokens).toBe(12);
  });

  it.each([
    ['temperature', { temperature: 0.7 }],
    ['maxOutputTokens', { maxOutputTokens: 50 }],
    ['topP', { topP: 0.5 }],
    ['topK', { topK: 5 }],
    ['seed', { seed: 42 }],
    ['stopSequences', { stopSequences: ['\n'] }],
    ['providerOptions', { providerOptions: { ollama: { num_ctx: 4096 } } }],
    ['system', { system: 'Answer in French.' }],
  ])('sends a call whose %s differs to the model', async (_field, change) => {
    const { calls, model } = setup();
    await generateText({ model, prompt: 'Why is the sky blue?', temperature: 0 });
    await generateText({ model, prompt: 'Why is the sky blue?', temperature: 0, ...change });
    expect(calls.generate).toBe(2);
  });

  it('keys tools and tool choice', async () => {
    const { calls, model } = setup();
    // AI SDK 7's tool types reject a tool without `execute` under exactOptionalPropertyTypes; the runtime takes it.
    const tool = (description: string) => aiTool({ description, inputSchema: jsonSchema<{ city?: string }>({ type: 'object', properties: { city: { type: 'string' } } }) }) as unknown as ToolSet[string];
    await generateText({ model, prompt: 'Weather?', tools: { weather: tool('Weather now') } });
    await generateText({ model, prompt: 'Weather?', tools: { weather: tool('Weather now') } });
    expect(calls.generate).toBe(1);
    await generateText({ model, prompt: 'Weather?', tools: { weather: tool('Weather tomorrow') } });
    await generateText({ model, prompt: 'Weather?', tools: { weather: tool('Weather now') }, toolChoice: 'none' });
    expect(calls.generate).toBe(3);
  });

  it('keys files by content: the same bytes hit, as bytes or base64; other bytes miss', async () => {
    const { calls, model } = setup();
    const ask = (data: Uint8Array | string): ModelMessage[] => [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image', image: data, mediaType: 'image/png' }] }];
    await generateText({ model, messages: ask(new Uint8Array([1, 2, 3, 4])) });
    await generateText({ model, messages: ask(Buffer.from([1, 2, 3, 4]).toString('base64')) });
    expect(calls.generate).toBe(1);
    await generateText({ model, messages: ask(new Uint8Array([1, 2, 3, 5])) });
    expect(calls.generate).toBe(2);
  });

  it('keeps volatile fields out of the key: headers and the abort signal', async () => {
    const { calls, model } = setup();
    await generateText({ model, prompt: 'Hi', headers: { 'x-request-id': 'a' }, abortSignal: new AbortController().signal });
    const second = await generateText({ model, prompt: 'Hi', headers: { 'x-request-id': 'b' } });
    expect(calls.generate).toBe(1);
    expect(meta(second)?.['hit']).toBe(true);
  });

  it('keeps its own providerOptions out of the key and away from the provider, and reads the scope there', async () => {
    const { calls, model } = setup();
    await generateText({ model, prompt: 'Hi', providerOptions: { llmOptimizationEngine: { scope: 'tenant-a' } } });
    await generateText({ model, prompt: 'Hi', providerOptions: { llmOptimizationEngine: { scope: 'tenant-b' } } });
    const again = await generateText({ model, prompt: 'Hi', providerOptions: { llmOptimizationEngine: { scope: 'tenant-a' } } });
    expect(calls.generate).toBe(2);
    expect(meta(again)?.['hit']).toBe(true);
    expect(calls.params.every((p) => (p as { providerOptions?: unknown }).providerOptions === undefined)).toBe(true);
  });

  it('sends a call the key cannot hold to the model uncached instead of failing it', async () => {
    const { calls, model } = setup();
    const odd = { providerOptions: { mock: { at: new Map([['a', 1]]) } } } as never;
    const first = await generateText({ model, prompt: 'Hi', ...(odd as object) });
    await generateText({ model, prompt: 'Hi', ...(odd as object) });
    expect(calls.generate).toBe(2);
    expect(meta(first)).toMatchObject({ outcome: 'bypass', hit: false });
  });

  it('rejects a bad per-call setting, naming it', async () => {
    const { model } = setup();
    await expect(generateText({ model, prompt: 'Hi', providerOptions: { llmOptimizationEngine: { ttlMs: -1 } } })).rejects.toThrow(/providerOptions\.llmOptimizationEngine\.ttlMs/);
  });

  it.each(['length', 'content-filter', 'error'] as const)("never stores an answer that finished with '%s'", async (reason) => {
    const { calls, model } = setup({ reason });
    await generateText({ model, prompt: 'Tell me a long story' });
    await generateText({ model, prompt: 'Tell me a long story' });
    expect(calls.generate).toBe(2);
  });

  it("stores 'tool-calls' answers unless storeToolCalls is false", async () => {
    engine = new OptimizationEngine();
    let calls = 0;
    const mock = new MockLanguageModelV4({
      doGenerate: async () => (calls++, {
        content: [{ type: 'tool-call' as const, toolCallId: 'c1', toolName: 'weather', input: '{}' }],
        finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' }, usage, warnings: [],
      }),
    });
    const tools = { weather: aiTool({ inputSchema: jsonSchema<{ city?: string }>({ type: 'object', properties: { city: { type: 'string' } } }) }) as unknown as ToolSet[string] };
    for (const storeToolCalls of [true, false]) {
      const model = wrapLanguageModel({ model: mock, middleware: optimizationMiddleware({ engine, storeToolCalls, scope: String(storeToolCalls) }) });
      calls = 0;
      await generateText({ model, prompt: 'Weather?', tools });
      await generateText({ model, prompt: 'Weather?', tools });
      expect(calls).toBe(storeToolCalls ? 1 : 2);
    }
  });

  it('shares one upstream call among concurrent identical calls', async () => {
    let open!: () => void;
    const { calls, model } = setup({ gate: new Promise<void>((resolve) => (open = resolve)) });
    const pending = Array.from({ length: 5 }, () => generateText({ model, prompt: 'Hi' }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    const answers = await Promise.all(pending);
    expect(calls.generate).toBe(1);
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set([TEXT]));
    expect(answers.map((a) => meta(a)?.['outcome']).sort()).toEqual(['coalesced', 'coalesced', 'coalesced', 'coalesced', 'miss']);
    // Honest usage: the tokens were spent once.
    expect(answers.reduce((n, a) => n + (a.usage.inputTokens ?? 0), 0)).toBe(12);
  });

  it('a caller that mutates its result cannot change what the next caller gets', async () => {
    const { model } = setup();
    const first = await generateText({ model, prompt: 'Hi' });
    (first.response.messages[0]!.content as { text: string }[])[0]!.text = 'poisoned';
    const second = await generateText({ model, prompt: 'Hi' });
    const raw = second.content[0] as { text: string };
    raw.text = 'poisoned again';
    second.response.timestamp.setTime(0);
    const third = await generateText({ model, prompt: 'Hi' });
    expect(third.text).toBe(TEXT);
    expect(third.response.timestamp.getTime()).toBe(1_700_000_000_000);
  });

  it('hands out shared parts of a hit frozen: changing one throws, and the next caller is unaffected', async () => {
    engine = new OptimizationEngine();
    const middleware = optimizationMiddleware({ engine });
    const mock = new MockLanguageModelV4({ doGenerate: async () => ({ ...result(), providerMetadata: { ollama: { evalCount: 9 } } }) });
    const call = () => middleware.wrapGenerate({ params: { prompt: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }, model: mock, doGenerate: () => mock.doGenerate({ prompt: [] }), doStream: () => mock.doStream({ prompt: [] }) }) as Promise<{ finishReason: { unified: string }; providerMetadata: { ollama: { evalCount: number } } }>;
    await call();
    const hit = await call();
    expect(() => { hit.finishReason.unified = 'length'; }).toThrow(TypeError);
    expect(() => { hit.providerMetadata.ollama.evalCount = 0; }).toThrow(TypeError);
    const next = await call();
    expect(next.finishReason.unified).toBe('stop');
    expect(next.providerMetadata.ollama.evalCount).toBe(9);
  });

  it("serves only from the cache with cache: 'only-if-cached'", async () => {
    const { model } = setup();
    await expect(generateText({ model, prompt: 'Hi', providerOptions: { llmOptimizationEngine: { cache: 'only-if-cached' } } })).rejects.toMatchObject({ code: 'ERR_NOT_CACHED' });
  });
});

describe('optimizationMiddleware: streamText (AI SDK 7, v4 mock model)', () => {
  it('records a stream and replays it part by part, with the same text', async () => {
    const { calls, model } = setup();
    const first = streamText({ model, prompt: 'Why is the sky blue?' });
    const firstDeltas: string[] = [];
    for await (const delta of first.textStream) firstDeltas.push(delta);
    const second = streamText({ model, prompt: 'Why is the sky blue?' });
    const secondDeltas: string[] = [];
    for await (const delta of second.textStream) secondDeltas.push(delta);
    expect(calls.stream).toBe(1);
    expect(secondDeltas).toEqual(firstDeltas);
    expect(secondDeltas.length).toBeGreaterThan(3);
    expect(meta({ providerMetadata: await second.providerMetadata })).toMatchObject({ outcome: 'hit', hit: true });
    expect((await second.usage).inputTokens).toBe(0);
    expect((await first.usage).inputTokens).toBe(12);
  });

  it('shares one upstream stream among concurrent identical streams: one request, the same text', async () => {
    let open!: () => void;
    const { calls, model } = setup({ gate: new Promise<void>((resolve) => (open = resolve)) });
    const streams = Array.from({ length: 6 }, () => streamText({ model, prompt: 'Hi' }));
    const texts = Promise.all(streams.map((s) => s.text));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    expect(new Set(await texts)).toEqual(new Set([TEXT]));
    expect(calls.stream).toBe(1);
  });

  it('says which concurrent stream ran the model: one miss with the usage, the others coalesced with zero usage', async () => {
    let open!: () => void;
    const { model } = setup({ gate: new Promise<void>((resolve) => (open = resolve)) });
    const streams = Array.from({ length: 3 }, () => streamText({ model, prompt: 'Hi' }));
    const done = Promise.all(streams.map(async (s) => ({ metadata: meta({ providerMetadata: await s.providerMetadata }), usage: await s.usage })));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    const ends = await done;
    expect(ends.map((e) => e.metadata?.['outcome']).sort()).toEqual(['coalesced', 'coalesced', 'miss']);
    expect(ends.reduce((n, e) => n + (e.usage.inputTokens ?? 0), 0)).toBe(12);
  });

  it("replays with the original gaps between parts with replay: 'original'", async () => {
    engine = new OptimizationEngine();
    const all = parts('one two three');
    const mock = new MockLanguageModelV4({
      doStream: async () => {
        let i = 0;
        return { stream: new ReadableStream({ pull: async (controller) => {
          if (i === all.length) return controller.close();
          if (all[i]!.type === 'text-delta') await new Promise((resolve) => setTimeout(resolve, 40));
          controller.enqueue(all[i++]);
        } }) };
      },
    });
    const model = wrapLanguageModel({ model: mock, middleware: optimizationMiddleware({ engine }) });
    await streamText({ model, prompt: 'Count' }).text;
    const timed = async (replay: 'original') => {
      const start = performance.now();
      await streamText({ model, prompt: 'Count', providerOptions: { llmOptimizationEngine: { replay } } }).text;
      return performance.now() - start;
    };
    // Three 40 ms gaps before the deltas: an 'original' replay takes them again (an instant one does
    // not wait; no upper bound is asserted, the machine may be slow).
    expect(await timed('original')).toBeGreaterThanOrEqual(100);
  });

  it('never stores a truncated stream', async () => {
    const { calls, model } = setup({ reason: 'length' });
    await streamText({ model, prompt: 'Long story' }).text;
    await streamText({ model, prompt: 'Long story' }).text;
    expect(calls.stream).toBe(2);
  });

  it('never stores a stream the caller aborted', async () => {
    engine = new OptimizationEngine();
    const calls = { stream: 0 };
    let upstreamCancelled = false;
    const mock = new MockLanguageModelV4({
      doStream: async () => {
        calls.stream++;
        const all = parts();
        let i = 0;
        // Sends the first parts, then waits (a model still generating) until the reader cancels.
        const stream = new ReadableStream({
          pull: (controller) => (i < 4 ? controller.enqueue(all[i++]) : new Promise<void>(() => undefined)),
          cancel: () => void (upstreamCancelled = true),
        });
        return { stream };
      },
    });
    const model = wrapLanguageModel({ model: mock, middleware: optimizationMiddleware({ engine }) });
    const controller = new AbortController();
    const first = streamText({ model, prompt: 'Hi', abortSignal: controller.signal });
    for await (const _ of first.textStream) {
      controller.abort();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(upstreamCancelled).toBe(true);
    const again = streamText({ model, prompt: 'Hi' });
    for await (const _ of again.textStream) break;
    expect(calls.stream).toBe(2);
  });

  it('keeps streams and generated answers apart (a stream entry is a list of parts)', async () => {
    const { calls, model } = setup();
    await generateText({ model, prompt: 'Hi' });
    expect(await streamText({ model, prompt: 'Hi' }).text).toBe(TEXT);
    expect(calls).toMatchObject({ generate: 1, stream: 1 });
  });
});

describe('optimizationMiddleware: AI SDK 6 (v3 middleware, v3 mock model)', () => {
  function setup6() {
    engine = new OptimizationEngine();
    const calls = { generate: 0, stream: 0 };
    const model = ai6.wrapLanguageModel({
      model: new MockLanguageModelV3({
        doGenerate: async () => (calls.generate++, result()),
        doStream: async () => (calls.stream++, { stream: convertArrayToReadableStream(parts()) }),
      }),
      middleware: optimizationMiddleware({ engine }),
    });
    return { calls, model };
  }

  it('caches generateText and streamText', async () => {
    const { calls, model } = setup6();
    await ai6.generateText({ model, prompt: 'Hi', temperature: 0 });
    const hit = await ai6.generateText({ model, prompt: 'Hi', temperature: 0 });
    await ai6.streamText({ model, prompt: 'Hi', temperature: 0 }).text;
    const replayed = ai6.streamText({ model, prompt: 'Hi', temperature: 0 });
    expect(await replayed.text).toBe(TEXT);
    expect(calls).toEqual({ generate: 1, stream: 1 });
    expect(hit.text).toBe(TEXT);
    expect(meta(hit)?.['hit']).toBe(true);
    expect((await replayed.usage).inputTokens).toBe(0);
  });
});
