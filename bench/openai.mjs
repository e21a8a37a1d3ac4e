// The OpenAI adapter: its hit path against the `optimizeAiCall` hit (the 2× goal of issue 11) and
// against the bare `openai` client, and its miss overhead, all with the real client against the
// loopback /v1 server. Run after `npm run build` (bench/run.mjs does it).
import OpenAI from 'openai';
import { OptimizationEngine } from '../dist/index.js';
import { withOptimization } from '../dist/openai.js';
import { createMockModel, startOllamaTestServer } from '../dist/testing.js';
import { benchAdapterHits } from './adapters-hit.mjs';
import { race, templates, timeFresh } from './core.mjs';

const MODEL = 'llama3.1:8b';
const TEXT = 'The sky looks blue because air scatters short wavelengths of sunlight more than long ones. '.repeat(12).slice(0, 1024);

async function loopback() {
  const server = await startOllamaTestServer({ backend: createMockModel({ respond: () => TEXT }) });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ollama', maxRetries: 0 });
  return { server, client };
}

const chat = (prompt) => ({ model: MODEL, messages: [{ role: 'user', content: prompt }], temperature: 0 });

async function drain(stream) {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Hits of the OpenAI adapter in the same race as the core hit and the Ollama adapter's, plus one bare client call per round. */
export async function benchOpenAiHits() {
  const { server, client } = await loopback();
  const hits = await benchAdapterHits({
    openai_chat: async (engine) => {
      const openai = withOptimization(client, engine);
      return { warm: (p) => openai.chat.completions.create(chat(p)), hit: (p) => openai.chat.completions.create(chat(p)) };
    },
    openai_completion: async (engine) => {
      const openai = withOptimization(client, engine);
      const body = (p) => ({ model: MODEL, prompt: p, temperature: 0 });
      return { warm: (p) => openai.completions.create(body(p)), hit: (p) => openai.completions.create(body(p)) };
    },
  });
  // The same hit against what it saves: the bare client's request to a server that answers at once.
  const texts = templates(200);
  const engine = new OptimizationEngine({ cache: { maxEntries: 10_000 } });
  const openai = withOptimization(client, engine);
  for (const t of texts) await openai.chat.completions.create(chat(t));
  for (const t of texts) await drain(await openai.chat.completions.create({ ...chat(t), stream: true }));
  const medians = await race({
    hit: () => timeFresh(texts, 2000, (p) => openai.chat.completions.create(chat(p)), true),
    bare: () => timeFresh(texts, 200, (p) => client.chat.completions.create(chat(p)), true),
    stream_hit: () => timeFresh(texts, 500, async (p) => drain(await openai.chat.completions.create({ ...chat(p), stream: true })), true),
    bare_stream: () => timeFresh(texts, 100, async (p) => drain(await client.chat.completions.create({ ...chat(p), stream: true })), true),
  }, 5, 1);
  await engine.close();
  await server.close();
  return {
    ...Object.fromEntries(Object.entries(hits).filter(([k]) => /^(prompt_chars|core_string_ns|openai_|goal_)/.test(k))),
    chat_hit_ns: Math.round(medians.hit),
    bare_client_chat_ns: Math.round(medians.bare),
    chat_hit_ratio_vs_bare_client: Math.round((medians.hit / medians.bare) * 1000) / 1000,
    stream_hit_ns: Math.round(medians.stream_hit),
    bare_client_stream_ns: Math.round(medians.bare_stream),
    stream_hit_ratio_vs_bare_client: Math.round((medians.stream_hit / medians.bare_stream) * 1000) / 1000,
  };
}

/**
 * What a miss adds to the bare client's call: fresh prompts, a server that answers at once. The
 * loopback round trip varies by milliseconds on a shared machine, so the two are interleaved call by
 * call (engine, bare, engine, …) and the difference is taken over the medians of many pairs. CPU
 * time (`process.cpuUsage`, the in-process server's included on both sides) is reported too: on a
 * loaded machine wall time stretches every CPU microsecond by the run queue's length.
 */
export async function benchOpenAiMiss(pairs = 300) {
  const { server, client } = await loopback();
  const engine = new OptimizationEngine({ cache: { maxEntries: 100_000 } });
  const openai = withOptimization(client, engine);
  let n = 0;
  const prompt = () => `miss ${n++} ${'context '.repeat(20)}`;
  const cpu = Object.fromEntries(['engine', 'bare', 'engine_stream', 'bare_stream'].map((k) => [k, []]));
  const time = async (fn, name) => {
    const start = process.hrtime.bigint();
    const used = process.cpuUsage();
    await fn(prompt());
    const { user, system } = process.cpuUsage(used);
    if (name !== undefined) cpu[name].push((user + system) * 1000);
    return Number(process.hrtime.bigint() - start);
  };
  const calls = {
    engine: (p) => openai.chat.completions.create(chat(p)),
    bare: (p) => client.chat.completions.create(chat(p)),
    engine_stream: async (p) => drain(await openai.chat.completions.create({ ...chat(p), stream: true })),
    bare_stream: async (p) => drain(await client.chat.completions.create({ ...chat(p), stream: true })),
  };
  for (const fn of Object.values(calls)) for (let i = 0; i < 20; i++) await time(fn);
  const samples = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  // Whole calls and streams in separate loops, each pair in alternating order: a call's latency
  // depends on what the connection did just before, which must not favour either side.
  for (const [a, b] of [['engine', 'bare'], ['engine_stream', 'bare_stream']]) {
    for (let i = 0; i < pairs; i++) {
      for (const name of i % 2 === 0 ? [a, b] : [b, a]) samples[name].push(await time(calls[name], name));
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const c = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
  const misses = engine.getCacheStats().cache.model_calls;
  await engine.close();
  await server.close();
  return {
    pairs,
    engine_miss_ns: Math.round(m.engine),
    bare_client_ns: Math.round(m.bare),
    overhead_us: Math.round((m.engine - m.bare) / 100) / 10,
    ratio_vs_bare_client: Math.round((m.engine / m.bare) * 100) / 100,
    engine_stream_miss_ns: Math.round(m.engine_stream),
    bare_client_stream_ns: Math.round(m.bare_stream),
    stream_overhead_us: Math.round((m.engine_stream - m.bare_stream) / 100) / 10,
    stream_ratio_vs_bare_client: Math.round((m.engine_stream / m.bare_stream) * 100) / 100,
    cpu_engine_miss_us: Math.round(c.engine / 1000),
    cpu_bare_client_us: Math.round(c.bare / 1000),
    cpu_overhead_us: Math.round((c.engine - c.bare) / 1000),
    cpu_stream_overhead_us: Math.round((c.engine_stream - c.bare_stream) / 1000),
    model_calls: misses,
  };
}
