import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { withOptimization, type OpenAIOptimizationOptions } from '../../src/openai.js';
import { createMockModel, startOllamaTestServer, type MockModelOptions, type OllamaTestServer } from '../../src/testing.js';

const MODEL = 'llama3.1:8b';
const messages = [{ role: 'system' as const, content: 'Answer briefly.' }, { role: 'user' as const, content: 'Why is the sky blue?' }];

let server: OllamaTestServer | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await server?.close();
  server = undefined;
  engine = undefined;
});

async function setup(mockOptions: MockModelOptions = {}, options: OpenAIOptimizationOptions = {}) {
  const mock = createMockModel(mockOptions);
  server = await startOllamaTestServer({ backend: mock });
  engine = new OptimizationEngine();
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ollama', maxRetries: 0 });
  return { mock, server, engine, client, openai: withOptimization(client, engine, options) };
}

const sent = (path: string): unknown[] => (server?.requests ?? []).filter((r) => r.path === path).map((r) => r.body);

async function text(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.choices[0]?.delta.content ?? '';
  return out;
}

describe('withOptimization (openai): the real openai client against the loopback /v1 server', () => {
  it('answers identical chat completions from one upstream request, each caller with its own copy', async () => {
    const { openai } = await setup();
    const first = await openai.chat.completions.create({ model: MODEL, messages, temperature: 0 });
    first.choices[0]!.message.content = 'changed by the first caller';
    const status: CallStatus = {};
    const second = await openai.chat.completions.create({ model: MODEL, messages, temperature: 0, optimization: { status } });
    expect(sent('/v1/chat/completions')).toHaveLength(1);
    expect(status.outcome).toBe('hit');
    expect(second.choices[0]?.message.content).toBe(await createMockModel().exec(messages, MODEL));
    expect(second.choices[0]?.finish_reason).toBe('stop');
  });

  it('sends a changed output-affecting field, and keeps fields Ollama ignores and request options out of the key', async () => {
    const { openai } = await setup();
    await openai.chat.completions.create({ model: MODEL, messages, temperature: 0 });
    await openai.chat.completions.create({ model: MODEL, messages, temperature: 0.5 });
    await openai.chat.completions.create({ model: MODEL, messages, temperature: 0, seed: 3 });
    await openai.chat.completions.create({ model: MODEL, messages, temperature: 0, stop: 'x' });
    expect(sent('/v1/chat/completions')).toHaveLength(4);
    // Ignored by Ollama's /v1, volatile, or not part of the body: all hits.
    await openai.chat.completions.create({
      model: MODEL, messages, temperature: 0, user: 'alice', n: 1, logit_bias: { 42: 1 }, tool_choice: 'none', max_completion_tokens: 10,
      ...({ options: { num_ctx: 8192 } } as object),
    }, { headers: { 'x-request-id': 'r-1' }, timeout: 5000, signal: new AbortController().signal });
    await openai.chat.completions.create({ model: MODEL, messages, temperature: 0, stop: ['x'] });
    expect(sent('/v1/chat/completions')).toHaveLength(4);
    // The message order and content are the prompt: a different message is a new request.
    await openai.chat.completions.create({ model: MODEL, messages: [...messages, { role: 'user', content: 'And at sunset?' }], temperature: 0 });
    expect(sent('/v1/chat/completions')).toHaveLength(5);
  });

  it("keys every field but the volatile ones with keyFields 'all' (another OpenAI-compatible server)", async () => {
    const { openai } = await setup({}, { keyFields: 'all' });
    await openai.chat.completions.create({ model: MODEL, messages, n: 1 });
    await openai.chat.completions.create({ model: MODEL, messages, n: 2 });
    await openai.chat.completions.create({ model: MODEL, messages, n: 2, user: 'bob', metadata: { run: '1' } });
    expect(sent('/v1/chat/completions')).toHaveLength(2);
  });

  it('never stores a truncated answer (finish_reason length), streamed or not', async () => {
    const { openai } = await setup({ countTokens: () => 1 });
    const cut = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 2 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 2 });
    expect(sent('/v1/chat/completions')).toHaveLength(2);
    await text(await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 2, stream: true }));
    await text(await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 2, stream: true }));
    expect(sent('/v1/chat/completions')).toHaveLength(4);
    const whole = await openai.completions.create({ model: MODEL, prompt: 'x', max_tokens: 3 });
    expect(whole.choices[0]?.finish_reason).toBe('length');
    await openai.completions.create({ model: MODEL, prompt: 'x', max_tokens: 3 });
    expect(sent('/v1/completions')).toHaveLength(2);
  });

  it('shares one upstream stream among N concurrent identical streams, all reading the same text, and replays it chunk by chunk', async () => {
    const { openai } = await setup({ latencyMs: 20, chunkDelayMs: 2 });
    const request = { model: MODEL, messages, temperature: 0, stream: true as const };
    const texts = await Promise.all(Array.from({ length: 8 }, async () => text(await openai.chat.completions.create(request))));
    expect(sent('/v1/chat/completions')).toHaveLength(1);
    expect(new Set(texts)).toEqual(new Set([await createMockModel().exec(messages, MODEL)]));
    const live = await collect(await openai.chat.completions.create({ ...request, seed: 1 }));
    const replayed = await collect(await openai.chat.completions.create({ ...request, seed: 1 }));
    expect(sent('/v1/chat/completions')).toHaveLength(2);
    expect(replayed).toEqual(live);
    expect(replayed.length).toBeGreaterThan(2);
  });

  it('keeps scopes apart: the same request in two scopes reaches the server twice', async () => {
    const { openai } = await setup();
    await openai.chat.completions.create({ model: MODEL, messages, optimization: { scope: 'tenant-a' } });
    await openai.chat.completions.create({ model: MODEL, messages, optimization: { scope: 'tenant-b' } });
    await openai.chat.completions.create({ model: MODEL, messages, optimization: { scope: 'tenant-a' } });
    expect(sent('/v1/chat/completions')).toHaveLength(2);
    expect(sent('/v1/chat/completions').every((body) => !Object.hasOwn(body as object, 'optimization'))).toBe(true);
  });

  it('shares one request among concurrent identical non-streamed calls', async () => {
    const { openai } = await setup({ latencyMs: 20 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => openai.completions.create({ model: MODEL, prompt: 'Once upon a time' })));
    expect(sent('/v1/completions')).toHaveLength(1);
    expect(new Set(answers.map((a) => a.choices[0]?.text)).size).toBe(1);
  });

  it('caches embeddings: the client\'s default (base64, decoded) and an explicit float format share one entry', async () => {
    const { openai } = await setup();
    const first = await openai.embeddings.create({ model: MODEL, input: ['a', 'b'] });
    const second = await openai.embeddings.create({ model: MODEL, input: ['a', 'b'], encoding_format: 'float', user: 'x' });
    expect(second).toEqual(first);
    await openai.embeddings.create({ model: MODEL, input: ['a', 'b'], dimensions: 2 });
    await openai.embeddings.create({ model: MODEL, input: 'a' });
    expect(sent('/v1/embeddings')).toHaveLength(3);
  });

  it('leaves every other method and property to the client', async () => {
    const { openai, client } = await setup();
    const list = async () => { for await (const _ of openai.models.list()) void _; };
    await list();
    await list();
    expect(sent('/v1/models')).toHaveLength(2);
    expect(openai.baseURL).toBe(client.baseURL);
    expect(openai.chat.completions.list).toBeTypeOf('function');
  });

  it('passes the server\'s errors through unchanged and caches nothing', async () => {
    const { openai } = await setup();
    const failed = openai.chat.completions.create({ model: 'missing', messages });
    await expect(failed).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.chat.completions.create({ model: 'missing', messages })).rejects.toMatchObject({ status: 404 });
    expect(sent('/v1/chat/completions')).toHaveLength(2);
  });

  it('rejects a stream the server refuses with the client\'s own error, and stores nothing', async () => {
    const { openai } = await setup();
    await expect(openai.chat.completions.create({ model: 'missing', messages, stream: true })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.chat.completions.create({ model: 'missing', messages, stream: true })).rejects.toMatchObject({ status: 404 });
    expect(sent('/v1/chat/completions')).toHaveLength(2);
  });

  it("ends only this caller's wait on its own signal; the shared request completes for the others", async () => {
    const { openai } = await setup({ latencyMs: 50 });
    const controller = new AbortController();
    const leaving = openai.chat.completions.create({ model: MODEL, messages }, { signal: controller.signal });
    const staying = openai.chat.completions.create({ model: MODEL, messages });
    controller.abort(new Error('caller left'));
    await expect(leaving).rejects.toThrow('caller left');
    expect((await staying).choices[0]?.finish_reason).toBe('stop');
    expect(sent('/v1/chat/completions')).toHaveLength(1);
  });

  it('ends only this consumer on stream.controller.abort(), like an openai Stream', async () => {
    const { openai } = await setup({ chunkDelayMs: 5 });
    const stream = await openai.chat.completions.create({ model: MODEL, messages, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    stream.controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a bad option naming it', async () => {
    const { client, engine } = await setup();
    expect(() => withOptimization(client, engine, { keyFields: 'some' as never })).toThrow(/`keyFields`/);
    expect(() => withOptimization(client, engine, { ttl: 5 } as never)).toThrow(/`options.ttl`/);
    expect(() => withOptimization({} as never, engine)).toThrow(/`client`/);
    await expect(withOptimization(client, engine).chat.completions.create({ model: MODEL, messages, optimization: { cache: 'nope' as never } }))
      .rejects.toThrow(/`cache`/);
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
