/** Shapes the monitor reports. They are also fragments of the wire-format report, hence snake_case keys. */

/** A series the monitor keeps (`historySize` samples each). */
export type MetricName =
  /** Model-call latency in ms, cold-load time excluded; also `recordMetric({ responseTimeMs })`. */
  | 'responseTimeMs'
  /** Model-call latency per generated token (ms), when the adapter reports `outputTokens`. */
  | 'msPerToken'
  /** Generation speed, from `outputTokens` and `generationMs`. */
  | 'tokensPerSecond'
  /** Time the model spent loading before a call (a cold load), in ms; only calls that loaded. */
  | 'loadMs'
  /** Process heap in use (`process.memoryUsage().heapUsed`), or `recordMetric({ memoryBytes })`. */
  | 'memoryBytes'
  /** Process resident set size. */
  | 'rssBytes'
  /** Process CPU in percent of one core over the sampling interval, or `recordMetric({ cpuPercent })`. */
  | 'cpuPercent'
  /** Calls per `requestWindowMs` (the engine's calls), or `recordMetric({ requests })`. */
  | 'requests'
  /** Other model calls in flight (running or queued) when a model call ended. */
  | 'inFlight'
  /** System CPU load in percent (system sampler). */
  | 'systemCpuPercent'
  /** System memory in use, in percent (system sampler). */
  | 'systemMemoryPercent';

/** The kinds of anomaly the monitor reports. */
export type AnomalyType = 'slow_response' | 'high_memory' | 'high_cpu' | 'volume_spike' | 'error_rate';

export type AnomalySeverity = 'low' | 'medium' | 'high';

/** One anomaly, deduplicated per type and metric while it recurs within `anomalyWindowMs`. */
export interface Anomaly {
  type: AnomalyType;
  severity: AnomalySeverity;
  message: string;
  /** The value that was judged anomalous (the latest one when it recurred). */
  value: number;
  /** What is usual for the metric: its running mean before the value (the older error rate for `error_rate`). */
  baseline: number;
  /** When it was last seen, in ms by the monitor's clock. */
  timestamp: number;
  /** The series it was found in. */
  metric: MetricName | 'errorRate';
  /** What raised it: the streaming detector or a configured threshold. */
  source: 'detector' | 'threshold';
  /** Times it was seen since it was first raised. */
  count: number;
}

export type TrendStatus = 'improving' | 'degrading' | 'stable' | 'insufficient_data';

/** Recent samples of a metric compared with the older ones. */
export interface Trend {
  status: TrendStatus;
  /** Direction of the change, whatever it means for the metric. */
  direction: 'rising' | 'falling' | 'flat';
  recent_mean: number;
  baseline_mean: number;
  /** (recent − baseline) / baseline in percent (percentage points for rates). */
  change_percent: number;
  /** Welch's t statistic of recent against baseline: |t| < 2 is treated as noise. */
  t_statistic: number;
  recent_samples: number;
  baseline_samples: number;
}

/** The trend of each metric, plus the hit rate and the model-call error rate computed from the call history. */
export type Trends = Partial<Record<MetricName | 'hitRate' | 'errorRate', Trend>>;

export type RecommendationType =
  | 'raise_ttl' | 'raise_capacity' | 'new_prompts' | 'set_keep_alive' | 'throttle'
  | 'lower_concurrency' | 'reduce_memory' | 'investigate_errors' | 'capacity_plan';

/** An actionable item with the evidence behind it. */
export interface Recommendation {
  type: RecommendationType;
  priority: 'low' | 'medium' | 'high';
  /** What was seen. */
  message: string;
  /** What to do. */
  action: string;
  /** The numbers behind it (snake_case, wire format). */
  evidence: Record<string, number | string>;
}
