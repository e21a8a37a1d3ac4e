import type { CacheStats } from '../cache/stats.js';
import { RingBuffer } from '../internal/ring-buffer.js';
import { mean } from '../internal/summary.js';
import { describe, nonNegativeNumber, plainObject } from '../internal/validate.js';
import type { CallOutcome, TokenUsage } from '../types.js';
import { AnomalyTracker } from './anomaly-tracker.js';
import { CallHistory, errorRates, loadEvidence, OUTCOMES, outcomeCode, RequestBuckets } from './call-history.js';
import { resolveMonitorOptions, type PerformanceMonitorOptions, type ResolvedMonitorOptions } from './monitor-options.js';
import { ProcessSampler } from './process-sampler.js';
import { recommend } from './recommendations.js';
import { MissingSystemInformation, systeminformationReader } from './system-sampler.js';
import { computeTrends, METRICS } from './trends.js';
import type { Anomaly, MetricName, Recommendation, Trends } from './types.js';

/** One call as the engine records it. */
export interface CallSample {
  model: string;
  scope: string;
  outcome: CallOutcome;
  durationMs: number;
  timestampMs: number;
  usage?: TokenUsage | undefined;
  /** Other model calls running or queued when this one ended. */
  inFlight?: number | undefined;
}

/** One sample given to `recordMetric` (e.g. by a service that measures its own calls). */
export interface MetricSample {
  /** Latency of one response, in ms. */
  responseTimeMs: number;
  /** Memory in use, in bytes. */
  memoryBytes?: number;
  /** CPU in use, in percent. */
  cpuPercent?: number;
  /** Requests since the previous sample. */
  requests?: number;
  /** When it was measured. @default the monitor's clock */
  timestampMs?: number;
}

/** Counts of calls by outcome. */
export type OutcomeCounts = Record<CallOutcome, number>;

/** What the monitor knows about the engine around it (cache statistics, concurrency limit). */
export interface MonitorContext {
  cache?: CacheStats;
  concurrencyLimit?: number;
  /** Recommendations from outside the monitor (the engine's capacity plan from its warm-up forecast), given the mean model latency. */
  extra?: (meanServiceMs: number) => Recommendation[];
}


const MISS_CODE = outcomeCode('miss');
const BYPASS_CODE = outcomeCode('bypass');

const contexts = new WeakMap<PerformanceMonitor, () => MonitorContext>();

/** @internal Lets the engine tell its monitor about its cache and throttle (for recommendations). */
export function linkMonitorContext(monitor: PerformanceMonitor, provider: () => MonitorContext): void {
  contexts.set(monitor, provider);
}

/**
 * Records calls and metrics in bounded histories, samples the process (and optionally the system),
 * finds anomalies with one streaming detector per metric, and turns what it sees into trends and
 * recommendations. Usable alone; `OptimizationEngine` owns one as `engine.monitor`.
 *
 * @example
 * ```ts
 * const monitor = new PerformanceMonitor({ thresholds: { responseTimeMs: 30_000 } });
 * monitor.recordMetric({ responseTimeMs: 812, requests: 3 });
 * monitor.detectAnomalies(); // [{ type: 'slow_response', severity, message, value, baseline, timestamp, … }]
 * monitor.getTrends().responseTimeMs; // { status: 'stable', recent_mean, baseline_mean, … }
 * monitor.close();
 * ```
 */
export class PerformanceMonitor {
  readonly #options: ResolvedMonitorOptions;
  readonly #rings = {} as Record<MetricName, RingBuffer>;
  readonly #ringMap = new Map<MetricName, RingBuffer>();
  readonly #calls: CallHistory;
  /** Calls by outcome code (see `outcomeCode`). */
  readonly #counts = new Float64Array(OUTCOMES.length);
  readonly #tracker: AnomalyTracker;
  readonly #process = new ProcessSampler();
  readonly #timers: NodeJS.Timeout[] = [];
  #systemTimer: NodeJS.Timeout | undefined;
  #systemStopped = false;
  readonly #buckets: RequestBuckets;
  #errorsCheckedAt = -1;
  #readSystem: (() => Promise<{ cpuPercent: number; memoryPercent: number }>) | undefined;

  constructor(options: PerformanceMonitorOptions = {}) {
    this.#options = resolveMonitorOptions(options);
    for (const metric of METRICS) {
      this.#rings[metric] = new RingBuffer(this.#options.historySize);
      this.#ringMap.set(metric, this.#rings[metric]);
    }
    this.#calls = new CallHistory(this.#options.historySize);
    this.#buckets = new RequestBuckets(this.#rings.requests, this.#options.requestWindowMs);
    this.#tracker = new AnomalyTracker(this.#options);
    this.#startTimers();
  }

  /** Records one engine call: a few ring writes, no allocation, no clock read. */
  recordCall(sample: CallSample): void {
    const t = sample.timestampMs;
    const code = outcomeCode(sample.outcome);
    (this.#counts[code] as number)++;
    this.#calls.push(code, t);
    const buckets = this.#buckets;
    if (!(t < buckets.end)) buckets.roll(t);
    buckets.count++;
    if (code === MISS_CODE || code === BYPASS_CODE) this.#recordModelCall(sample, t);
  }

  /** Records a measured sample; the anomaly scan runs at once. Values must be finite and non-negative. */
  recordMetric(sample: MetricSample): void {
    const record = plainObject('sample', sample);
    if (record === undefined || record.responseTimeMs === undefined) {
      throw new TypeError(`\`sample.responseTimeMs\` is required, received ${describe(record?.responseTimeMs)}`);
    }
    // Validate everything before recording anything: a bad field must not leave half a sample behind.
    const t = nonNegativeNumber('timestampMs', sample.timestampMs, this.#options.clock.now());
    const latency = nonNegativeNumber('responseTimeMs', sample.responseTimeMs, 0);
    const memory = nonNegativeNumber('memoryBytes', sample.memoryBytes, Number.NaN);
    const cpu = nonNegativeNumber('cpuPercent', sample.cpuPercent, Number.NaN);
    const requests = nonNegativeNumber('requests', sample.requests, Number.NaN);
    this.#pushLatency(latency, Number.NaN, t);
    if (!Number.isNaN(memory)) this.#rings.memoryBytes.push(memory, t);
    if (!Number.isNaN(cpu)) this.#rings.cpuPercent.push(cpu, t);
    if (!Number.isNaN(requests)) this.#rings.requests.push(requests, t);
    this.#scan(t);
  }

  /** Reads the process's heap, RSS and CPU into their metrics and scans for anomalies (the timer calls this). */
  sample(): void {
    const now = this.#options.clock.now();
    try {
      const reading = this.#process.read(now);
      this.#rings.memoryBytes.push(reading.heapUsed, now);
      this.#rings.rssBytes.push(reading.rss, now);
      if (Number.isFinite(reading.cpuPercent)) this.#rings.cpuPercent.push(reading.cpuPercent, now);
      this.#scan(now);
    } catch (error) {
      this.#options.logger.warn('The monitor could not sample the process', error);
    }
  }

  /** Reads system CPU and memory (system sampler; `systeminformation` by default) and scans. Never rejects. */
  async sampleSystem(): Promise<void> {
    const sampler = this.#options.systemSampler;
    if (sampler === false || this.#systemStopped) return;
    this.#readSystem ??= sampler.read ?? systeminformationReader();
    try {
      const reading = await this.#readSystem();
      const now = this.#options.clock.now();
      if (Number.isFinite(reading.cpuPercent)) this.#rings.systemCpuPercent.push(reading.cpuPercent, now);
      if (Number.isFinite(reading.memoryPercent)) this.#rings.systemMemoryPercent.push(reading.memoryPercent, now);
      this.#scan(now);
    } catch (error) {
      if (error instanceof MissingSystemInformation) {
        this.#stopSystemSampler();
        this.#options.logger.warn(error.message, error.cause);
      } else {
        this.#options.logger.warn('The system sampler failed', error);
      }
    }
  }

  /** Recent anomalies (within `anomalyWindowMs`), one per type and metric, newest first. */
  detectAnomalies(): Anomaly[] {
    const now = this.#options.clock.now();
    this.#scan(now);
    return this.#tracker.recent(now);
  }

  /** Per metric: recent samples against the older ones, with the numbers behind the verdict. */
  getTrends(): Trends {
    return computeTrends((metric) => this.#rings[metric].values(), this.#calls, this.#options.trendWindow);
  }

  /** Actionable items with evidence: miss causes, cold loads, load against concurrency, anomalies. */
  getRecommendations(context: MonitorContext = contexts.get(this)?.() ?? {}): Recommendation[] {
    const loads = this.#rings.loadMs.values();
    const cold = loads.filter((ms) => ms >= this.#options.coldLoadMs);
    const latency = this.#rings.responseTimeMs.values();
    const extra = context.extra?.(latency.length === 0 ? 0 : mean(latency)) ?? [];
    return [...recommend({
      cache: context.cache,
      concurrencyLimit: context.concurrencyLimit,
      modelCalls: loads.length,
      coldLoads: cold.length,
      coldLoadMeanMs: cold.length === 0 ? 0 : mean(cold),
      load: loadEvidence(this.#rings.responseTimeMs, this.#rings.inFlight),
      trends: this.getTrends(),
      anomalies: this.detectAnomalies(),
    }), ...extra];
  }

  /**
   * The values held for a metric, oldest first; `sinceMs` keeps those recorded at or after it,
   * `afterMs` those recorded strictly after it.
   */
  getHistory(metric: MetricName, options: { sinceMs?: number; afterMs?: number } = {}): number[] {
    const ring = this.#ringMap.get(metric);
    if (ring === undefined) throw new TypeError(`Unknown metric ${describe(metric)}; known metrics: ${METRICS.join(', ')}`);
    if (options.afterMs !== undefined) return ring.values(ring.seqSince(options.afterMs, true));
    return ring.values(options.sinceMs === undefined ? 0 : ring.seqSince(options.sinceMs));
  }

  /** Calls recorded, by outcome, since the monitor was created. */
  get outcomes(): Readonly<OutcomeCounts> {
    const out = {} as OutcomeCounts;
    OUTCOMES.forEach((outcome, code) => (out[outcome] = this.#counts[code] as number));
    return out;
  }

  /** The monitor's clock reading. */
  get now(): number {
    return this.#options.clock.now();
  }

  /** Stops the samplers' timers. Idempotent; recording still works afterwards. */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    clearInterval(this.#systemTimer);
  }

  #recordModelCall(sample: CallSample, t: number): void {
    const usage = sample.usage;
    const loadMs = usage?.loadMs;
    const latency = Math.max(0, sample.durationMs - (loadMs ?? 0));
    this.#pushLatency(latency, sample.inFlight ?? Number.NaN, t);
    if (usage === undefined) return;
    if (loadMs !== undefined) this.#rings.loadMs.push(loadMs, t);
    const tokens = usage.outputTokens;
    if (tokens !== undefined && tokens > 0) {
      this.#rings.msPerToken.push(latency / tokens, t);
      const genMs = usage.generationMs;
      if (genMs !== undefined && genMs > 0) this.#rings.tokensPerSecond.push((tokens * 1000) / genMs, t);
    }
  }

  /** Latency and in-flight count are pushed together so that they stay aligned for `loadEvidence`. */
  #pushLatency(latency: number, inFlight: number, t: number): void {
    this.#rings.responseTimeMs.push(latency, t);
    this.#rings.inFlight.push(inFlight, t);
  }

  #scan(now: number): void {
    this.#buckets.roll(now);
    const mute = new Set<MetricName>(this.#rings.msPerToken.seq > 0 ? ['responseTimeMs'] : []);
    this.#tracker.scan(this.#ringMap, mute);
    this.#checkErrors();
  }

  #checkErrors(): void {
    const ring = this.#calls.ring;
    if (ring.seq === this.#errorsCheckedAt) return;
    this.#errorsCheckedAt = ring.seq;
    const rates = errorRates(this.#calls.errorSeries(), this.#options.errorWindow);
    const limit = this.#options.thresholds.errorRate ?? 0.2;
    if (rates === undefined || rates.recent < limit) return;
    this.#tracker.raise({
      type: 'error_rate', metric: 'errorRate', source: 'threshold', value: rates.recent, baseline: rates.baseline,
      timestamp: ring.timeAt(ring.seq - 1), count: 1,
      severity: rates.recent >= 0.5 ? 'high' : rates.recent >= 2 * limit ? 'medium' : 'low',
      message: `${Math.round(rates.recent * 100)} % of the last ${rates.calls} model calls failed (before: ${Math.round(rates.baseline * 100)} %)`,
    });
  }

  /** Without `systeminformation` the default reader can never succeed: say so once, then stop trying. */
  #stopSystemSampler(): void {
    this.#systemStopped = true;
    clearInterval(this.#systemTimer);
  }

  #startTimers(): void {
    const { sampleIntervalMs, systemSampler } = this.#options;
    if (sampleIntervalMs !== false) this.#timers.push(setInterval(() => this.sample(), sampleIntervalMs).unref());
    if (systemSampler !== false) {
      this.#systemTimer = setInterval(() => void this.sampleSystem(), systemSampler.intervalMs).unref();
    }
  }
}

export type { PerformanceMonitorOptions } from './monitor-options.js';
