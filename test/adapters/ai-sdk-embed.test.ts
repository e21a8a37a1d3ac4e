import { embed, embedMany, wrapEmbeddingModel } from 'ai';
import { MockEmbeddingModelV4 } from 'ai/test';
import * as ai6 from 'ai-v6';
import { MockEmbeddingModelV3 } from 'ai-v6/test';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { embeddingOptimizationMiddleware } from '../../src/ai-sdk.js';

let engine: OptimizationEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const vectorOf = (value: string) => [value.length, value.charCodeAt(0)];

function setup(options: { embedBatchWindowMs?: number; maxEmbedBatch?: number } = {}) {
  engine = new OptimizationEngine();
  const batches: string[][] = [];
  const mock = new MockEmbeddingModelV4({
    maxEmbeddingsPerCall: 100,
    doEmbed: async ({ values }) => {
      batches.push([...values]);
      return { embeddings: values.map(vectorOf), usage: { tokens: values.length * 10 }, warnings: [] };
    },
  });
  const model = wrapEmbeddingModel({ model: mock, middleware: embeddingOptimizationMiddleware({ engine, ...options }) });
  return { model, batches };
}

const meta = (m: Record<string, unknown> | undefined) => m?.['llmOptimizationEngine'];

describe('embeddingOptimizationMiddleware (AI SDK 7, v4 mock model)', () => {
  it('caches every value on its own: a later embedMany sends only the new values', async () => {
    const { model, batches } = setup();
    const first = await embedMany({ model, values: ['a', 'bb'] });
    const second = await embedMany({ model, values: ['bb', 'ccc', 'a'] });
    expect(batches).toEqual([['a', 'bb'], ['ccc']]);
    expect(second.embeddings).toEqual([vectorOf('bb'), vectorOf('ccc'), vectorOf('a')]);
    expect(first.usage.tokens).toBe(20);
    // Honest usage: only the one value this call sent cost tokens.
    expect(second.usage.tokens).toBe(10);
    expect(meta(second.providerMetadata)).toEqual({ hits: 2, coalesced: 0, misses: 1 });
  });

  it('batches the new values of concurrent embed calls into one request', async () => {
    const { model, batches } = setup({ embedBatchWindowMs: 50 });
    const results = await Promise.all(['x', 'yy', 'zzz'].map((value) => embed({ model, value })));
    expect(batches).toEqual([['x', 'yy', 'zzz']]);
    expect(results.map((r) => r.embedding)).toEqual([vectorOf('x'), vectorOf('yy'), vectorOf('zzz')]);
  });

  it('sends a full batch at once, capped by maxEmbedBatch', async () => {
    const { model, batches } = setup({ maxEmbedBatch: 2 });
    await embedMany({ model, values: ['a', 'b', 'c'], maxParallelCalls: 1 });
    expect(batches.map((b) => b.length).sort()).toEqual([1, 2]);
  });

  it('shares one request among concurrent calls for the same value', async () => {
    const { model, batches } = setup();
    const results = await Promise.all([embed({ model, value: 'same' }), embed({ model, value: 'same' })]);
    expect(batches.flat()).toEqual(['same']);
    expect(results[1].embedding).toEqual(results[0].embedding);
  });

  it('keeps scopes apart', async () => {
    const { model, batches } = setup();
    const scoped = (scope: string) => ({ llmOptimizationEngine: { scope } });
    await embed({ model, value: 'v', providerOptions: scoped('a') });
    await embed({ model, value: 'v', providerOptions: scoped('b') });
    await embed({ model, value: 'v', providerOptions: scoped('a') });
    expect(batches.flat()).toEqual(['v', 'v']);
  });

  it('a caller that mutates its vector cannot change what the next caller gets', async () => {
    const { model } = setup();
    const first = await embed({ model, value: 'v' });
    first.embedding[0] = 999;
    const second = await embed({ model, value: 'v' });
    second.embedding.push(1);
    expect((await embed({ model, value: 'v' })).embedding).toEqual(vectorOf('v'));
  });

  it('rejects an unknown per-call setting, naming it', async () => {
    const { model } = setup();
    await expect(embed({ model, value: 'v', providerOptions: { llmOptimizationEngine: { replay: 'original' } } })).rejects.toThrow(/providerOptions\.llmOptimizationEngine\.replay/);
  });
});

describe('embeddingOptimizationMiddleware (AI SDK 6, v3 mock model)', () => {
  it('caches embed and embedMany', async () => {
    engine = new OptimizationEngine();
    let calls = 0;
    const mock = new MockEmbeddingModelV3({ doEmbed: async ({ values }) => (calls++, { embeddings: values.map(vectorOf), warnings: [] }) });
    const model = ai6.wrapEmbeddingModel({ model: mock, middleware: embeddingOptimizationMiddleware({ engine }) });
    await ai6.embed({ model, value: 'v' });
    const many = await ai6.embedMany({ model, values: ['v'] });
    expect(calls).toBe(1);
    expect(many.embeddings).toEqual([vectorOf('v')]);
  });
});
