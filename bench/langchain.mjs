// LangChain adapter benchmarks (`llm-optimization-engine/langchain`), every figure a ratio against a
// baseline run in this process: the adapter's hit path against an `optimizeAiCall` hit (200-character
// prompts, a ~1 KB answer with Ollama's fields), and `invoke()` hits and misses against the same chat
// model with no cache and with LangChain's own `InMemoryCache`.
import { InMemoryCache } from '@langchain/core/caches';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { OptimizationEngine } from '../dist/index.js';
import { EngineCache, withOptimization } from '../dist/langchain.js';

const PROMPTS = 100;
const BATCH = 64;
const ANSWER = 'The sky looks blue because air scatters short wavelengths more than long ones. '.repeat(13).slice(0, 1024);

/** What an Ollama answer carries besides its text, as ChatOllama puts it in `response_metadata`. */
const OLLAMA_METADATA = {
  model: 'llama3.1:8b', created_at: '2026-12-04T18:00:00.000Z', done: true, done_reason: 'stop', total_duration: 1_532_000_000,
  load_duration: 21_000_000, prompt_eval_count: 52, prompt_eval_duration: 120_000_000, eval_count: 240, eval_duration: 1_390_000_000,
  model_provider: 'ollama',
};

/** A chat model that answers at once: the model's own time is left out, so only cache work is timed. */
class InstantChatModel extends BaseChatModel {
  calls = 0;
  _llmType() {
    return 'instant';
  }
  invocationParams() {
    return { model: 'llama3.1:8b', options: { temperature: 0, num_ctx: 8192, seed: 42 } };
  }
  async _generate() {
    this.calls++;
    const message = new AIMessage({
      content: ANSWER, response_metadata: { ...OLLAMA_METADATA }, usage_metadata: { input_tokens: 52, output_tokens: 240, total_tokens: 292 },
    });
    return { generations: [{ text: ANSWER, message }] };
  }
}

/** 200-character prompts, each different (a template plus per-request text). */
function prompts(length = 200, count = PROMPTS, tag = '') {
  return Array.from({ length: count }, (_, i) => {
    const head = `You are I PROACTIVE. Suggest one follow-up for user ${tag}${i}. Context: `;
    return (head + 'booked three meetings, two reminders, one overdue task, '.repeat(8)).slice(0, length);
  });
}

/** Fresh string objects (V8 caches a string's hash on the object), decoded from bytes just before timing. */
function fresh(texts) {
  const bytes = texts.map((t) => Buffer.from(t, 'latin1'));
  let next = 0;
  return () => Array.from({ length: BATCH }, () => bytes[next++ % bytes.length].toString('latin1'));
}

/** ns per call of `fn` over `count` inputs made by `make` in batches; only the calls are timed. */
async function timePerCall(make, count, fn) {
  let total = 0n;
  let done = 0;
  for (; done < count; done += BATCH) {
    const batch = make();
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) await fn(batch[i]);
    total += process.hrtime.bigint() - start;
  }
  return Number(total) / done;
}

/** Median per contender over interleaved rounds, after untimed warm-up rounds. */
async function race(contenders, rounds = 7, warmup = 2) {
  for (let r = 0; r < warmup; r++) for (const run of Object.values(contenders)) await run();
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [name, run] of Object.entries(contenders)) samples[name].push(await run());
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.sort((a, b) => a - b)[v.length >> 1]]));
}

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The adapter's hit path against `optimizeAiCall` hits, and `invoke()` hits against LangChain's own cache. */
export async function benchLangChainHits(count = 20_000) {
  const texts = prompts();
  const engine = new OptimizationEngine();
  const stored = [{ text: ANSWER, message: { type: 'ai', data: { content: ANSWER, response_metadata: OLLAMA_METADATA } } }];
  const params = { temperature: 0, num_ctx: 8192, seed: 42 };
  const cache = new EngineCache(engine);
  const llmKey = '_model:"base_chat_model",_type:"instant"';
  const inner = new InstantChatModel({});
  const wrapper = withOptimization(inner, engine);
  const withEngineCache = new InstantChatModel({ cache });
  const withInMemory = new InstantChatModel({ cache: new InMemoryCache() });
  const noCache = new InstantChatModel({});
  for (const t of texts) {
    await engine.optimizeAiCall(t, 'llama3.1:8b', () => ANSWER, { params });
    await engine.optimizeAiCall(t, 'llama3.1:8b', () => stored, { params: { ...params, shape: 'object' } });
    await wrapper.invoke(t);
    await withEngineCache.invoke(t);
    await withInMemory.invoke(t);
  }
  const callsBefore = inner.calls + withEngineCache.calls + withInMemory.calls;
  const make = fresh(texts);
  const messages = () => make().map((t) => [new HumanMessage(t)]);
  const buffered = () => make().map((t) => `Human: ${t}`);
  const options = {};
  const medians = await race({
    optimize_ai_call_string: () => timePerCall(make, count, (p) => engine.optimizeAiCall(p, 'llama3.1:8b', () => ANSWER, { params })),
    optimize_ai_call_object: () => timePerCall(make, count, (p) => engine.optimizeAiCall(p, 'llama3.1:8b', () => stored, { params: { ...params, shape: 'object' } })),
    engine_cache_lookup: () => timePerCall(buffered, count, (p) => cache.lookup(p, llmKey)),
    wrapper_generate: () => timePerCall(messages, count, (m) => wrapper._generate(m, options)),
    invoke_wrapper: () => timePerCall(make, count / 4, (p) => wrapper.invoke(p)),
    invoke_engine_cache: () => timePerCall(make, count / 4, (p) => withEngineCache.invoke(p)),
    invoke_in_memory_cache: () => timePerCall(make, count / 4, (p) => withInMemory.invoke(p)),
    invoke_no_cache: () => timePerCall(make, count / 4, (p) => noCache.invoke(p)),
  });
  if (inner.calls + withEngineCache.calls + withInMemory.calls !== callsBefore) throw new Error('a hit path reached the model');
  await engine.close();
  const base = medians.optimize_ai_call_string;
  return {
    prompt_chars: 200,
    answer_chars: ANSWER.length,
    optimize_ai_call_hit_ns: { string_value: round(medians.optimize_ai_call_string), stored_object_value: round(medians.optimize_ai_call_object) },
    adapter_hit_ns: { engine_cache_lookup: round(medians.engine_cache_lookup), wrapper_generate: round(medians.wrapper_generate) },
    adapter_hit_ratio_vs_optimize_ai_call: {
      engine_cache_lookup: round(medians.engine_cache_lookup / base, 2),
      wrapper_generate: round(medians.wrapper_generate / base, 2),
      goal: 2,
    },
    // The same answer as a plain object through optimizeAiCall (what caching Ollama's response object costs the engine today).
    adapter_hit_ratio_vs_optimize_ai_call_object_value: {
      engine_cache_lookup: round(medians.engine_cache_lookup / medians.optimize_ai_call_object, 2),
      wrapper_generate: round(medians.wrapper_generate / medians.optimize_ai_call_object, 2),
    },
    invoke_hit_ns: {
      wrapper: round(medians.invoke_wrapper), engine_cache: round(medians.invoke_engine_cache),
      in_memory_cache: round(medians.invoke_in_memory_cache), no_cache_instant_model: round(medians.invoke_no_cache),
    },
    invoke_hit_ratio_vs_in_memory_cache: {
      wrapper: round(medians.invoke_wrapper / medians.invoke_in_memory_cache, 2),
      engine_cache: round(medians.invoke_engine_cache / medians.invoke_in_memory_cache, 2),
    },
  };
}

/** What the cache adds to a call that misses: `invoke()` with a new prompt every time, the model answering at once. */
export async function benchLangChainMisses(count = 4_000) {
  const engine = new OptimizationEngine({ cache: { maxEntries: 1_000 } });
  const noCache = new InstantChatModel({});
  const withInMemory = new InstantChatModel({ cache: new InMemoryCache() });
  const withEngineCache = new InstantChatModel({ cache: new EngineCache(engine) });
  const wrapper = withOptimization(new InstantChatModel({}), engine);
  let n = 0;
  const make = () => prompts(200, BATCH, `m${n++}-`);
  const medians = await race({
    no_cache: () => timePerCall(make, count, (p) => noCache.invoke(p)),
    in_memory_cache: () => timePerCall(make, count, (p) => withInMemory.invoke(p)),
    engine_cache: () => timePerCall(make, count, (p) => withEngineCache.invoke(p)),
    wrapper: () => timePerCall(make, count, (p) => wrapper.invoke(p)),
  }, 5, 1);
  await engine.close();
  return {
    invoke_miss_ns: {
      no_cache: round(medians.no_cache), in_memory_cache: round(medians.in_memory_cache),
      engine_cache: round(medians.engine_cache), wrapper: round(medians.wrapper),
    },
    ratio_vs_no_cache: {
      in_memory_cache: round(medians.in_memory_cache / medians.no_cache, 2),
      engine_cache: round(medians.engine_cache / medians.no_cache, 2),
      wrapper: round(medians.wrapper / medians.no_cache, 2),
    },
    ratio_vs_in_memory_cache: {
      engine_cache: round(medians.engine_cache / medians.in_memory_cache, 2),
      wrapper: round(medians.wrapper / medians.in_memory_cache, 2),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchLangChainHits(), null, 2));
  console.log(JSON.stringify(await benchLangChainMisses(), null, 2));
}
