// AI SDK middleware benchmarks: its hit path against the engine's own (`optimizeAiCall`), and what
// it adds to a miss against the bare SDK and against the AI SDK's documented caching recipe (a
// middleware keyed by `JSON.stringify(params)`, here over a Map). Ratios in one process; run after
// `npm run build` (bench/run.mjs does it).
import { generateText, wrapLanguageModel } from 'ai';
import { OptimizationEngine } from '../dist/index.js';
import { optimizationMiddleware } from '../dist/ai-sdk.js';
import { race, templates, timeFresh } from './core.mjs';

const MODEL_ID = 'llama3.1:8b';
const BATCH = 10_000;
const ANSWER = `${'The profile fits the role well: strong backend experience, team lead, remote. '.repeat(13)}`.slice(0, 1000);

/** A typical answer from a local model (about 1 KB of text, Ollama's metadata), fresh per call as a provider makes it. */
function answer() {
  return {
    content: [{ type: 'text', text: ANSWER }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: { inputTokens: { total: 61, noCache: 61, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 214, text: 214, reasoning: undefined } },
    providerMetadata: { ollama: { totalDuration: 2_140_000_000, evalDuration: 1_900_000_000, loadDuration: 12_000_000 } },
    response: { id: 'chatcmpl-1', timestamp: new Date(), modelId: MODEL_ID },
    warnings: [],
  };
}

/** A v4 model answering at once (a model call costs nothing here, so only the layers are timed). */
function mockModel() {
  return {
    specificationVersion: 'v4', provider: 'ollama.chat', modelId: MODEL_ID, supportedUrls: {},
    doGenerate: async () => answer(),
    doStream: async () => { throw new Error('not benchmarked'); },
  };
}

/** The call options the SDK builds for `generateText({ model, prompt, temperature: 0, maxOutputTokens: 512 })`. */
function paramsFor(text) {
  return { prompt: [{ role: 'user', content: [{ type: 'text', text }] }], temperature: 0, maxOutputTokens: 512, headers: { 'user-agent': 'ai/7' } };
}

/** The AI SDK docs' caching recipe (ai-sdk.dev/docs/advanced/caching), with a Map where the docs use Redis. */
function recipeMiddleware() {
  const cache = new Map();
  return {
    specificationVersion: 'v4',
    wrapGenerate: async ({ doGenerate, params }) => {
      const cacheKey = JSON.stringify(params);
      const cached = cache.get(cacheKey);
      if (cached !== undefined) {
        return { ...cached, response: { ...cached.response, timestamp: cached?.response?.timestamp ? new Date(cached.response.timestamp) : undefined } };
      }
      const result = await doGenerate();
      cache.set(cacheKey, result);
      return result;
    },
  };
}

/** ns per hit at 200-character prompts: the middleware against `optimizeAiCall` with the same answer. */
export async function benchAiSdkHit() {
  const texts = templates(200);
  const engine = new OptimizationEngine();
  const model = mockModel();
  const middleware = optimizationMiddleware({ engine, specificationVersion: 'v4' });
  const wrapped = wrapLanguageModel({ model, middleware });
  const hook = (text) => middleware.wrapGenerate({ params: paramsFor(text), model, doGenerate: () => model.doGenerate(), doStream: () => model.doStream() });
  const asString = () => ANSWER;
  const asObject = () => answer();
  for (const t of texts) {
    await hook(t);
    await engine.optimizeAiCall(t, MODEL_ID, asString);
    await engine.optimizeAiCall(t, 'object-model', asObject);
  }
  const misses = engine.getCacheStats().cache.misses;
  const medians = await race({
    optimizeAiCall_1kb_string: () => timeFresh(texts, BATCH, (p) => engine.optimizeAiCall(p, MODEL_ID, asString), true),
    optimizeAiCall_result_object: () => timeFresh(texts, BATCH, (p) => engine.optimizeAiCall(p, 'object-model', asObject), true),
    middleware_wrapGenerate: () => timeFresh(texts, BATCH, hook, true),
    wrapped_model_doGenerate: () => timeFresh(texts, BATCH, (p) => wrapped.doGenerate(paramsFor(p)), true),
  });
  if (engine.getCacheStats().cache.misses !== misses) throw new Error('a timed call missed');
  await engine.close();
  return {
    prompt_chars: 200,
    answer_text_chars: ANSWER.length,
    optimizeAiCall_1kb_string_ns: round(medians.optimizeAiCall_1kb_string),
    optimizeAiCall_result_object_ns: round(medians.optimizeAiCall_result_object),
    middleware_hit_ns: round(medians.middleware_wrapGenerate),
    wrapped_model_doGenerate_hit_ns: round(medians.wrapped_model_doGenerate),
    ratio_middleware_vs_optimizeAiCall_string: round(medians.middleware_wrapGenerate / medians.optimizeAiCall_1kb_string, 2),
    ratio_middleware_vs_optimizeAiCall_object: round(medians.middleware_wrapGenerate / medians.optimizeAiCall_result_object, 2),
  };
}

/**
 * `generateText` end to end over a model that answers at once: a miss through the middleware
 * against the bare SDK (no cache) and against the docs' recipe; then hits, ours against the recipe's.
 */
export async function benchAiSdkGenerateText() {
  const engine = new OptimizationEngine({ cache: { maxEntries: 100_000 } });
  const model = mockModel();
  const ours = wrapLanguageModel({ model, middleware: optimizationMiddleware({ engine, specificationVersion: 'v4' }) });
  const recipe = wrapLanguageModel({ model, middleware: recipeMiddleware() });
  let n = 0;
  const fresh = () => Array.from({ length: 500 }, () => `miss ${n++} ${'profile text '.repeat(15)}`.slice(0, 200));
  const run = (m) => async () => {
    const prompts = fresh();
    const start = process.hrtime.bigint();
    for (const prompt of prompts) await generateText({ model: m, prompt, temperature: 0 });
    return Number(process.hrtime.bigint() - start) / prompts.length;
  };
  const miss = await race({ bare: run(model), recipe: run(recipe), ours: run(ours) }, 5);
  const seen = templates(200);
  for (const prompt of seen) {
    await generateText({ model: ours, prompt, temperature: 0 });
    await generateText({ model: recipe, prompt, temperature: 0 });
  }
  const hit = await race({
    recipe: () => timeFresh(seen, 2000, (prompt) => generateText({ model: recipe, prompt, temperature: 0 }), true),
    ours: () => timeFresh(seen, 2000, (prompt) => generateText({ model: ours, prompt, temperature: 0 }), true),
    bare: () => timeFresh(seen, 2000, (prompt) => generateText({ model, prompt, temperature: 0 }), true),
  }, 5);
  await engine.close();
  return {
    miss_bare_sdk_ns: round(miss.bare),
    miss_recipe_ns: round(miss.recipe),
    miss_ours_ns: round(miss.ours),
    miss_overhead_vs_bare_us: round((miss.ours - miss.bare) / 1000, 2),
    miss_ratio_vs_bare: round(miss.ours / miss.bare, 2),
    miss_ratio_vs_recipe: round(miss.ours / miss.recipe, 2),
    hit_bare_sdk_model_call_ns: round(hit.bare),
    hit_recipe_ns: round(hit.recipe),
    hit_ours_ns: round(hit.ours),
    hit_ratio_vs_recipe: round(hit.ours / hit.recipe, 2),
  };
}

function round(value, digits = 0) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
