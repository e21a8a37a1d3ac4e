import { generateText, streamText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { optimizationMiddleware } from '../../src/ai-sdk.js';
import { createRedisStore } from '../../src/redis.js';
import { connect, eventually, uniquePrefix, type NodeRedis } from '../stores/redis-helpers.js';

const usage = { inputTokens: { total: 5, noCache: 5, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 3, text: 3, reasoning: undefined } };
const finishReason = { unified: 'stop' as const, raw: 'stop' };

describe('AI SDK middleware with a Redis store (two replicas of one service)', () => {
  const clients: NodeRedis[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers the second replica from Redis, generate and stream, frozen like an answer stored in memory', async () => {
    const calls = { generate: 0, stream: 0 };
    const mock = new MockLanguageModelV4({
      doGenerate: async () => (calls.generate++, {
        content: [{ type: 'text' as const, text: 'Fits well.' }], finishReason, usage, warnings: [],
        response: { id: 'r1', timestamp: new Date(1_700_000_000_000), modelId: 'mock' },
      }),
      doStream: async () => (calls.stream++, {
        stream: convertArrayToReadableStream([
          { type: 'stream-start' as const, warnings: [] },
          { type: 'response-metadata' as const, id: 'r1', timestamp: new Date(1_700_000_000_000), modelId: 'mock' },
          { type: 'text-start' as const, id: '0' }, { type: 'text-delta' as const, id: '0', delta: 'Fits ' },
          { type: 'text-delta' as const, id: '0', delta: 'well.' }, { type: 'text-end' as const, id: '0' },
          { type: 'finish' as const, finishReason, usage },
        ]),
      }),
    });
    const prefix = uniquePrefix('ai-sdk-replicas');
    const replicas = await Promise.all([0, 1].map(async () => {
      const client = await connect();
      clients.push(client);
      const engine = new OptimizationEngine({ store: createRedisStore({ client, prefix }) });
      return { engine, model: wrapLanguageModel({ model: mock, middleware: optimizationMiddleware({ engine }) }) };
    }));
    const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
    await generateText({ model: a.model, prompt: 'Score c1 for r1' });
    await streamText({ model: a.model, prompt: 'Score c1 for r1' }).text;
    // The shared store is written fire-and-forget: wait until both entries have landed.
    expect(await eventually(async () => (await clients[0]!.keys(`${prefix}*`)).length >= 2)).toBe(true);
    const second = await generateText({ model: b.model, prompt: 'Score c1 for r1' });
    const third = await generateText({ model: b.model, prompt: 'Score c1 for r1' });
    const streamed = streamText({ model: b.model, prompt: 'Score c1 for r1' });
    expect(await streamed.text).toBe('Fits well.');
    expect(calls).toEqual({ generate: 1, stream: 1 });
    expect(second.text).toBe('Fits well.');
    expect(second.providerMetadata?.['llmOptimizationEngine']).toMatchObject({ outcome: 'hit', source: 'store' });
    expect(third.providerMetadata?.['llmOptimizationEngine']).toMatchObject({ outcome: 'hit', source: 'memory' });
    expect(second.response.timestamp).toEqual(new Date(1_700_000_000_000));
    expect(second.usage.inputTokens).toBe(0);
    await Promise.all(replicas.map((r) => r.engine.close()));
  });
});
