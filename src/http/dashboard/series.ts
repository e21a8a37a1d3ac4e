import type { OptimizationEngine } from '../../engine.js';
import type { EngineEvents } from '../../events.js';
import { BoundedLabels } from '../../internal/bounded-labels.js';
import type { CallOutcome } from '../../types.js';

/** Width of one point of the dashboard's charts: one minute. */
export const BUCKET_MS = 60_000;
/** Points kept: the last hour. */
const MAX_BUCKETS = 60;
/** Models charted one by one; further ones are pooled as `(other)`. */
const MAX_MODELS = 12;
/** Anomalies and optimization events kept for the markers and the timeline. */
const MAX_MARKS = 100;
/** Latency histogram bins: 4 per doubling (±9 % around the bin's centre), from 0.1 ms. */
const BINS_PER_DOUBLING = 4;
const FIRST_BIN_MS = 0.1;

/** Model calls (misses and bypasses) of one model in one minute. */
interface ModelBucket {
  readonly bins: Map<number, number>;
  calls: number;
  outputTokens: number;
  generationMs: number;
}

interface Bucket {
  readonly start: number;
  readonly calls: Record<CallOutcome, number>;
  readonly models: BoundedLabels<ModelBucket>;
}

/** One minute of the dashboard's series (wire format). */
export interface SeriesPoint {
  /** Start of the minute, ms since the epoch by the engine's clock. */
  t: number;
  calls: Record<CallOutcome, number>;
  /** Per model, over its calls that ran the model: latency quantiles (ms) and generated tokens per second (null when unknown). */
  models: Record<string, { calls: number; p50_ms: number; p95_ms: number; tokens_per_second: number | null }>;
}

export interface Mark {
  t: number;
  kind: string;
  label: string;
  detail?: string;
}

/**
 * What the dashboard charts over time, built from the engine's events: calls per minute by
 * outcome, per-model latency quantiles (a log histogram per minute, so memory is bounded whatever
 * the traffic) and tokens per second, and the anomalies and optimizer changes to mark on them.
 * Counts only: no key, prompt, scope or value is kept.
 */
export class DashboardSeries {
  readonly #buckets: Bucket[] = [];
  readonly #anomalies: Mark[] = [];
  readonly #optimizations: Mark[] = [];

  constructor(engine: OptimizationEngine) {
    engine.on('call-end', (event) => this.#record(event));
    engine.on('anomaly-detect', (a) => push(this.#anomalies, { t: a.timestamp, kind: a.metric, label: a.type, detail: a.severity }));
    engine.on('optimization-apply', (o) => push(this.#optimizations, { t: o.timestamp, kind: 'applied', label: o.type, detail: o.action }));
    engine.on('optimization-revert', (o) => push(this.#optimizations, { t: o.timestamp, kind: 'reverted', label: o.type, detail: o.action }));
  }

  /** The minutes with calls, oldest first. */
  points(): SeriesPoint[] {
    return this.#buckets.map((b) => ({
      t: b.start,
      calls: { ...b.calls },
      models: b.models.toRecord((m) => ({
        calls: m.calls,
        p50_ms: quantileOf(m.bins, m.calls, 0.5),
        p95_ms: quantileOf(m.bins, m.calls, 0.95),
        tokens_per_second: m.generationMs > 0 ? round(m.outputTokens * 1000 / m.generationMs) : null,
      })),
    }));
  }

  anomalies(): Mark[] {
    return this.#anomalies.map((m) => ({ ...m }));
  }

  optimizations(): Mark[] {
    return this.#optimizations.map((m) => ({ ...m }));
  }

  #record({ outcome, durationMs, timestamp, model, usage }: EngineEvents['call-end']): void {
    const bucket = this.#bucketAt(timestamp);
    bucket.calls[outcome]++;
    if (outcome !== 'miss' && outcome !== 'bypass') return;
    const m = bucket.models.get(model);
    m.calls++;
    const bin = binOf(Math.max(0, durationMs));
    m.bins.set(bin, (m.bins.get(bin) ?? 0) + 1);
    const tokens = usage?.outputTokens;
    if (tokens !== undefined && tokens > 0) {
      m.outputTokens += tokens;
      // Without the model's own generation time, the call's duration stands in for it.
      m.generationMs += usage?.generationMs !== undefined && usage.generationMs > 0 ? usage.generationMs : Math.max(1, durationMs);
    }
  }

  #bucketAt(timestamp: number): Bucket {
    const start = Math.floor(timestamp / BUCKET_MS) * BUCKET_MS;
    const last = this.#buckets.at(-1);
    // A clock set back lands in the latest minute: points stay in order.
    if (last !== undefined && start <= last.start) return last;
    const bucket: Bucket = {
      start,
      calls: { hit: 0, coalesced: 0, miss: 0, bypass: 0, error: 0 },
      models: new BoundedLabels<ModelBucket>(MAX_MODELS, () => ({ bins: new Map(), calls: 0, outputTokens: 0, generationMs: 0 })),
    };
    this.#buckets.push(bucket);
    if (this.#buckets.length > MAX_BUCKETS) this.#buckets.shift();
    return bucket;
  }
}

function push(list: Mark[], mark: Mark): void {
  list.push(mark);
  if (list.length > MAX_MARKS) list.shift();
}

/** The bin of a duration: 0 below 0.1 ms, then 4 per doubling. */
export function binOf(ms: number): number {
  if (!(ms > FIRST_BIN_MS)) return 0;
  return 1 + Math.floor(Math.log2(ms / FIRST_BIN_MS) * BINS_PER_DOUBLING);
}

/** The geometric centre of a bin, in ms. */
export function binValue(bin: number): number {
  if (bin <= 0) return FIRST_BIN_MS / 2;
  return FIRST_BIN_MS * 2 ** ((bin - 0.5) / BINS_PER_DOUBLING);
}

/** The `q` quantile of a histogram holding `count` values (nearest rank), at its bin's centre. */
export function quantileOf(bins: ReadonlyMap<number, number>, count: number, q: number): number {
  if (count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (const bin of [...bins.keys()].sort((a, b) => a - b)) {
    seen += bins.get(bin) as number;
    if (seen >= rank) return round(binValue(bin));
  }
  return 0;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const collectors = new WeakMap<OptimizationEngine, DashboardSeries>();

/** The one series collector of an engine, created with its first handler (so several handlers share it). */
export function dashboardSeries(engine: OptimizationEngine): DashboardSeries {
  let series = collectors.get(engine);
  if (series === undefined) {
    series = new DashboardSeries(engine);
    collectors.set(engine, series);
  }
  return series;
}
