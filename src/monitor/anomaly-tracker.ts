import type { RingBuffer } from '../internal/ring-buffer.js';
import { round } from '../internal/summary.js';
import type { AnomalyDetector, AnomalyMetricKind } from './anomaly-detector.js';
import { createAnomalyDetector } from './anomaly-detector.js';
import type { ResolvedMonitorOptions } from './monitor-options.js';
import type { Anomaly, AnomalySeverity, AnomalyType, MetricName } from './types.js';

/** A series watched for anomalies: a streaming detector and/or a fixed threshold, upward moves only. */
interface Watch {
  readonly metric: MetricName;
  readonly type: AnomalyType;
  readonly detector: AnomalyDetector | undefined;
  readonly threshold: number | undefined;
  /** Next sequence number of the ring to judge. */
  next: number;
  /** Running mean of the values judged so far (window `historySize`): the baseline. */
  mean: number;
  seen: number;
}

const WATCHED: ReadonlyArray<[MetricName, AnomalyType, AnomalyMetricKind | undefined]> = [
  ['responseTimeMs', 'slow_response', 'latency'],
  ['msPerToken', 'slow_response', 'latency'],
  ['memoryBytes', 'high_memory', 'memory'],
  ['cpuPercent', 'high_cpu', 'cpu'],
  ['requests', 'volume_spike', 'requests'],
  ['systemCpuPercent', 'high_cpu', undefined],
  ['systemMemoryPercent', 'high_memory', undefined],
];

const UNITS: Partial<Record<MetricName, string>> = {
  responseTimeMs: 'ms', msPerToken: 'ms per output token', memoryBytes: 'bytes of heap', cpuPercent: '% CPU (process)',
  requests: 'calls per window', systemCpuPercent: '% system CPU', systemMemoryPercent: '% system memory',
};

function severityOf(value: number, baseline: number, thresholdHit: boolean): AnomalySeverity {
  const ratio = baseline > 0 ? value / baseline : Infinity;
  if (ratio >= 3) return 'high';
  return ratio >= 1.5 || thresholdHit ? 'medium' : 'low';
}

const RANK: Record<AnomalySeverity, number> = { low: 0, medium: 1, high: 2 };

/**
 * Feeds the monitor's rings to one detector per metric, catching up on the points pushed since the
 * last scan (so recording stays a ring write), checks the fixed thresholds, and keeps the anomalies
 * deduplicated per type and metric: a recurrence within `anomalyWindowMs` updates the existing one.
 */
export class AnomalyTracker {
  readonly #options: ResolvedMonitorOptions;
  readonly #watches: Watch[];
  readonly #active = new Map<string, Anomaly>();

  constructor(options: ResolvedMonitorOptions) {
    this.#options = options;
    const t = options.thresholds;
    this.#watches = WATCHED.map(([metric, type, kind]) => ({
      metric, type,
      detector: kind === undefined ? undefined : createAnomalyDetector({ ...options.detector, metric: kind }),
      threshold: (t as Partial<Record<MetricName, number>>)[metric],
      next: 0, mean: 0, seen: 0,
    }));
  }

  /** Judges every point pushed since the last scan. `skip` names metrics whose detector stays silent (still learning). */
  scan(rings: ReadonlyMap<MetricName, RingBuffer>, mute: ReadonlySet<MetricName>): void {
    for (const watch of this.#watches) {
      const ring = rings.get(watch.metric);
      if (ring === undefined) continue;
      for (let s = Math.max(watch.next, ring.firstSeq); s < ring.seq; s++) this.#judge(watch, ring.valueAt(s), ring.timeAt(s), mute);
      watch.next = ring.seq;
    }
  }

  #judge(watch: Watch, value: number, timestamp: number, mute: ReadonlySet<MetricName>): void {
    const baseline = watch.seen === 0 ? value : watch.mean;
    const flagged = watch.detector?.observe(value, timestamp).isAnomaly === true && !mute.has(watch.metric);
    const overThreshold = watch.threshold !== undefined && value > watch.threshold;
    watch.seen++;
    watch.mean += (value - watch.mean) / Math.min(watch.seen, this.#options.historySize);
    if (!(overThreshold || (flagged && value > baseline))) return;
    const unit = UNITS[watch.metric] ?? '';
    const why = overThreshold && !(flagged && value > baseline)
      ? `is above the configured limit of ${watch.threshold}`
      : `is far above the usual ${round(baseline)}`;
    this.raise({
      type: watch.type, metric: watch.metric, value, baseline: round(baseline), timestamp,
      severity: severityOf(value, baseline, overThreshold),
      source: overThreshold ? 'threshold' : 'detector',
      message: `${watch.metric} ${round(value)} ${unit} ${why}`.replace(/ {2,}/g, ' '),
      count: 1,
    });
  }

  /** Records an anomaly, or refreshes the one of the same type and metric still within the window. */
  raise(anomaly: Anomaly): void {
    const key = `${anomaly.type}:${anomaly.metric}`;
    const existing = this.#active.get(key);
    if (existing !== undefined && anomaly.timestamp - existing.timestamp <= this.#options.anomalyWindowMs) {
      existing.count++;
      existing.value = anomaly.value;
      existing.timestamp = Math.max(existing.timestamp, anomaly.timestamp);
      if (RANK[anomaly.severity] > RANK[existing.severity]) existing.severity = anomaly.severity;
      existing.message = anomaly.message;
      return;
    }
    this.#active.set(key, anomaly);
    this.#notify(anomaly);
  }

  /** Anomalies seen within `anomalyWindowMs` of `now`, newest first (copies). */
  recent(now: number): Anomaly[] {
    const out: Anomaly[] = [];
    for (const [key, a] of this.#active) {
      // Seen "later" than now: the clock was set back. Count the window from now, not from the future.
      if (a.timestamp > now) a.timestamp = now;
      if (now - a.timestamp > this.#options.anomalyWindowMs) this.#active.delete(key);
      else out.push({ ...a });
    }
    return out.sort((a, b) => b.timestamp - a.timestamp);
  }

  #notify(anomaly: Anomaly): void {
    const { onAnomaly, logger } = this.#options;
    if (onAnomaly === undefined) return;
    const report = (error: unknown): void => logger.warn('The monitor\'s `onAnomaly` callback failed', error);
    try {
      // An async callback's rejection is reported too: it must never become an unhandled rejection.
      const result: unknown = onAnomaly({ ...anomaly });
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }

  reset(): void {
    this.#active.clear();
    for (const w of this.#watches) {
      w.detector?.reset();
      w.next = 0;
      w.mean = 0;
      w.seen = 0;
    }
  }
}
