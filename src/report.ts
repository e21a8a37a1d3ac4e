import type { CacheStats } from './cache/stats.js';
import { percent } from './cache/stats.js';
import type { CacheStatsReport } from './engine.js';
import { round } from './internal/summary.js';
import type { OutcomeCounts } from './monitor/performance-monitor.js';
import type { Anomaly, Recommendation, Trends } from './monitor/types.js';
import type { OptimizationRecord } from './optimizer/auto-optimizer.js';
import type { WarmUpReport } from './forecast/engine-warm-up.js';

/** `engine.getOptimizationReport()`: wire format, snake_case. */
export interface OptimizationReport {
  summary: {
    /** clamp(70 + 30 × hit_rate − min(30, 10 × anomalies), 0, 100), with the effective hit rate (hits and coalesced calls). */
    efficiency_score: number;
    /** From the score: `excellent` ≥ 90, `good` ≥ 80, `fair` ≥ 70, `poor` below. */
    status: 'excellent' | 'good' | 'fair' | 'poor';
    /** ISO 8601, from the engine's clock. */
    generated_at: string;
    /** Calls through `optimizeAiCall`, every outcome. */
    total_calls: number;
    /** Cache hits / cache lookups, as in `getCacheStats()` (a coalesced call is a lookup miss). */
    hit_rate_percent: number;
    /** (hits + coalesced calls) / cache lookups: calls answered without running the model. The score uses this. */
    effective_hit_rate_percent: number;
    requests_saved: number;
    /** Calls that reached the model (ran `exec`), once per call however many retries: `getCacheStats().cache.model_calls`. */
    model_calls: number;
    /** Calls answered without the model (hits, coalesced, shared-store hits) ÷ those + model calls, as in `getCacheStats()`. */
    answered_without_model_percent: number;
    errors: number;
    /** Recent anomalies (deduplicated), the score's penalty. */
    anomalies: number;
    /** Mean model-call latency (cold loads excluded) over the monitor's history; null when none. */
    avg_response_time_ms: number | null;
    time_saved_seconds: number;
    cost_saved_usd: number;
  };
  cache: CacheStatsReport['cache'] & {
    bytes: number;
    max_bytes: number | null;
    evictions: number;
    miss_causes: CacheStats['missCauses'];
  };
  performance_impact: CacheStatsReport['performance_impact'];
  anomalies: Anomaly[];
  trends: Trends;
  recommendations: Recommendation[];
  optimizations_applied: OptimizationRecord[];
  /** Predictive warm-ups (`warmUp` option): counts and each model's forecast; `enabled: false` without it. */
  warm_up: WarmUpReport;
}

/** What the report is made of, gathered by the engine. */
export interface ReportInput {
  now: number;
  cacheReport: CacheStatsReport;
  stats: CacheStats;
  outcomes: Readonly<OutcomeCounts>;
  responseTimes: readonly number[];
  anomalies: Anomaly[];
  trends: Trends;
  recommendations: Recommendation[];
  optimizations: readonly OptimizationRecord[];
  warmUp: WarmUpReport;
}

/** The seed's score: 70 at 0 % hits, 85 at 50 %, 100 at 100 %; each anomaly −10, at most −30. `hitRate` in [0, 1]. */
export function efficiencyScore(hitRate: number, anomalies: number): number {
  const score = 70 + 30 * hitRate - Math.min(30, 10 * anomalies);
  return round(Math.min(100, Math.max(0, score)));
}

function statusOf(score: number): OptimizationReport['summary']['status'] {
  return score >= 90 ? 'excellent' : score >= 80 ? 'good' : score >= 70 ? 'fair' : 'poor';
}

export function buildOptimizationReport(input: ReportInput): OptimizationReport {
  const { cacheReport, stats, outcomes } = input;
  const lookups = stats.hits + stats.misses;
  const saved = cacheReport.performance_impact.requests_saved;
  const effective = lookups === 0 ? 0 : Math.min(1, saved / lookups);
  const score = efficiencyScore(effective, input.anomalies.length);
  const total = outcomes.hit + outcomes.miss + outcomes.coalesced + outcomes.bypass + outcomes.error;
  const n = input.responseTimes.length;
  return {
    summary: {
      efficiency_score: score,
      status: statusOf(score),
      generated_at: new Date(input.now).toISOString(),
      total_calls: total,
      hit_rate_percent: cacheReport.cache.hit_rate_percent,
      effective_hit_rate_percent: percent(Math.min(saved, lookups), lookups),
      requests_saved: saved,
      model_calls: cacheReport.cache.model_calls,
      answered_without_model_percent: cacheReport.cache.answered_without_model_percent,
      errors: outcomes.error,
      anomalies: input.anomalies.length,
      avg_response_time_ms: n === 0 ? null : round(input.responseTimes.reduce((a, b) => a + b, 0) / n),
      time_saved_seconds: cacheReport.performance_impact.time_saved_estimate_seconds,
      cost_saved_usd: cacheReport.performance_impact.cost_saved_usd,
    },
    cache: {
      ...cacheReport.cache,
      bytes: stats.bytes,
      max_bytes: Number.isFinite(stats.maxBytes) ? stats.maxBytes : null,
      evictions: stats.evictions,
      miss_causes: { ...stats.missCauses },
    },
    performance_impact: { ...cacheReport.performance_impact },
    anomalies: input.anomalies,
    trends: input.trends,
    recommendations: input.recommendations,
    optimizations_applied: input.optimizations.map((r) => ({ ...r, result: { ...r.result } })),
    warm_up: input.warmUp,
  };
}
