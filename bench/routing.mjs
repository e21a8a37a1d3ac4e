// Routing and experiments (issue 13), measured through the built engine's public API only.
//
// Quality cannot be measured with the tiny models in the repo, so the cascade is evaluated against a
// known ground truth: two mock tiers whose accuracy per prompt class is fixed, and whose reported
// token log-probabilities are drawn from different distributions for right and wrong answers (as
// real models' are correlated with correctness). Time is simulated on a manual clock: each tier
// "takes" its latency, so the latencies below are the simulated model time, not this machine's.
import { OptimizationEngine } from '../dist/index.js';

const SMALL = 'small-8b';
const LARGE = 'large-70b';
/** Simulated latency of each tier, ms. */
const LATENCY = { [SMALL]: 400, [LARGE]: 4000 };
/** Prompt classes: share of traffic, and each tier's accuracy on it. */
const CLASSES = [
  { name: 'easy', share: 0.5, accuracy: { [SMALL]: 0.95, [LARGE]: 0.98 } },
  { name: 'medium', share: 0.3, accuracy: { [SMALL]: 0.75, [LARGE]: 0.92 } },
  { name: 'hard', share: 0.2, accuracy: { [SMALL]: 0.35, [LARGE]: 0.85 } },
];

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rnd) {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

function manualClock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/**
 * The two mock tiers. Each prompt has a latent difficulty u in [0, 1) (a seeded draw); a tier answers
 * it right when u < its accuracy on the prompt's class. So the large tier is right whenever the
 * small one is (nested errors, as an 8B and a 70B of one family mostly are): the cascade cannot beat
 * "always large" by luck. Log-probabilities: right answers near −0.25, wrong ones near −0.9, with
 * overlap (noise), so confidence is informative but imperfect.
 */
function mockTiers(seed, clock) {
  const rnd = prng(seed);
  const difficulty = new Map();
  const exec = (prompt, model, context) => {
    const { klass, id } = prompt;
    if (!difficulty.has(id)) difficulty.set(id, prng(seed * 7919 + id)());
    const correct = difficulty.get(id) < klass.accuracy[model];
    clock.advance(LATENCY[model]);
    if (context.wantsLogprobs) {
      const mean = correct ? -0.25 : -0.9;
      context.reportLogprobs(Array.from({ length: 8 }, () => Math.min(0, mean + 0.35 * normal(rnd))));
    }
    context.reportUsage({ promptTokens: 50, outputTokens: 100 });
    return { model, correct };
  };
  return exec;
}

function drawPrompts(n, seed) {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, id) => {
    const r = rnd();
    let acc = 0;
    const klass = CLASSES.find((c) => (acc += c.share) > r) ?? CLASSES.at(-1);
    // The prompt text carries its id only: the engine keys it, the mock reads its class.
    return { id, klass, text: `question ${id} (${klass.name})` };
  });
}

/** Runs `n` prompts through an engine whose route is `route`; returns accuracy, large share after warm-up, latencies. */
async function runCascade(route, n, warmUp, seed) {
  const clock = manualClock();
  const engine = new OptimizationEngine({ clock, retry: false, routes: { assistant: { tiers: [SMALL, LARGE], ...route } } });
  const tiers = mockTiers(seed, clock);
  const prompts = drawPrompts(n, seed + 1);
  let correct = 0;
  let large = 0;
  let counted = 0;
  const escalatedMs = [];
  const directLargeMs = [];
  for (const p of prompts) {
    const status = {};
    const answer = await engine.optimizeAiCall(p.text, 'assistant', (_text, model, context) => tiers(p, model, context), { status, cache: 'bypass' });
    if (answer.correct) correct++;
    if (p.id >= warmUp) {
      counted++;
      if (answer.model === LARGE) large++;
    }
    if (status.route?.escalated) escalatedMs.push(status.durationMs);
    else if (answer.model === LARGE) directLargeMs.push(status.durationMs);
  }
  await engine.close();
  return { accuracy: correct / n, largeShare: large / counted, escalatedMs, directLargeMs };
}

/** Accuracy of one fixed tier on the same prompts and the same ground truth. */
async function runFixed(tier, n, seed) {
  const clock = manualClock();
  const tiers = mockTiers(seed, clock);
  const prompts = drawPrompts(n, seed + 1);
  let correct = 0;
  for (const p of prompts) if (tiers(p, tier, { wantsLogprobs: false, reportLogprobs() {}, reportUsage() {} }).correct) correct++;
  return correct / n;
}

const mean = (xs) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const round = (x, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

export async function benchCascade() {
  const n = Number(process.env.ROUTING_BENCH_CALLS ?? 6000);
  const warmUp = 1000;
  const seeds = [11, 23, 37];
  const out = { calls_per_run: n, warm_up_calls: warmUp, seeds: seeds.length, tiers_latency_ms: LATENCY, classes: CLASSES };
  for (const target of [0.2, 0.35]) {
    const runs = [];
    for (const seed of seeds) runs.push(await runCascade({ strategy: 'cascade', targetLargeShare: target }, n, warmUp, seed));
    const large = mean(await Promise.all(seeds.map((s) => runFixed(LARGE, n, s))));
    const small = mean(await Promise.all(seeds.map((s) => runFixed(SMALL, n, s))));
    const accuracy = mean(runs.map((r) => r.accuracy));
    // Baseline at the same large share: each call sent large at random with that probability.
    const share = mean(runs.map((r) => r.largeShare));
    const random = small + share * (large - small);
    const escalated = runs.flatMap((r) => r.escalatedMs);
    out[`target_${target}`] = {
      large_share: round(share), large_share_per_seed: runs.map((r) => round(r.largeShare)),
      off_target_points: round(100 * Math.max(...runs.map((r) => Math.abs(r.largeShare - target))), 2),
      accuracy_cascade: round(accuracy), accuracy_always_large: round(large), accuracy_always_small: round(small),
      accuracy_random_at_same_share: round(random),
      accuracy_kept_vs_always_large: round(accuracy / large),
      escalated_call_ms_mean: round(mean(escalated), 1), large_alone_ms: LATENCY[LARGE],
      added_latency_on_escalated_ms: round(mean(escalated) - LATENCY[LARGE], 1),
      // Every call runs the small tier; the share escalated also runs the large one.
      model_time_vs_always_large: round((LATENCY[SMALL] + share * LATENCY[LARGE]) / LATENCY[LARGE], 3),
    };
  }
  return out;
}

/** Per-call cost of routing on a miss: an engine with a rules route against one without, the same prompts, interleaved rounds. */
export async function benchRoutingCost() {
  const CALLS = 4000;
  const ROUNDS = 7;
  const prompts = Array.from({ length: CALLS }, (_, i) => `${i}: Explain step by step how to solve 3x + ${i} = 19, then write a function in Python. ${'context '.repeat(60)}`);
  const time = async (engine, model, tag) => {
    const exec = async () => 'answer';
    const start = process.hrtime.bigint();
    for (const p of prompts) await engine.optimizeAiCall(`${tag}${p}`, model, exec, { cache: 'bypass' });
    return Number(process.hrtime.bigint() - start) / CALLS;
  };
  const routed = new OptimizationEngine({ retry: false, routes: { assistant: { tiers: [SMALL, LARGE], targetLargeShare: 0.2 } } });
  const plain = new OptimizationEngine({ retry: false });
  const r = { routed: [], plain: [] };
  for (let i = 0; i < ROUNDS; i++) {
    r.routed.push(await time(routed, 'assistant', `r${i}`));
    r.plain.push(await time(plain, SMALL, `p${i}`));
  }
  await Promise.all([routed.close(), plain.close()]);
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const routedNs = median(r.routed);
  const plainNs = median(r.plain);
  return {
    prompt_chars: prompts[0].length, miss_ns_routed_rules: Math.round(routedNs), miss_ns_unrouted: Math.round(plainNs),
    routing_cost_ns_per_call: Math.round(routedNs - plainNs), ratio: round(routedNs / plainNs, 2),
  };
}

/**
 * One experiment run through the engine: `units` users, each calling twice (a miss that stores its
 * answer, then the same request after a random age in [0, 1000) ms): the second call is a hit when
 * the age is below the arm's TTL. So an arm with `ttlMs: 1000` has a hit rate of 50 %, one with 900
 * of 45 %: a real 5-point difference made by a real TTL variant. Peeks (`results()`) every `peek` calls.
 */
async function runExperiment(engine, clock, name, ttl, callsPerArm, peek, rnd) {
  const experiment = engine.experiment({ name, variants: { a: { ttlMs: ttl.a }, b: { ttlMs: ttl.b } }, metrics: ['hitRate'] });
  let calls = 0;
  let rejected = false;
  let unit = 0;
  const exec = () => 'answer';
  while (true) {
    const scope = `${name}:${unit++}`;
    await engine.optimizeAiCall('q', 'm', exec, { scope });
    clock.advance(rnd() * 1000);
    await engine.optimizeAiCall('q', 'm', exec, { scope });
    calls += 2;
    if (calls % peek === 0) {
      const results = experiment.results();
      if (results.comparisons.b.hitRate.significant) rejected = true;
      const armCalls = Math.min(results.variants.a.calls, results.variants.b.calls);
      if (rejected || armCalls >= callsPerArm) break;
    }
  }
  experiment.stop();
  return { rejected, calls };
}

export async function benchExperiments() {
  const aaRuns = Number(process.env.AA_RUNS ?? 1000);
  const aaCallsPerArm = Number(process.env.AA_CALLS_PER_ARM ?? 1000);
  const powerRuns = Number(process.env.POWER_RUNS ?? 100);
  const clock = manualClock();
  const engine = new OptimizationEngine({ clock, cache: { maxEntries: 100 } });
  const rnd = prng(99);
  let falsePositives = 0;
  const started = performance.now();
  for (let i = 0; i < aaRuns; i++) if ((await runExperiment(engine, clock, `aa${i}`, { a: 900, b: 900 }, aaCallsPerArm, 100, rnd)).rejected) falsePositives++;
  const aaSeconds = (performance.now() - started) / 1000;
  let detected = 0;
  const detectedAt = [];
  for (let i = 0; i < powerRuns; i++) {
    const run = await runExperiment(engine, clock, `power${i}`, { a: 1000, b: 900 }, 10_000, 100, rnd);
    if (run.rejected) {
      detected++;
      detectedAt.push(run.calls);
    }
  }
  detectedAt.sort((a, b) => a - b);
  await engine.close();
  return {
    test: 'mSPRT (normal mixture, tau = 0.1 pooled sd), always-valid p-value = running min of 1/Lambda over peeks',
    alpha: 0.05,
    aa_experiments: aaRuns, aa_calls_per_arm: aaCallsPerArm, peek_every_calls: 100,
    aa_false_positive_rate: round(falsePositives / aaRuns, 4), aa_seconds: round(aaSeconds, 1),
    power_experiments: powerRuns, power_calls_per_arm: 10_000, power_hit_rates: '50 % vs 45 % (TTL 1000 ms vs 900 ms)',
    power: round(detected / powerRuns, 3),
    // Stopping at the first look with p < alpha (both arms together; about half per arm).
    calls_to_detection_median: detectedAt.length === 0 ? null : detectedAt[detectedAt.length >> 1],
    calls_to_detection_p90: detectedAt.length === 0 ? null : detectedAt[Math.floor(detectedAt.length * 0.9)],
  };
}

/**
 * The same comparison against real models, when `OLLAMA_HOST` answers with two or more generation
 * models (the smallest and the largest by size are the tiers): arithmetic questions of mixed
 * difficulty whose answers are known, asked of the small tier alone, the large tier alone, and a
 * calibrated cascade (log-probabilities from Ollama). Skipped (and said so) otherwise.
 */
export async function benchRealTiers() {
  const host = process.env.OLLAMA_HOST;
  if (host === undefined || host === '') return { skipped: 'OLLAMA_HOST is not set' };
  const { Ollama } = await import('ollama');
  const { withOptimization } = await import('../dist/ollama.js');
  const client = new Ollama({ host });
  let listed;
  try {
    listed = await client.list();
  } catch (error) {
    return { skipped: `OLLAMA_HOST does not answer (${String(error?.message ?? error)})` };
  }
  const models = listed.models.filter((m) => !/embed/i.test(m.name)).sort((a, b) => a.size - b.size);
  if (models.length < 2) return { skipped: `OLLAMA_HOST serves ${models.length} generation model(s); two are needed` };
  const small = models[0].name;
  const large = models.at(-1).name;
  const n = Number(process.env.REAL_TIER_QUESTIONS ?? 30);
  const rnd = prng(5);
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo));
  const questions = Array.from({ length: n }, (_, i) => {
    if (i % 3 === 0) { const a = int(2, 20), b = int(2, 20); return { text: `What is ${a} + ${b}?`, answer: a + b }; }
    if (i % 3 === 1) { const a = int(12, 99), b = int(12, 99); return { text: `What is ${a} * ${b}?`, answer: a * b }; }
    const a = int(101, 999), b = int(11, 99), c = int(100, 999);
    return { text: `Compute ${a} * ${b} - ${c}, step by step in your head.`, answer: a * b - c };
  });
  const ask = (text) => `${text} Reply with the final number only.`;
  const correct = (response, q) => Number((response.match(/-?\d[\d,]*/g) ?? []).at(-1)?.replace(/,/g, '')) === q.answer;
  const run = async (ollama, model) => {
    let right = 0;
    let large_ = 0;
    const started = performance.now();
    for (const q of questions) {
      const status = {};
      const r = await ollama.generate({ model, prompt: ask(q.text), options: { temperature: 0, num_predict: 24 }, optimization: { cache: 'bypass', status } });
      if (correct(r.response, q)) right++;
      if (status.route?.tier === large) large_++;
    }
    const seconds = round((performance.now() - started) / 1000 / n, 2);
    return model === 'assistant' ? { accuracy: round(right / n), large_share: round(large_ / n), seconds_per_question: seconds } : { accuracy: round(right / n), seconds_per_question: seconds };
  };
  const plain = new OptimizationEngine({ retry: false });
  const routed = new OptimizationEngine({ retry: false, routes: { assistant: { tiers: [small, large], strategy: 'cascade', targetLargeShare: 0.3, calibrationWindow: 50 } } });
  const result = {
    host, small, large, questions: n,
    always_small: await run(withOptimization(client, plain), small),
    always_large: await run(withOptimization(client, plain), large),
    cascade_target_0_3: await run(withOptimization(client, routed), 'assistant'),
  };
  await Promise.all([plain.close(), routed.close()]);
  return result;
}
