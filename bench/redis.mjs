// Redis L2 benchmark on the BUILT package (run `npx tsup` first), against the Redis at REDIS_URL
// (default redis://127.0.0.1:6379):
//   - l2_hit_us: one optimizeAiCall served from Redis (its in-process entry is deleted before each
//     call, so every call reads Redis, parses and validates the envelope and promotes it);
//   - raw_get_us: one GET of the same key (the same bytes) with the same node-redis client;
//   - ratio: l2_hit_us / raw_get_us. Sequential awaits (latency, not throughput); blocks of both are
//     interleaved in the same run and the best block mean of each is kept.
// Standalone: `node bench/redis.mjs`. bench/run.mjs imports benchRedis().
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { OptimizationEngine } from '../dist/index.js';
import { createRedisStore } from '../dist/redis.js';

const BLOCK = 500;
const ROUNDS = 8;
const MODEL = 'llama3.1:8b';

function answer() {
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(45); // ~2 KB, a typical answer
  return { model: MODEL, message: { role: 'assistant', content: text }, done: true, done_reason: 'stop', eval_count: 420 };
}

async function blockUs(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < BLOCK; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1000 / BLOCK;
}

export async function benchRedis() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', () => undefined);
  await client.connect();
  const prefix = `llmoe-bench-${process.pid}-${Date.now()}`;
  const store = createRedisStore({ client, prefix, timeoutMs: 1000 });
  const engine = new OptimizationEngine({ store });
  const prompt = `Summarise the following support ticket in two sentences: ${'lorem ipsum dolor sit amet '.repeat(20)}`;
  const options = { params: { temperature: 0 } };
  try {
    const status = {};
    await engine.optimizeAiCall(prompt, MODEL, async () => answer(), { ...options, status });
    const redisKey = `${prefix}::${status.key}`;
    while ((await client.get(redisKey)) === null) await new Promise((r) => setTimeout(r, 5));
    let storeHits = 0;
    const l2Hit = async () => {
      engine.cache.delete(prompt, MODEL, options);
      const s = {};
      await engine.optimizeAiCall(prompt, MODEL, () => { throw new Error('the bench must never reach exec'); }, { ...options, status: s });
      if (s.source === 'store') storeHits++;
    };
    const rawGet = () => client.get(redisKey);
    await blockUs(l2Hit);
    await blockUs(rawGet);
    let bestHit = Infinity;
    let bestRaw = Infinity;
    storeHits = 0;
    for (let round = 0; round < ROUNDS; round++) {
      bestRaw = Math.min(bestRaw, await blockUs(rawGet));
      bestHit = Math.min(bestHit, await blockUs(l2Hit));
    }
    if (storeHits !== ROUNDS * BLOCK) throw new Error(`expected every measured call to be a store hit, got ${storeHits}`);
    const round2 = (x) => Math.round(x * 100) / 100;
    return { l2_hit_us: round2(bestHit), raw_get_us: round2(bestRaw), ratio: round2(bestHit / bestRaw) };
  } finally {
    await store.clear();
    await store.close();
    await engine.close();
    client.destroy();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchRedis(), null, 2));
}
