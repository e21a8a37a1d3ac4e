// End to end: `@langchain/ollama`'s ChatOllama (the real `ollama` client inside) against the loopback
// Ollama test server, through the engine, both ways a LangChain user would set it up.
import { HumanMessage } from '@langchain/core/messages';
import { ChatOllama } from '@langchain/ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { EngineCache, withOptimization } from '../../src/langchain.js';
import { createMockModel, startOllamaTestServer, type OllamaTestServer } from '../../src/testing.js';

let server: OllamaTestServer | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await server?.close();
  server = undefined;
  engine = undefined;
});

async function setup(mock: Parameters<typeof createMockModel>[0] = {}) {
  server = await startOllamaTestServer({ backend: createMockModel(mock).backend });
  engine = new OptimizationEngine();
  const url = server.url;
  const chat = (fields: ConstructorParameters<typeof ChatOllama>[0] = {}) => new ChatOllama({ model: 'llama3.1:8b', baseUrl: url, temperature: 0, ...fields });
  const sent = () => (server?.requests ?? []).filter((r) => r.path === '/api/chat').length;
  return { engine, chat, sent, server };
}

async function text(stream: AsyncIterable<{ content: unknown }>): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += typeof chunk.content === 'string' ? chunk.content : '';
  return out;
}

describe('withOptimization(new ChatOllama(…), engine) against the loopback server', () => {
  it('sends identical calls to the server once', async () => {
    const { engine, chat, sent } = await setup();
    const model = withOptimization(chat(), engine);
    const first = await model.invoke('Why is the sky blue?');
    const second = await model.invoke('Why is the sky blue?');
    expect(sent()).toBe(1);
    expect(second.content).toBe(first.content);
    expect(first.content).not.toBe('');
    expect(second.response_metadata['optimization']).toEqual({ outcome: 'hit' });
    expect(second.response_metadata['done_reason']).toBe('stop');
  });

  it('sends a call again when an output-affecting field changes, never for a volatile one', async () => {
    const { engine, chat, sent } = await setup();
    const ask = (fields: ConstructorParameters<typeof ChatOllama>[0], options?: Parameters<ChatOllama['invoke']>[1]) =>
      withOptimization(chat(fields), engine).invoke([new HumanMessage('Name a colour.')], options);
    await ask({});
    await ask({ temperature: 0.7 });
    await ask({ seed: 3 });
    await ask({ model: 'llama3.1:8b', numCtx: 4096 });
    await ask({}, { stop: ['.'] });
    expect(sent()).toBe(5);
    await ask({ keepAlive: '10m' });
    await ask({ numThread: 2 });
    await ask({}, { signal: new AbortController().signal, tags: ['t'], metadata: { requestId: 'r-1' }, runName: 'name', runId: crypto.randomUUID() });
    expect(sent()).toBe(5);
  });

  it('never stores a truncated answer (numPredict reached: done_reason length)', async () => {
    const { engine, chat, sent } = await setup();
    const model = withOptimization(chat({ numPredict: 2 }), engine);
    const first = await model.invoke('Tell me a long story.');
    expect(first.response_metadata['done_reason']).toBe('length');
    await model.invoke('Tell me a long story.');
    const streamed = await text(await model.stream('Tell me a long story.'));
    await text(await model.stream('Tell me a long story.'));
    expect(streamed).not.toBe('');
    expect(sent()).toBe(4);
    expect(engine.cache.size).toBe(0);
  });

  it('sends N concurrent identical streams as one request, every consumer reading the same text; a repeat replays it', async () => {
    const { engine, chat, sent } = await setup({ chunkDelayMs: 5 });
    const model = withOptimization(chat(), engine);
    const texts = await Promise.all(Array.from({ length: 6 }, async () => text(await model.stream('Tell me a story.'))));
    expect(sent()).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]?.length).toBeGreaterThan(0);
    const chunks: string[] = [];
    for await (const chunk of await model.stream('Tell me a story.')) chunks.push(chunk.content as string);
    expect(sent()).toBe(1);
    expect(chunks.join('')).toBe(texts[0]);
    expect(chunks.length).toBeGreaterThan(2);
  });

  it('sends bound tools to the server the way ChatOllama does, and keys on them', async () => {
    const { engine, chat, sent, server } = await setup();
    const model = withOptimization(chat(), engine);
    const tool = (name: string) => ({ type: 'function' as const, function: { name, description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } });
    await model.bindTools([tool('weather')]).invoke('Weather in Oslo?');
    await model.bindTools([tool('weather')]).invoke('Weather in Oslo?');
    await model.bindTools([tool('forecast')]).invoke('Weather in Oslo?');
    expect(sent()).toBe(2);
    const bodies = server.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as { tools?: { function: { name: string } }[] });
    expect(bodies.map((b) => b.tools?.[0]?.function.name)).toEqual(['weather', 'forecast']);
  });

  it('keeps scopes apart', async () => {
    const { engine, chat, sent } = await setup();
    const a = withOptimization(chat(), engine, { scope: 'tenant-a' });
    const b = withOptimization(chat(), engine, { scope: 'tenant-b' });
    await a.invoke('hi');
    await b.invoke('hi');
    await a.invoke('hi');
    await b.invoke('hi', { optimization: { scope: 'tenant-a' } });
    expect(sent()).toBe(2);
  });
});

describe('new ChatOllama({ cache: new EngineCache(engine) }) against the loopback server', () => {
  it('sends identical calls to the server once, a changed call option again, a signal or tag never', async () => {
    const { engine, chat, sent } = await setup();
    const model = chat({ cache: new EngineCache(engine) });
    const first = await model.invoke('Why is the sky blue?');
    const second = await model.invoke('Why is the sky blue?', { signal: new AbortController().signal, tags: ['x'] });
    expect(second.content).toBe(first.content);
    expect(sent()).toBe(1);
    await model.invoke('Why is the sky blue?', { stop: ['.'] });
    expect(sent()).toBe(2);
  });

  it('never stores a truncated answer', async () => {
    const { engine, chat, sent } = await setup();
    const model = chat({ numPredict: 2, cache: new EngineCache(engine) });
    await model.invoke('Tell me a long story.');
    await model.invoke('Tell me a long story.');
    expect(sent()).toBe(2);
  });

  it('keeps scopes apart', async () => {
    const { engine, chat, sent } = await setup();
    await chat({ cache: new EngineCache(engine, { scope: 'a' }) }).invoke('hi');
    await chat({ cache: new EngineCache(engine, { scope: 'b' }) }).invoke('hi');
    await chat({ cache: new EngineCache(engine, { scope: 'a' }) }).invoke('hi');
    expect(sent()).toBe(2);
  });

  it('sees only what LangChain gives a cache: ChatOllama’s llmKey omits its own settings, so the `model` option (or the wrapper) tells models apart', async () => {
    const { engine, chat, sent } = await setup();
    const shared = new EngineCache(engine);
    await chat({ temperature: 0, cache: shared }).invoke('hi');
    await chat({ temperature: 0.9, cache: shared }).invoke('hi');
    expect(sent()).toBe(1);
    await chat({ temperature: 0.9, cache: new EngineCache(engine, { model: 'llama3.1:8b@0.9' }) }).invoke('hi');
    expect(sent()).toBe(2);
  });
});
