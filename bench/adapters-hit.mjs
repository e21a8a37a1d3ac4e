// The adapters' hit path against the `optimizeAiCall` hit (issue 11, goal: within 2×), at
// 200-character prompts with a typical response: 1 KB of text, Ollama's fields, a `context` array.
// Hits never reach the client, so the Ollama adapter wraps a stub client that answers the misses
// with that response. Run after `npm run build` (bench/run.mjs does it).
import { OptimizationEngine } from '../dist/index.js';
import { withOptimization } from '../dist/ollama.js';
import { race, templates, timeFresh } from './core.mjs';

const MODEL = 'llama3.1:8b';
const BATCH = 10_000;
/** Token ids of a 200-character prompt, a chat template and about 1 KB of answer, with room to spare. */
const CONTEXT_TOKENS = 512;
const TEXT = 'The sky looks blue because air scatters short wavelengths of sunlight more than long ones. '.repeat(12).slice(0, 1024);

/** A non-streamed `/api/generate` answer as Ollama sends it. */
export function generateResponse() {
  return {
    model: MODEL, created_at: new Date().toISOString(), response: TEXT, done: true, done_reason: 'stop',
    context: Array.from({ length: CONTEXT_TOKENS }, (_, i) => (i * 7919) % 128_256),
    total_duration: 4_935_886_791, load_duration: 534_986_708, prompt_eval_count: 26, prompt_eval_duration: 107_345_000,
    eval_count: 237, eval_duration: 4_289_432_000,
  };
}

/** A non-streamed `/api/chat` answer (chat has no `context`). */
function chatResponse() {
  const { context: _context, response, ...rest } = generateResponse();
  return { ...rest, message: { role: 'assistant', content: response } };
}

const stubClient = {
  generate: async () => generateResponse(),
  chat: async () => chatResponse(),
  embed: async () => ({ model: MODEL, embeddings: [] }),
};

/**
 * Extra contenders (the OpenAI adapter adds its own) are `async (engine) => ({ warm, hit, close? })`:
 * `warm` fills the cache for a text, `hit` is one timed call, `close` runs after the race.
 */
export async function benchAdapterHits(extra = {}) {
  const texts = templates(200);
  const engine = new OptimizationEngine({ cache: { maxEntries: 10_000 } });
  const ollama = withOptimization(stubClient, engine);
  const contenders = {
    core_string: { warm: (p) => engine.optimizeAiCall(p, MODEL, () => 'x'.repeat(400)), hit: (p) => engine.optimizeAiCall(p, MODEL, () => 'x') },
    core_response: { warm: (p) => engine.optimizeAiCall(p, 'response', async () => generateResponse()), hit: (p) => engine.optimizeAiCall(p, 'response', () => 'x') },
    ollama_generate: {
      warm: (p) => ollama.generate({ model: MODEL, prompt: p, options: { temperature: 0 } }),
      hit: (p) => ollama.generate({ model: MODEL, prompt: p, options: { temperature: 0 } }),
    },
    ollama_chat: {
      warm: (p) => ollama.chat({ model: MODEL, messages: [{ role: 'user', content: p }], options: { temperature: 0 } }),
      hit: (p) => ollama.chat({ model: MODEL, messages: [{ role: 'user', content: p }], options: { temperature: 0 } }),
    },
  };
  for (const [name, make] of Object.entries(extra)) contenders[name] = await make(engine);
  for (const { warm } of Object.values(contenders)) for (const t of texts) await warm(t);
  const before = engine.getCacheStats().cache.model_calls;
  const medians = await race(Object.fromEntries(Object.entries(contenders).map(([name, { hit }]) => [name, () => timeFresh(texts, BATCH, hit, true)])));
  if (engine.getCacheStats().cache.model_calls !== before) throw new Error('a timed call missed the cache');
  // What the other mechanisms would cost (ADR 0035): the old per-hit structuredClone, and a caller
  // copying the `context` of a deeply frozen shared value (V8 copies frozen arrays on a slow path).
  const frozen = Object.freeze(generateResponse().context);
  const plain = generateResponse().context;
  const clone = await race({
    structured_clone: () => timePlain(() => structuredClone(generateResponse.sample)),
    slice_plain_context: () => timePlain(() => plain.slice()),
    slice_frozen_context: () => timePlain(() => frozen.slice(), 500),
  });
  for (const { close } of Object.values(contenders)) await close?.();
  await engine.close();
  const out = { prompt_chars: 200, response: `${TEXT.length}-char text, Ollama's fields, context of ${CONTEXT_TOKENS} token ids` };
  for (const [name, ns] of Object.entries(medians)) {
    out[`${name}_ns`] = Math.round(ns);
    if (name !== 'core_string') out[`${name}_ratio_vs_core_hit`] = Math.round((ns / medians.core_string) * 100) / 100;
  }
  out.structured_clone_of_response_ns = Math.round(clone.structured_clone);
  out.slice_of_context_ns = Math.round(clone.slice_plain_context);
  out.slice_of_frozen_context_ns = Math.round(clone.slice_frozen_context);
  out.goal_2x_met = Object.keys(medians).filter((n) => n !== 'core_string' && n !== 'core_response').every((n) => medians[n] <= 2 * medians.core_string);
  return out;
}
generateResponse.sample = generateResponse();

function timePlain(fn, count = 5000) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn();
  return Number(process.hrtime.bigint() - start) / count;
}

/** The first hit after each miss (issue 11: 50–100 µs before), median over fresh prompts, against a later hit. */
export async function benchFirstHit(rounds = 301) {
  const engine = new OptimizationEngine({ cache: { maxEntries: 10_000 } });
  const ollama = withOptimization(stubClient, engine);
  const first = [];
  const later = [];
  const call = (prompt) => ollama.generate({ model: MODEL, prompt, options: { temperature: 0 } });
  for (let i = 0; i < rounds; i++) {
    const prompt = `first hit ${i} `.padEnd(200, 'abcdefghij');
    await call(prompt);
    first.push(await timeOne(() => call(prompt)));
    later.push(await timeOne(() => call(prompt)));
  }
  await engine.close();
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { rounds, first_hit_after_miss_ns: Math.round(median(first)), next_hit_ns: Math.round(median(later)) };
}

async function timeOne(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start);
}
