// End to end: AI SDK 7 + `ai-sdk-ollama` (which uses the real `ollama` client) against the loopback
// Ollama test server, the middleware in between.
import { embed, embedMany, generateText, streamText, wrapEmbeddingModel, wrapLanguageModel } from 'ai';
import { createOllama } from 'ai-sdk-ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { embeddingOptimizationMiddleware, optimizationMiddleware } from '../../src/ai-sdk.js';
import { sent, startTarget, type OllamaTarget } from './ollama-target.js';

let target: OllamaTarget | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await target?.close();
  target = undefined;
  engine = undefined;
});

async function setup(options: { chunkDelayMs?: number; latencyMs?: number } = {}) {
  target = await startTarget(undefined, { mock: { models: ['llama3.1:8b', 'nomic-embed-text'], ...options } });
  engine = new OptimizationEngine();
  const ollama = createOllama({ baseURL: target.url });
  const model = wrapLanguageModel({ model: ollama(target.model), middleware: optimizationMiddleware({ engine }) });
  const embedder = wrapEmbeddingModel({ model: ollama.embedding('nomic-embed-text'), middleware: embeddingOptimizationMiddleware({ engine }) });
  const t = target;
  return { target: t, engine, model, embedder, chats: () => sent(t, '/api/chat') };
}

const PROMPT = 'Reply with one word: is the sky blue?';
const meta = (m: Record<string, unknown> | undefined) => m?.['llmOptimizationEngine'] as Record<string, unknown> | undefined;

describe('optimizationMiddleware end to end (ai-sdk-ollama against the loopback Ollama server)', () => {
  it('sends identical calls to the server once', async () => {
    const { model, chats } = await setup();
    const first = await generateText({ model, prompt: PROMPT, temperature: 0, seed: 7 });
    const second = await generateText({ model, prompt: PROMPT, temperature: 0, seed: 7 });
    expect(chats()).toHaveLength(1);
    expect(second.text).toBe(first.text);
    expect(first.text.length).toBeGreaterThan(0);
    expect(meta(second.providerMetadata)).toMatchObject({ outcome: 'hit', hit: true });
  });

  it('sends a call with a changed output-affecting field, and not one with a changed volatile field', async () => {
    const { model, chats } = await setup();
    await generateText({ model, prompt: PROMPT, temperature: 0, headers: { 'x-request-id': '1' } });
    await generateText({ model, prompt: PROMPT, temperature: 0, headers: { 'x-request-id': '2' }, abortSignal: AbortSignal.timeout(30_000) });
    expect(chats()).toHaveLength(1);
    await generateText({ model, prompt: PROMPT, temperature: 0.9 });
    await generateText({ model, prompt: PROMPT, temperature: 0, topK: 3 });
    expect(chats()).toHaveLength(3);
    expect(chats().at(-1)?.body).toMatchObject({ options: { top_k: 3 } });
  });

  it('never stores a truncated answer (maxOutputTokens reached: done_reason length)', async () => {
    const { model, chats } = await setup();
    const first = await generateText({ model, prompt: 'Tell me a very long story about the sea.', maxOutputTokens: 2 });
    expect(first.finishReason).toBe('length');
    await generateText({ model, prompt: 'Tell me a very long story about the sea.', maxOutputTokens: 2 });
    expect(chats()).toHaveLength(2);
  });

  it('N concurrent identical streams make one request and read the same text', async () => {
    const { model, chats } = await setup({ chunkDelayMs: 2 });
    const streams = Array.from({ length: 8 }, () => streamText({ model, prompt: PROMPT, temperature: 0 }));
    const texts = await Promise.all(streams.map((s) => s.text));
    expect(chats()).toHaveLength(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]!.length).toBeGreaterThan(0);
    // And a later identical stream is replayed from the cache, chunk by chunk.
    const replay = streamText({ model, prompt: PROMPT, temperature: 0 });
    const deltas: string[] = [];
    for await (const delta of replay.textStream) deltas.push(delta);
    expect(deltas.join('')).toBe(texts[0]);
    expect(deltas.length).toBeGreaterThan(1);
    expect(chats()).toHaveLength(1);
    expect(meta(await replay.providerMetadata)).toMatchObject({ outcome: 'hit' });
  });

  it('keeps scopes apart', async () => {
    const { model, chats } = await setup();
    const scoped = (scope: string) => ({ llmOptimizationEngine: { scope } });
    await generateText({ model, prompt: PROMPT, providerOptions: scoped('tenant-a') });
    await generateText({ model, prompt: PROMPT, providerOptions: scoped('tenant-b') });
    await generateText({ model, prompt: PROMPT, providerOptions: scoped('tenant-a') });
    expect(chats()).toHaveLength(2);
    await streamText({ model, prompt: PROMPT, providerOptions: scoped('tenant-a') }).text;
    await streamText({ model, prompt: PROMPT, providerOptions: scoped('tenant-b') }).text;
    expect(chats()).toHaveLength(4);
  });

  it('embeds each value once: an embedMany of seen and new values sends only the new one', async () => {
    const { embedder, target: t } = await setup();
    const embeds = () => sent(t, '/api/embed');
    const [a, b] = await Promise.all([embed({ model: embedder, value: 'alpha' }), embed({ model: embedder, value: 'beta' })]);
    // ai-sdk-ollama sends one /api/embed request per value, even for a batch: two values, two requests.
    expect(embeds().map((r) => (r.body as { input: unknown }).input).sort()).toEqual(['alpha', 'beta']);
    const many = await embedMany({ model: embedder, values: ['alpha', 'beta', 'gamma'] });
    expect(embeds()).toHaveLength(3);
    expect(embeds()[2]?.body).toMatchObject({ input: 'gamma' });
    expect(many.embeddings[0]).toEqual(a.embedding);
    expect(many.embeddings[1]).toEqual(b.embedding);
    expect(meta(many.providerMetadata)).toEqual({ hits: 2, coalesced: 0, misses: 1 });
  });
});
