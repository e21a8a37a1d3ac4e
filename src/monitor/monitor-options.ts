import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { loggerOption, silentLogger, type Logger } from '../logger.js';
import { clockOption, describe, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { AnomalyDetectorOptions } from './anomaly-detector.js';
import { createAnomalyDetector } from './anomaly-detector.js';
import type { Anomaly } from './types.js';

/** One reading of the system sampler. */
export interface SystemReading {
  /** System CPU load, in percent. */
  cpuPercent: number;
  /** System memory in use, in percent. */
  memoryPercent: number;
}

/** Options of the optional system sampler. */
export interface SystemSamplerOptions {
  /** Time between readings. @default 30_000 */
  intervalMs?: number;
  /**
   * Reads the system. @default `systeminformation`'s `currentLoad()` and `mem()`, loaded by dynamic
   * import on the first reading (install `systeminformation` to use the default).
   */
  read?: () => Promise<SystemReading>;
}

/** Fixed limits that raise an anomaly whatever the detector thinks (each optional). */
export interface AnomalyThresholds {
  /** `slow_response` when a model call takes longer (cold load excluded). @default none */
  responseTimeMs?: number;
  /** `slow_response` when a call's latency per output token is higher. @default none */
  msPerToken?: number;
  /** `high_memory` when the process heap is larger. @default none */
  memoryBytes?: number;
  /** `high_cpu` when process CPU is higher. @default none */
  cpuPercent?: number;
  /** `high_cpu` when system CPU load is higher (system sampler). @default 90 */
  systemCpuPercent?: number;
  /** `high_memory` when system memory use is higher (system sampler). @default 90 */
  systemMemoryPercent?: number;
  /** `error_rate` when at least this share (0–1) of the last `errorWindow` model calls failed. @default 0.2 */
  errorRate?: number;
}

/** Options of {@link PerformanceMonitor}. */
export interface PerformanceMonitorOptions {
  /** Samples kept per metric (and calls kept in the call history). @default 1000 */
  historySize?: number;
  /** Source of time in ms. @default a monotonic `Date.now()` */
  clock?: Clock;
  /**
   * Options of the streaming detector, one per metric (see `createAnomalyDetector`). For
   * `method: 'seed-3sigma'` each detector gets its metric kind (latency, memory, cpu, requests).
   * @default {} (the NAB-tuned `'rare-change'` method)
   */
  detector?: Omit<AnomalyDetectorOptions, 'metric'>;
  /** Fixed limits raising anomalies besides the detector. @default { errorRate: 0.2, systemCpuPercent: 90, systemMemoryPercent: 90 } */
  thresholds?: AnomalyThresholds;
  /** How long an anomaly stays in `detectAnomalies()` after it was last seen; also the dedup window. @default 600_000 */
  anomalyWindowMs?: number;
  /** Width of the buckets that count calls for the `requests` metric. @default 60_000 */
  requestWindowMs?: number;
  /** Recent samples compared with the older ones by `getTrends()`. @default 100 */
  trendWindow?: number;
  /** Model calls looked at for the `error_rate` anomaly (and fewer than 10 never raise it). @default 50 */
  errorWindow?: number;
  /** A model call whose reported `loadMs` is at least this long counts as a cold load. @default 1000 */
  coldLoadMs?: number;
  /** Interval of process sampling (heap, RSS, CPU) and anomaly scans; `false`: only when `sample()` is called. @default 10_000 */
  sampleIntervalMs?: number | false;
  /** Reads system CPU and memory on an interval. @default false */
  systemSampler?: SystemSamplerOptions | false;
  /** Called once for each new anomaly (the engine emits `anomaly-detect`). A throw is logged, never raised. */
  onAnomaly?: (anomaly: Anomaly) => unknown;
  /** Receives warnings (a failing sampler or `onAnomaly`). @default silent */
  logger?: Logger;
}

export interface ResolvedMonitorOptions {
  readonly historySize: number;
  readonly clock: Clock;
  readonly detector: Omit<AnomalyDetectorOptions, 'metric'>;
  readonly thresholds: Readonly<AnomalyThresholds>;
  readonly anomalyWindowMs: number;
  readonly requestWindowMs: number;
  readonly trendWindow: number;
  readonly errorWindow: number;
  readonly coldLoadMs: number;
  readonly sampleIntervalMs: number | false;
  readonly systemSampler: Readonly<{ intervalMs: number; read: (() => Promise<SystemReading>) | undefined }> | false;
  readonly onAnomaly: ((anomaly: Anomaly) => unknown) | undefined;
  readonly logger: Logger;
}

const KEYS = [
  'historySize', 'clock', 'detector', 'thresholds', 'anomalyWindowMs', 'requestWindowMs', 'trendWindow',
  'errorWindow', 'coldLoadMs', 'sampleIntervalMs', 'systemSampler', 'onAnomaly', 'logger',
] as const;
const THRESHOLD_KEYS = ['responseTimeMs', 'msPerToken', 'memoryBytes', 'cpuPercent', 'systemCpuPercent', 'systemMemoryPercent', 'errorRate'] as const;

function resolveThresholds(value: unknown): AnomalyThresholds {
  const record = plainObject('thresholds', value) ?? {};
  knownKeys('thresholds', record, THRESHOLD_KEYS);
  const out: AnomalyThresholds = { errorRate: 0.2, systemCpuPercent: 90, systemMemoryPercent: 90 };
  for (const key of THRESHOLD_KEYS) {
    if (record[key] !== undefined) out[key] = positiveNumber(`thresholds.${key}`, record[key], 0);
  }
  return Object.freeze(out);
}

function resolveSystemSampler(value: unknown): ResolvedMonitorOptions['systemSampler'] {
  if (value === undefined || value === false) return false;
  const record = plainObject('systemSampler', value) ?? {};
  knownKeys('systemSampler', record, ['intervalMs', 'read']);
  const read = record.read;
  if (read !== undefined && typeof read !== 'function') {
    throw new TypeError(`\`systemSampler.read\` must be a function, received ${describe(read)}`);
  }
  return Object.freeze({
    intervalMs: positiveNumber('systemSampler.intervalMs', record.intervalMs, 30_000),
    read: read as (() => Promise<SystemReading>) | undefined,
  });
}

function resolveFunction<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`\`${name}\` must be a function, received ${describe(value)}`);
  return value as F | undefined;
}

export function resolveMonitorOptions(options: PerformanceMonitorOptions): ResolvedMonitorOptions {
  knownKeys('monitor', plainObject('monitor', options), KEYS);
  const detector = { ...(plainObject('detector', options.detector) as Omit<AnomalyDetectorOptions, 'metric'> | undefined) };
  createAnomalyDetector(detector); // validates once, with the detector's own error messages
  const interval = options.sampleIntervalMs;
  const logger = loggerOption('logger', options.logger);
  return Object.freeze({
    historySize: positiveInteger('historySize', options.historySize, 1000),
    clock: clockOption('clock', options.clock) ?? systemClock,
    detector: Object.freeze(detector),
    thresholds: resolveThresholds(options.thresholds),
    anomalyWindowMs: positiveNumber('anomalyWindowMs', options.anomalyWindowMs, 600_000),
    requestWindowMs: positiveNumber('requestWindowMs', options.requestWindowMs, 60_000),
    trendWindow: positiveInteger('trendWindow', options.trendWindow, 100),
    errorWindow: positiveInteger('errorWindow', options.errorWindow, 50),
    coldLoadMs: positiveNumber('coldLoadMs', options.coldLoadMs, 1000),
    sampleIntervalMs: interval === false ? false : positiveNumber('sampleIntervalMs', interval, 10_000),
    systemSampler: resolveSystemSampler(options.systemSampler),
    onAnomaly: resolveFunction<(anomaly: Anomaly) => unknown>('onAnomaly', options.onAnomaly),
    logger: logger ?? silentLogger,
  });
}
