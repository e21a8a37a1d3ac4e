import type { CacheStats } from '../cache/stats.js';
import { round } from '../internal/summary.js';
import type { Anomaly, Recommendation, Trends } from './types.js';

/** How latency relates to the number of model calls in flight. */
export interface LoadEvidence {
  /** Pearson correlation of latency with other calls in flight. */
  r: number;
  samples: number;
  /** In-flight level that splits the samples (median). */
  split: number;
  /** Median latency at or below the split, and above it. */
  lowMs: number;
  highMs: number;
}

/** Everything the recommendation rules read; each rule is a pure function of it. */
export interface RecommendationInput {
  cache: CacheStats | undefined;
  concurrencyLimit: number | undefined;
  modelCalls: number;
  coldLoads: number;
  coldLoadMeanMs: number;
  load: LoadEvidence | undefined;
  trends: Trends;
  anomalies: readonly Anomaly[];
}

/** Misses needed before their causes are trusted. */
const MIN_MISSES = 20;
const MIN_LOAD_SAMPLES = 30;

type Rule = (input: RecommendationInput) => Recommendation | undefined;

function missCauseRule(input: RecommendationInput): Recommendation | undefined {
  const stats = input.cache;
  if (stats === undefined || stats.misses < MIN_MISSES || stats.hitRate >= 0.8) return undefined;
  const { new: fresh, expired, rejected } = stats.missCauses;
  // Refused admission (the policy kept more popular entries) is a want of room, as eviction is.
  const evicted = stats.missCauses.evicted + rejected;
  const total = fresh + expired + evicted;
  const share = (n: number): number => (total === 0 ? 0 : n / total);
  const evidence = {
    misses: stats.misses, hit_rate_percent: round(stats.hitRate * 100), expired_misses: expired, evicted_misses: stats.missCauses.evicted, rejected_misses: rejected, new_misses: fresh,
  };
  if (share(expired) >= 0.5) {
    return {
      type: 'raise_ttl', priority: 'high', evidence: { ...evidence, ttl_seconds: stats.ttlMs / 1000 },
      message: `${round(share(expired) * 100)} % of cache misses were expired entries`,
      action: `Raise the cache TTL (\`cache.ttlMs\`) above ${stats.ttlMs / 1000} s, e.g. to ${(2 * stats.ttlMs) / 1000} s; autoOptimize() does this within its bounds`,
    };
  }
  if (share(evicted) >= 0.5) {
    return {
      type: 'raise_capacity', priority: 'high', evidence: { ...evidence, max_entries: stats.maxEntries, size: stats.size, evictions: stats.evictions },
      message: `${round(share(evicted) * 100)} % of cache misses were entries evicted for room or refused admission`,
      action: `Raise \`cache.maxEntries\` (now ${stats.maxEntries})${Number.isFinite(stats.maxBytes) ? ` or \`cache.maxBytes\` (now ${stats.maxBytes})` : ''}`,
    };
  }
  return {
    type: 'new_prompts', priority: 'low', evidence,
    message: `${round(share(fresh) * 100)} % of cache misses found nothing ever stored for the request (new prompts, or answers that were not stored)`,
    action: 'No TTL or size helps here: keep volatile data (timestamps, request ids) out of prompts and `params`; check that answers are complete (Ollama: done_reason \'stop\', not \'length\') so they can be stored',
  };
}

function coldLoadRule(input: RecommendationInput): Recommendation | undefined {
  if (input.coldLoads < 3 || input.coldLoads < 0.1 * input.modelCalls) return undefined;
  return {
    type: 'set_keep_alive', priority: input.coldLoads >= 0.3 * input.modelCalls ? 'high' : 'medium',
    evidence: { cold_loads: input.coldLoads, model_calls: input.modelCalls, mean_load_ms: round(input.coldLoadMeanMs) },
    message: `${input.coldLoads} of ${input.modelCalls} model calls waited for the model to load (${round(input.coldLoadMeanMs)} ms on average)`,
    action: 'Keep the model loaded: pass `keep_alive` (e.g. \'30m\' or -1) on requests or set OLLAMA_KEEP_ALIVE on the server',
  };
}

function loadRule(input: RecommendationInput): Recommendation | undefined {
  const load = input.load;
  if (load === undefined || load.samples < MIN_LOAD_SAMPLES || !(load.r >= 0.5) || !(load.highMs > 1.2 * load.lowMs)) return undefined;
  const target = Math.max(1, load.split);
  return {
    type: 'throttle', priority: 'medium',
    evidence: { correlation: round(load.r), samples: load.samples, in_flight_split: load.split, median_ms_low: round(load.lowMs), median_ms_high: round(load.highMs) },
    message: `Latency rises with concurrency (r = ${round(load.r)}): median ${round(load.lowMs)} ms with ≤ ${load.split} other calls in flight, ${round(load.highMs)} ms above`,
    action: `Throttle: set \`engine.maxConcurrency = ${target}\` (the model server queues the rest anyway)`,
  };
}

function latencyTrendRule(input: RecommendationInput): Recommendation | undefined {
  const [metric, trend] = input.trends.msPerToken?.status === 'degrading'
    ? ['msPerToken', input.trends.msPerToken] as const
    : ['responseTimeMs', input.trends.responseTimeMs] as const;
  if (trend?.status !== 'degrading') return undefined;
  const limit = input.concurrencyLimit;
  return {
    type: 'lower_concurrency', priority: 'medium',
    evidence: { metric, recent_mean: trend.recent_mean, baseline_mean: trend.baseline_mean, change_percent: trend.change_percent, max_concurrency: String(limit) },
    message: `${metric} is degrading: ${trend.recent_mean} recently against ${trend.baseline_mean} before (+${trend.change_percent} %)`,
    action: limit !== undefined && limit > 1
      ? `Lower \`engine.maxConcurrency\` (now ${limit}) or move load to a lighter model; check the model host`
      : 'Check the model host (other load, thermal throttling, context size) or route to a lighter model',
  };
}

function anomalyRules(input: RecommendationInput): Recommendation[] {
  const out: Recommendation[] = [];
  const memory = input.anomalies.find((a) => a.type === 'high_memory');
  if (memory !== undefined) {
    const bytes = input.cache?.bytes ?? 0;
    out.push({
      type: 'reduce_memory', priority: memory.severity === 'high' ? 'high' : 'medium',
      evidence: { value: memory.value, baseline: memory.baseline, metric: memory.metric, cache_bytes: bytes },
      message: memory.message,
      action: `Lower \`cache.maxBytes\` (the cache holds about ${bytes} bytes) via \`engine.cache.resize()\`; if the cache is small, the memory is elsewhere`,
    });
  }
  const errors = input.anomalies.find((a) => a.type === 'error_rate');
  if (errors !== undefined) {
    out.push({
      type: 'investigate_errors', priority: 'high',
      evidence: { error_rate_percent: round(errors.value * 100), baseline_percent: round(errors.baseline * 100) },
      message: errors.message,
      action: 'Check the model server (is it up, is the model pulled, is it out of memory); `staleIfError: true` serves expired answers meanwhile',
    });
  }
  return out;
}

const RULES: readonly Rule[] = [missCauseRule, coldLoadRule, loadRule];

/** Actionable items from causes (miss causes, cold loads, load) and from anomalies, most urgent first. */
export function recommend(input: RecommendationInput): Recommendation[] {
  const out: Recommendation[] = [];
  for (const rule of RULES) {
    const r = rule(input);
    if (r !== undefined) out.push(r);
  }
  if (!out.some((r) => r.type === 'throttle')) {
    const r = latencyTrendRule(input);
    if (r !== undefined) out.push(r);
  }
  for (const r of anomalyRules(input)) out.push(r);
  const rank = { high: 0, medium: 1, low: 2 };
  return out.sort((a, b) => rank[a.priority] - rank[b.priority]);
}
