import type { OptimizationEngine } from '../engine.js';
import type { CircuitState } from '../optimizer/circuit-breaker.js';
import type { CallOutcome } from '../types.js';
import { BoundedLabels } from '../internal/bounded-labels.js';
import type { RouteReport } from '../routing/route-stats.js';

/** A prom-client `Registry`, or anything with its `registerMetric` (typed structurally: prom-client is not a dependency). */
export interface PrometheusRegistryLike {
  registerMetric(metric: object): void;
  metrics?(): Promise<string> | string;
  readonly contentType?: string;
}

type MetricType = 'counter' | 'gauge' | 'histogram';

interface Sample {
  /** Suffix after the family name (`_bucket`, `_sum`, `_count`), empty for plain samples. */
  suffix: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Histogram buckets of call duration, in seconds: from a cache hit (sub-ms) to a cold model load. */
const BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OUTCOMES: readonly CallOutcome[] = ['hit', 'miss', 'coalesced', 'bypass', 'error'];
/** Distinct label values kept for anomaly types and circuit models; more are pooled as `other` (no cardinality bomb). */
const MAX_LABEL_VALUES = 50;
/** The label value the values beyond `MAX_LABEL_VALUES` are pooled under. */
const OTHER = 'other';
const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'half-open', 'open'];

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] as number)) (this.counts[i] as number)++;
  }
}

/**
 * The engine's Prometheus metrics. Counters and gauges are read from the engine at scrape time
 * (since the engine started); the latency histogram and anomaly counts come from events, counted
 * from the moment the collector was created (with the first handler: create it at startup). One
 * collector per engine.
 */
export class EngineMetrics {
  readonly #engine: OptimizationEngine;
  readonly #histograms = new Map<CallOutcome, Histogram>(OUTCOMES.map((o) => [o, new Histogram()]));
  readonly #anomalies = new BoundedLabels<{ count: number }>(MAX_LABEL_VALUES, () => ({ count: 0 }), 'other');
  readonly #warmUps = new BoundedLabels<{ ok: number; failed: number }>(MAX_LABEL_VALUES, () => ({ ok: 0, failed: 0 }), 'other');
  #ticks = 0;
  readonly #registered = new WeakSet<object>();

  constructor(engine: OptimizationEngine) {
    this.#engine = engine;
    engine.on('call-end', ({ outcome, durationMs }) => this.#histograms.get(outcome)?.observe(Math.max(0, durationMs) / 1000));
    engine.on('anomaly-detect', ({ type }) => void this.#anomalies.get(type).count++);
    engine.on('autonomous-tick', () => void this.#ticks++);
    engine.on('model-warm-up', ({ model, error }) => {
      const counts = this.#warmUps.get(model);
      if (error === undefined) counts.ok++;
      else counts.failed++;
    });
  }

  /** Every family, read now. */
  collect(): Family[] {
    const families = this.#families();
    const score = this.#efficiencyScore();
    families.push(family(SCORE.name, SCORE.type, SCORE.help, score === undefined ? [] : [{ suffix: '', labels: {}, value: score }]));
    return families;
  }

  #families(): Family[] {
    const stats = this.#engine.cache.getStats();
    const impact = this.#engine.getCacheStats().performance_impact;
    const calls = OUTCOMES.map((o) => ({ suffix: '', labels: { outcome: o }, value: this.#count(o) }));
    const families: Family[] = [
      family('llm_optimizer_calls_total', 'counter', 'Calls through the engine by outcome (hit, miss, coalesced, bypass, error).', calls),
      plain('llm_optimizer_cache_hits_total', 'counter', 'Lookups served from the cache.', stats.hits),
      plain('llm_optimizer_cache_misses_total', 'counter', 'Lookups that found no fresh entry.', stats.misses),
      plain('llm_optimizer_coalesced_total', 'counter', 'Calls that joined an identical call in flight instead of running the model.', this.#count('coalesced')),
      plain('llm_optimizer_errors_total', 'counter', 'Calls that ended with an error.', this.#count('error')),
      plain('llm_optimizer_cache_evictions_total', 'counter', 'Entries evicted to respect the cache bounds.', stats.evictions),
      plain('llm_optimizer_time_saved_seconds_total', 'counter', 'Model time saved by hits and coalescing (measured exec time).', impact.time_saved_estimate_seconds),
      this.#latency(),
      plain('llm_optimizer_cache_entries', 'gauge', 'Entries in the cache.', stats.size),
      plain('llm_optimizer_cache_bytes', 'gauge', 'Approximate bytes held by the cache.', stats.bytes),
      plain('llm_optimizer_cache_max_entries', 'gauge', 'Bound on cache entries.', stats.maxEntries),
      family('llm_optimizer_anomalies_total', 'counter', 'Anomalies detected by type.',
        [...this.#anomalies.entries()].map(([type, { count }]) => ({ suffix: '', labels: { type }, value: count }))),
      this.#circuits(),
      plain('llm_optimizer_autonomous_runs_total', 'counter', 'Runs of autonomous mode.', this.#ticks),
      family('llm_optimizer_warm_ups_total', 'counter', 'Predictive warm-ups started by model and result (ok, failed).',
        [...this.#warmUps.entries()].flatMap(([model, { ok, failed }]) => [
          { suffix: '', labels: { model, result: 'ok' }, value: ok },
          { suffix: '', labels: { model, result: 'failed' }, value: failed },
        ])),
    ];
    for (const f of modelReach(this.#engine.getCacheStats().cache)) families.push(f);
    for (const f of routingFamilies(this.#engine.getRoutingReport())) families.push(f);
    return families;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    return `${this.collect().filter((f) => f.samples.length > 0 || f.type !== 'gauge').map(renderFamily).join('\n')}\n`;
  }

  /** Adds every family to a prom-client registry, read at each scrape of that registry. */
  register(registry: PrometheusRegistryLike): void {
    if (this.#registered.has(registry)) return;
    this.#registered.add(registry);
    for (const { name, help, type } of [...this.#families(), SCORE]) {
      // prom-client renames counters in OpenMetrics mode (drops `_total`, then adds it per sample):
      // read the name back from the registered object rather than assuming it.
      const metric = {
        name, help, type, aggregator: 'sum',
        reset: () => undefined,
        get: (): Promise<object> => {
          const current = metric.name;
          const found = this.collect().find((f) => f.name === name);
          const values = (found?.samples ?? []).map((s) => (s.suffix === ''
            ? { value: s.value, labels: s.labels }
            : { value: s.value, labels: s.labels, metricName: `${current}${s.suffix}` }));
          return Promise.resolve({ name: current, help, type, aggregator: 'sum', values });
        },
      };
      registry.registerMetric(metric);
    }
  }

  /** Calls by outcome since the engine started (the monitor's counts). */
  #count(outcome: CallOutcome): number {
    return this.#engine.monitor.outcomes[outcome];
  }

  #latency(): Family {
    const samples: Sample[] = [];
    for (const [outcome, h] of this.#histograms) {
      BUCKETS.forEach((le, i) => samples.push({ suffix: '_bucket', labels: { outcome, le: String(le) }, value: h.counts[i] as number }));
      samples.push({ suffix: '_bucket', labels: { outcome, le: '+Inf' }, value: h.count });
      samples.push({ suffix: '_sum', labels: { outcome }, value: h.sum }, { suffix: '_count', labels: { outcome }, value: h.count });
    }
    return family('llm_optimizer_call_duration_seconds', 'histogram', 'Duration of calls through the engine, in seconds, by outcome.', samples);
  }

  /**
   * A 0/1 gauge per state for each of the first 50 models; the circuits beyond them are counted by
   * state under `model="other"` (pooled, never dropped).
   */
  #circuits(): Family {
    const byModel = new Map<string, Record<CircuitState, number>>();
    this.#engine.getCircuitStates().forEach((c, i) => {
      const model = i < MAX_LABEL_VALUES ? c.model : OTHER;
      const counts = byModel.get(model) ?? { closed: 0, 'half-open': 0, open: 0 };
      counts[c.state]++;
      byModel.set(model, counts);
    });
    const samples: Sample[] = [];
    for (const [model, counts] of byModel) {
      for (const state of CIRCUIT_STATES) samples.push({ suffix: '', labels: { model, state }, value: counts[state] });
    }
    return family('llm_optimizer_circuit_state', 'gauge', 'Circuit breaker state per model (1 for the current state; under model="other", how many further circuits are in it).', samples);
  }

  /** The report's score (its anomaly count included); left out if the report cannot be built. */
  #efficiencyScore(): number | undefined {
    try {
      const score = this.#engine.getOptimizationReport().summary.efficiency_score;
      return Number.isFinite(score) ? score : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Left out (no made-up score) when the report cannot be built. */
const SCORE = { name: 'llm_optimizer_efficiency_score', type: 'gauge', help: 'Efficiency score of the optimization report (0-100).' } as const;

function family(name: string, type: MetricType, help: string, samples: Sample[]): Family {
  return { name, help, type, samples };
}

/** Calls that reached the model and the share answered without it (`getCacheStats().cache`, issue 10 item 17). */
function modelReach(cache: ReturnType<OptimizationEngine['getCacheStats']>['cache']): Family[] {
  return [
    plain('llm_optimizer_model_calls_total', 'counter', 'Calls that reached the model (ran exec), once per call however many retries.', cache.model_calls),
    plain('llm_optimizer_store_hits_total', 'counter', 'Calls answered by the shared store after missing in memory.', cache.store_hits),
    plain('llm_optimizer_answered_without_model_ratio', 'gauge', 'Calls answered without the model (hits, coalesced, store hits) over those plus model calls.',
      cache.answered_without_model_percent / 100),
    plain('llm_optimizer_stale_served_total', 'counter', 'Calls answered with an expired entry (grace, soft timeout, stale-if-error).', cache.stale_served),
    family('llm_optimizer_background_refreshes_total', 'counter', 'Background refreshes started, by reason (grace, ahead, soft_timeout).',
      (['grace', 'ahead', 'soft_timeout'] as const).map((reason) => ({ suffix: '', labels: { reason }, value: cache.background_refreshes[reason] }))),
    plain('llm_optimizer_refresh_failures_total', 'counter', 'Background refreshes that failed (the old entry stayed until its grace ended).', cache.refresh_failures),
  ];
}

/** Per route (a configured, bounded set) and tier: calls, errors, escalations, latency quantiles, tokens. */
function routingFamilies(routes: Record<string, RouteReport>): Family[] {
  const calls: Sample[] = [];
  const errors: Sample[] = [];
  const latency: Sample[] = [];
  const tokens: Sample[] = [];
  const escalations: Sample[] = [];
  const shares: Sample[] = [];
  const degraded: Sample[] = [];
  for (const [route, r] of Object.entries(routes)) {
    for (const [tier, t] of Object.entries(r.tiers)) {
      calls.push({ suffix: '', labels: { route, tier }, value: t.calls });
      errors.push({ suffix: '', labels: { route, tier }, value: t.errors });
      for (const [quantile, ms] of [['0.5', t.latency_ms_p50], ['0.95', t.latency_ms_p95]] as const) {
        if (ms !== null) latency.push({ suffix: '', labels: { route, tier, quantile }, value: ms / 1000 });
      }
      tokens.push({ suffix: '', labels: { route, tier, kind: 'prompt' }, value: t.prompt_tokens }, { suffix: '', labels: { route, tier, kind: 'output' }, value: t.output_tokens });
    }
    for (const [reason, n] of Object.entries(r.escalations)) escalations.push({ suffix: '', labels: { route, reason }, value: n });
    shares.push({ suffix: '', labels: { route }, value: r.large_share_percent / 100 });
    degraded.push({ suffix: '', labels: { route }, value: r.degraded });
  }
  return [
    family('llm_optimizer_route_tier_calls_total', 'counter', 'Runs of each tier of a routed logical model.', calls),
    family('llm_optimizer_route_tier_errors_total', 'counter', 'Runs of each tier that failed.', errors),
    family('llm_optimizer_route_tier_latency_seconds', 'gauge', 'Latency quantiles of each tier over its last 512 runs, in seconds.', latency),
    family('llm_optimizer_route_tier_tokens_total', 'counter', 'Tokens reported by each tier, by kind (prompt, output).', tokens),
    family('llm_optimizer_route_escalations_total', 'counter', 'Cascade calls escalated to the large tier, by reason.', escalations),
    family('llm_optimizer_route_large_share', 'gauge', 'Share of routed calls answered by the large tier (0-1).', shares),
    family('llm_optimizer_route_degraded_total', 'counter', 'Routed calls answered by the other tier because one was down.', degraded),
  ];
}

function plain(name: string, type: MetricType, help: string, value: number): Family {
  return family(name, type, help, [{ suffix: '', labels: {}, value }]);
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) lines.push(`${f.name}${s.suffix}${renderLabels(s.labels)} ${renderValue(s.value)}`);
  return lines.join('\n');
}

function renderLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function renderValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const collectors = new WeakMap<OptimizationEngine, EngineMetrics>();

/** The one metrics collector of an engine (created on first use, so several handlers share its event listeners). */
export function engineMetrics(engine: OptimizationEngine): EngineMetrics {
  let metrics = collectors.get(engine);
  if (metrics === undefined) {
    metrics = new EngineMetrics(engine);
    collectors.set(engine, metrics);
  }
  return metrics;
}
