import { ChatOllama } from '@langchain/ollama';
import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { EngineCache, withOptimization } from '../../src/langchain.js';
import { createRedisStore } from '../../src/redis.js';
import { createMockModel, startOllamaTestServer } from '../../src/testing.js';
import { connect, uniquePrefix, type NodeRedis } from '../stores/redis-helpers.js';

describe('LangChain adapter with a Redis store (two replicas of one service)', () => {
  const clients: NodeRedis[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers the second replica from Redis, through the wrapper (calls and streams) and through EngineCache', async () => {
    const server = await startOllamaTestServer({ backend: createMockModel().backend });
    const prefix = uniquePrefix('langchain-replicas');
    const replicas = await Promise.all([0, 1].map(async () => {
      const client = await connect();
      clients.push(client);
      return new OptimizationEngine({ store: createRedisStore({ client, prefix }) });
    }));
    const [a, b] = replicas as [OptimizationEngine, OptimizationEngine];
    const chat = (fields: ConstructorParameters<typeof ChatOllama>[0] = {}) => new ChatOllama({ model: 'llama3.1:8b', baseUrl: server.url, temperature: 0, ...fields });
    const sent = () => server.requests.filter((r) => r.path === '/api/chat').length;
    const readStream = async (engine: OptimizationEngine) => {
      let text = '';
      for await (const chunk of await withOptimization(chat(), engine).stream('Tell me a story.')) text += chunk.text;
      return text;
    };
    // Store writes are fire-and-forget: give each one time to land before the other replica reads.
    const landed = () => new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const first = await withOptimization(chat(), a).invoke('Score candidate c1 for role r1');
      await landed();
      const second = await withOptimization(chat(), b).invoke('Score candidate c1 for role r1');
      expect(second.content).toBe(first.content);
      expect(second.response_metadata['optimization']).toEqual({ outcome: 'hit' });
      const streamed = await readStream(a);
      await landed();
      expect(await readStream(b)).toBe(streamed);
      await chat({ cache: new EngineCache(a) }).invoke('Name a colour.');
      await landed();
      await chat({ cache: new EngineCache(b) }).invoke('Name a colour.');
      expect(sent()).toBe(3);
    } finally {
      await Promise.all(replicas.map((engine) => engine.close()));
      await server.close();
    }
  });
});
