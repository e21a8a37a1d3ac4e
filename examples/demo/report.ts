// The demo's closing report: per service and in total, hit rate, time saved, tokens per second,
// anomalies and the efficiency score.
//
// TEMPORARY until `engine.getOptimizationReport()` lands on main (issue 4, branch `monitor`): the
// figures come from `engine.getCacheStats()`, `engine.cache.getStats()` and the demo's meters; the
// anomalies from `createAnomalyDetector()` run over the latencies of the requests that reached the
// model; the efficiency score from DESIGN §4's formula
// `clamp(70 + 30 × hit_rate − min(30, 10 × anomalies), 0, 100)`.
import { createAnomalyDetector, type CacheStatsReport, type OptimizationEngine } from '../../src/index.js';
import type { MeterFigures } from './meter.js';

/** What one service's engine and meters saw. */
export interface ServiceResult {
  /** Calls the service made (through the optimized client). */
  readonly calls: number;
  /** What reached the model. */
  readonly upstream: MeterFigures;
  /** What the service was served. */
  readonly served: MeterFigures;
  readonly wallMs: number;
  readonly cacheStats: CacheStatsReport;
  readonly missCauses: Readonly<Record<string, number>>;
  /** Requests that reached the model and took anomalously long, by the default anomaly detector. */
  readonly anomalies: readonly { readonly request: number; readonly latencyMs: number }[];
}

export function serviceResult(engine: OptimizationEngine, upstream: MeterFigures, served: MeterFigures, wallMs: number): ServiceResult {
  const detector = createAnomalyDetector();
  const anomalies = upstream.latenciesMs
    .map((latencyMs, index) => ({ request: index + 1, latencyMs: Math.round(latencyMs), verdict: detector.observe(latencyMs) }))
    .filter((point) => point.verdict.isAnomaly)
    .map(({ request, latencyMs }) => ({ request, latencyMs }));
  return {
    calls: served.requests, upstream, served, wallMs, anomalies,
    cacheStats: engine.getCacheStats(),
    missCauses: { ...engine.cache.getStats().missCauses },
  };
}

/** Adds up two meters' figures (the demo meters text and embedding clients apart). */
export function mergeFigures(a: MeterFigures, b: MeterFigures): MeterFigures {
  return {
    requests: a.requests + b.requests,
    byMethod: { generate: a.byMethod.generate + b.byMethod.generate, chat: a.byMethod.chat + b.byMethod.chat, embed: a.byMethod.embed + b.byMethod.embed },
    evalTokens: a.evalTokens + b.evalTokens,
    evalMs: a.evalMs + b.evalMs,
    promptTokens: a.promptTokens + b.promptTokens,
    loadMs: a.loadMs + b.loadMs,
    modelMs: a.modelMs + b.modelMs,
    truncated: a.truncated + b.truncated,
    latenciesMs: [...a.latenciesMs, ...b.latenciesMs],
  };
}

/** One column of the report. Wire-style snake_case keys, as the library's own report uses. */
export interface ServiceReport {
  calls: number;
  model_requests: number;
  hits: number;
  coalesced: number;
  hit_rate_percent: number;
  answered_without_model_percent: number;
  model_time_saved_seconds: number;
  engine_time_saved_estimate_seconds: number;
  model_tokens_per_second: number;
  served_tokens_per_second: number;
  truncated_not_cached: number;
  anomalies: number;
  efficiency_score: number;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const percent = (part: number, whole: number): number => (whole === 0 ? 0 : round1((100 * part) / whole));
const perSecond = (tokens: number, ms: number): number => (ms <= 0 ? 0 : round1((tokens * 1000) / ms));

/** DESIGN §4: 70 at 0 % hits, 100 at 100 %, each anomaly −10 (at most −30). */
export function efficiencyScore(hitRatePercent: number, anomalies: number): number {
  return round1(Math.min(100, Math.max(0, 70 + 0.3 * hitRatePercent - Math.min(30, 10 * anomalies))));
}

interface Totals {
  calls: number; upstream: MeterFigures; served: MeterFigures; wallMs: number; hits: number; misses: number;
  saved: number; timeSavedS: number; anomalies: number;
}

function totalsOf(result: ServiceResult): Totals {
  const { cache, performance_impact: impact } = result.cacheStats;
  return {
    calls: result.calls, upstream: result.upstream, served: result.served, wallMs: result.wallMs,
    hits: cache.hits, misses: cache.misses, saved: impact.requests_saved, timeSavedS: impact.time_saved_estimate_seconds,
    anomalies: result.anomalies.length,
  };
}

function columnOf(t: Totals): ServiceReport {
  const hitRate = percent(t.hits, t.hits + t.misses);
  return {
    calls: t.calls,
    model_requests: t.upstream.requests,
    hits: t.hits,
    coalesced: t.saved - t.hits,
    hit_rate_percent: hitRate,
    answered_without_model_percent: percent(t.calls - t.upstream.requests, t.calls),
    model_time_saved_seconds: round1((t.served.modelMs - t.upstream.modelMs) / 1000),
    engine_time_saved_estimate_seconds: round1(t.timeSavedS),
    model_tokens_per_second: perSecond(t.upstream.evalTokens, t.upstream.evalMs),
    served_tokens_per_second: perSecond(t.served.evalTokens, t.wallMs),
    truncated_not_cached: t.upstream.truncated,
    anomalies: t.anomalies,
    efficiency_score: efficiencyScore(hitRate, t.anomalies),
  };
}

export interface DemoReport {
  readonly i_proactive: ServiceReport;
  readonly i_match: ServiceReport;
  readonly total: ServiceReport;
}

export function buildReport(result: { proactive: ServiceResult; match: ServiceResult }): DemoReport {
  const a = totalsOf(result.proactive);
  const b = totalsOf(result.match);
  const total: Totals = {
    calls: a.calls + b.calls, upstream: mergeFigures(a.upstream, b.upstream), served: mergeFigures(a.served, b.served),
    wallMs: a.wallMs + b.wallMs, hits: a.hits + b.hits, misses: a.misses + b.misses, saved: a.saved + b.saved,
    timeSavedS: a.timeSavedS + b.timeSavedS, anomalies: a.anomalies + b.anomalies,
  };
  return { i_proactive: columnOf(a), i_match: columnOf(b), total: columnOf(total) };
}

const ROWS: readonly [keyof ServiceReport, string][] = [
  ['calls', 'calls made by the service'],
  ['model_requests', 'requests that reached the model'],
  ['hits', 'cache hits'],
  ['coalesced', 'joined an identical call in flight'],
  ['hit_rate_percent', 'hit rate (%)'],
  ['answered_without_model_percent', 'answered without the model (%)'],
  ['model_time_saved_seconds', 'model busy time saved (s)'],
  ['engine_time_saved_estimate_seconds', 'caller wait saved, engine estimate (s)'],
  ['model_tokens_per_second', 'model tokens/s (eval_count/eval_duration)'],
  ['served_tokens_per_second', 'tokens/s served to the service'],
  ['truncated_not_cached', 'truncated answers (not cached)'],
  ['anomalies', 'anomalies (model latency)'],
  ['efficiency_score', 'efficiency score (0-100)'],
];

/** The report as an aligned text table. */
export function formatReport(report: DemoReport): string {
  const cell = (value: number): string => String(value).padStart(12);
  const lines = [`${''.padEnd(44)}${'I PROACTIVE'.padStart(12)}${'I MATCH'.padStart(12)}${'total'.padStart(12)}`];
  for (const [key, label] of ROWS) {
    lines.push(`${label.padEnd(44)}${cell(report.i_proactive[key])}${cell(report.i_match[key])}${cell(report.total[key])}`);
  }
  return lines.join('\n');
}
