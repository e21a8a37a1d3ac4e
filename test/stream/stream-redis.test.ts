import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus, type StreamExecFunction } from '../../src/index.js';
import { createRedisStore } from '../../src/redis.js';
import { connect, eventually, REDIS_URL, storeReady, uniquePrefix, type NodeRedis } from '../stores/redis-helpers.js';
import { collect } from './fake-source.js';

interface Chunk {
  text: string;
  done: boolean;
}

const MODEL = 'llama3.1:8b';
const STORY: Chunk[] = [{ text: 'Once', done: false }, { text: ' upon a time', done: true }];

let redis: NodeRedis | undefined;

afterAll(() => {
  redis?.destroy();
});

describe('streams shared over Redis', () => {
  it('a complete stream written by one engine is replayed by another from Redis, without running execStream', async () => {
    // Unreachable Redis fails this test (connect throws naming the URL); it never skips it.
    const client = (redis = await connect());
    const prefix = uniquePrefix('stream');
    const stores = [createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 }), createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 })];
    await Promise.all(stores.map(storeReady));
    const [a, b] = stores.map((store) => new OptimizationEngine({ store, retry: false })) as [OptimizationEngine, OptimizationEngine];
    let runs = 0;
    const exec: StreamExecFunction<Chunk> = async function* () {
      runs++;
      await Promise.resolve();
      yield* STORY;
    };
    const options = { params: { temperature: 0 }, isComplete: (chunks: readonly Chunk[]) => chunks.at(-1)?.done === true };
    try {
      expect(await collect(a.optimizeAiStream('tell me a story', MODEL, exec, options))).toEqual(STORY);
      // The write is fire-and-forget: wait until the key is in Redis under this prefix.
      expect(await eventually(async () => (await client.keys(`${prefix}::v1:*`)).length === 1)).toBe(true);

      const status: CallStatus = {};
      const replayed = b.optimizeAiStream('tell me a story', MODEL, exec, { ...options, status });
      expect(await collect(replayed)).toEqual(STORY);
      expect(runs).toBe(1);
      expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
      expect(b.cache.size).toBe(1);
      // The non-streamed request has its own entry: the stream's chunk list does not answer it.
      expect(await b.optimizeAiCall('tell me a story', MODEL, () => 'whole', { params: { temperature: 0 } })).toBe('whole');
    } finally {
      await stores[0]?.clear();
      await Promise.all([a.close(), b.close()]);
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
