import { Ollama } from 'ollama';
import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { withOptimization } from '../../src/ollama.js';
import { createRedisStore } from '../../src/redis.js';
import { createMockModel, startOllamaTestServer } from '../../src/testing.js';
import { connect, uniquePrefix, type NodeRedis } from '../stores/redis-helpers.js';

describe('Ollama adapter with a Redis store (two replicas of one service)', () => {
  const clients: NodeRedis[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers the second replica from Redis: the model server sees each request once', async () => {
    const server = await startOllamaTestServer({ backend: createMockModel().backend });
    const prefix = uniquePrefix('ollama-replicas');
    const replicas = await Promise.all([0, 1].map(async () => {
      const client = await connect();
      clients.push(client);
      const engine = new OptimizationEngine({ store: createRedisStore({ client, prefix }) });
      return { engine, ollama: withOptimization(new Ollama({ host: server.url }), engine) };
    }));
    const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
    const request = { model: 'llama3.1:8b', prompt: 'Score candidate c1 for role r1', options: { temperature: 0 } };
    const first = await a.ollama.generate(request);
    const status: CallStatus = {};
    const second = await b.ollama.generate({ ...request, optimization: { status } });
    expect(second.response).toBe(first.response);
    expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
    expect(server.requests.filter((r) => r.path === '/api/generate')).toHaveLength(1);
    await Promise.all(replicas.map((r) => r.engine.close()));
    await server.close();
  });
});
