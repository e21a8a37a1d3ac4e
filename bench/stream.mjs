// Stream benchmarks: the cost the stream path adds per chunk, and what sharing saves against a
// loopback Ollama-compatible server. Run after `npm run build` (bench/run.mjs does it).
import { Ollama } from 'ollama';
import { OptimizationEngine } from '../dist/index.js';
import { withOptimization } from '../dist/ollama.js';
import { createMockModel, startOllamaTestServer } from '../dist/testing.js';

const MODEL = 'llama3.1:8b';
const CHUNKS = 200;
const chunk = (i) => ({ model: MODEL, response: ` word${i}`, done: i === CHUNKS - 1, done_reason: i === CHUNKS - 1 ? 'stop' : undefined });

async function* source() {
  for (let i = 0; i < CHUNKS; i++) yield chunk(i);
}

async function drain(iterable) {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];

async function timed(fn, rounds = 9) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    await fn(r);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(out);
}

/** ns per chunk: reading a generator directly, through a miss, and replaying a hit; fan-out to 50 consumers. */
export async function benchStreamPath() {
  const engine = new OptimizationEngine({ cache: { maxEntries: 100_000 } });
  const direct = await timed(() => drain(source()));
  const miss = await timed((r) => drain(engine.optimizeAiStream(`miss ${r}`, MODEL, source)));
  const hit = await timed(() => drain(engine.optimizeAiStream('miss 0', MODEL, source)));
  const fanOut = await timed((r) =>
    Promise.all(Array.from({ length: 50 }, () => drain(engine.optimizeAiStream(`fan ${r}`, MODEL, source)))));
  await engine.close();
  const perChunk = (ms, consumers = 1) => Math.round((ms * 1e6) / (CHUNKS * consumers));
  return {
    chunks: CHUNKS,
    direct_ns_per_chunk: perChunk(direct),
    miss_ns_per_chunk: perChunk(miss),
    hit_replay_ns_per_chunk: perChunk(hit),
    fan_out_50_ns_per_chunk_per_consumer: perChunk(fanOut, 50),
  };
}

/** 50 concurrent identical streamed generates against the loopback server: plain client vs adapter. */
export async function benchSharedStreams() {
  const mock = createMockModel({ respond: () => 'lorem ipsum '.repeat(100).trim() });
  const server = await startOllamaTestServer({ backend: mock.backend });
  const client = new Ollama({ host: server.url });
  // Each stream is read as soon as it opens: an `ollama` stream left unread can be cut short when V8
  // collects the fetch Response the client dropped (undici then cancels the unlocked body).
  const run = (ollama, prompt) =>
    Promise.all(Array.from({ length: 50 }, async () => drain(await ollama.generate({ model: MODEL, prompt, stream: true }))));
  const plainRequests = server.requests.length;
  const plain = await timed((r) => run(client, `plain ${r}`), 5);
  const afterPlain = server.requests.length;
  const engine = new OptimizationEngine();
  const optimized = withOptimization(client, engine);
  const shared = await timed((r) => run(optimized, `shared ${r}`), 5);
  const afterShared = server.requests.length;
  await engine.close();
  await server.close();
  return {
    plain_ms: Math.round(plain * 10) / 10,
    plain_upstream_requests_per_round: (afterPlain - plainRequests) / 5,
    adapter_ms: Math.round(shared * 10) / 10,
    adapter_upstream_requests_per_round: (afterShared - afterPlain) / 5,
  };
}
