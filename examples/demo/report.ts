// The demo's closing report: per service and in total, hit rate, time saved, tokens per second,
// anomalies and the efficiency score. Each service's figures come from its engine's
// `getOptimizationReport()`; requests, tokens and Ollama's timings from the demo's meters.
import { efficiencyScore, type OptimizationReport, type OptimizationEngine } from '../../src/index.js';
import type { MeterFigures } from './meter.js';
import type { DashboardData } from '../../src/http.js';

/** What one service's engine and meters saw. */
export interface ServiceResult {
  /** Calls the service made (through the optimized client). */
  readonly calls: number;
  /** What reached the model. */
  readonly upstream: MeterFigures;
  /** What the service was served. */
  readonly served: MeterFigures;
  readonly wallMs: number;
  /** The engine's `getOptimizationReport()` at the end of the service's workload. */
  readonly report: OptimizationReport;
  /** The engine's dashboard data at the end (`createDashboardRecorder`), for the HTML report. */
  readonly dashboard?: DashboardData;
}

export function serviceResult(engine: OptimizationEngine, upstream: MeterFigures, served: MeterFigures, wallMs: number): ServiceResult {
  return { calls: served.requests, upstream, served, wallMs, report: engine.getOptimizationReport() };
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
  model_calls: number;
  hits: number;
  coalesced: number;
  hit_rate_percent: number;
  effective_hit_rate_percent: number;
  answered_without_model_percent: number;
  model_time_saved_seconds: number;
  engine_time_saved_seconds: number;
  model_tokens_per_second: number;
  served_tokens_per_second: number;
  truncated_not_cached: number;
  anomalies: number;
  efficiency_score: number;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const percent = (part: number, whole: number): number => (whole === 0 ? 0 : round1((100 * part) / whole));
const perSecond = (tokens: number, ms: number): number => (ms <= 0 ? 0 : round1((tokens * 1000) / ms));

interface Totals {
  calls: number; upstream: MeterFigures; served: MeterFigures; wallMs: number; hits: number; lookups: number;
  coalesced: number; modelCalls: number; saved: number; timeSavedS: number; anomalies: number;
}

function totalsOf(result: ServiceResult): Totals {
  const { cache, summary } = result.report;
  return {
    calls: result.calls, upstream: result.upstream, served: result.served, wallMs: result.wallMs,
    hits: cache.hits, lookups: cache.hits + cache.misses, coalesced: cache.coalesced, modelCalls: cache.model_calls,
    saved: summary.requests_saved, timeSavedS: summary.time_saved_seconds,
    anomalies: summary.anomalies,
  };
}

/** A column from the figures; the score by the library's formula, over the effective hit rate. */
function columnOf(t: Totals): ServiceReport {
  const effective = t.lookups === 0 ? 0 : Math.min(1, t.saved / t.lookups);
  return {
    calls: t.calls,
    model_requests: t.upstream.requests,
    model_calls: t.modelCalls,
    hits: t.hits,
    coalesced: t.coalesced,
    hit_rate_percent: percent(t.hits, t.lookups),
    effective_hit_rate_percent: percent(Math.min(t.saved, t.lookups), t.lookups),
    answered_without_model_percent: percent(t.calls - t.upstream.requests, t.calls),
    model_time_saved_seconds: round1((t.served.modelMs - t.upstream.modelMs) / 1000),
    engine_time_saved_seconds: round1(t.timeSavedS),
    model_tokens_per_second: perSecond(t.upstream.evalTokens, t.upstream.evalMs),
    served_tokens_per_second: perSecond(t.served.evalTokens, t.wallMs),
    truncated_not_cached: t.upstream.truncated,
    anomalies: t.anomalies,
    efficiency_score: round1(efficiencyScore(effective, t.anomalies)),
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
    wallMs: a.wallMs + b.wallMs, hits: a.hits + b.hits, lookups: a.lookups + b.lookups, coalesced: a.coalesced + b.coalesced,
    modelCalls: a.modelCalls + b.modelCalls, saved: a.saved + b.saved,
    timeSavedS: a.timeSavedS + b.timeSavedS, anomalies: a.anomalies + b.anomalies,
  };
  return { i_proactive: columnOf(a), i_match: columnOf(b), total: columnOf(total) };
}

const ROWS: readonly [keyof ServiceReport, string][] = [
  ['calls', 'calls made by the service'],
  ['model_requests', 'requests that reached the model server'],
  ['model_calls', 'calls that reached the model (engine)'],
  ['hits', 'cache hits'],
  ['coalesced', 'joined an identical call in flight'],
  ['hit_rate_percent', 'hit rate (%)'],
  ['effective_hit_rate_percent', 'hits + coalesced (%)'],
  ['answered_without_model_percent', 'answered without a model request (%)'],
  ['model_time_saved_seconds', 'model busy time saved (s)'],
  ['engine_time_saved_seconds', 'caller wait saved, engine estimate (s)'],
  ['model_tokens_per_second', 'model tokens/s (eval_count/eval_duration)'],
  ['served_tokens_per_second', 'tokens/s served to the service'],
  ['truncated_not_cached', 'truncated answers (not cached)'],
  ['anomalies', 'anomalies'],
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

/** The engine's own findings: miss causes, anomalies and recommendations, one line each. */
export function findings(name: string, report: OptimizationReport): string[] {
  const causes = Object.entries(report.cache.miss_causes).map(([cause, count]) => `${cause} ${count}`).join(', ');
  return [
    `${name}: ${report.summary.status} (score ${report.summary.efficiency_score}); misses by cause: ${causes}; ${missOutcomes(report.cache)}`,
    ...report.anomalies.map((anomaly) => `  anomaly (${anomaly.severity}): ${anomaly.message}`),
    ...report.recommendations.map((item) => `  recommendation (${item.priority}): ${item.message} -> ${item.action}`),
  ];
}

/**
 * Where the misses went: each one joined an identical call in flight, was answered by the shared
 * store, or reached the model; what is left got no answer (an error while waiting, `only-if-cached`).
 * Calls that skip the lookup (`bypass`, `refresh`) reach the model without a miss: they are said apart.
 */
function missOutcomes(cache: OptimizationReport['cache']): string {
  const misses = cache.miss_causes.new + cache.miss_causes.expired + cache.miss_causes.evicted;
  const parts = [`${cache.coalesced} joined an identical call in flight`];
  if (cache.store_hits > 0) parts.push(`${cache.store_hits} answered by the shared store`);
  const rest = misses - cache.coalesced - cache.store_hits;
  const reached = Math.min(rest, cache.model_calls);
  parts.push(`${reached} reached the model`);
  if (rest > reached) parts.push(`${rest - reached} got no answer`);
  const extra = cache.model_calls - reached;
  return `the ${misses} misses: ${parts.join(', ')}${extra > 0 ? ` (and ${extra} calls reached the model without a lookup)` : ''}`;
}
