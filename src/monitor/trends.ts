import { mean, round, welchT } from '../internal/summary.js';
import type { CallHistory } from './call-history.js';
import type { MetricName, Trend, Trends } from './types.js';

/** Whether a rise of the metric is good news, bad news or neither (request volume). */
export type Polarity = 'lower-is-better' | 'higher-is-better' | 'neutral';

export interface TrendRule {
  readonly polarity: Polarity;
  /** Rates (0–1) compare absolute differences (percentage points); other metrics relative ones. */
  readonly rate?: boolean;
}

/** Fewer samples than this on either side: `insufficient_data`. */
export const MIN_TREND_SAMPLES = 10;
/** A change smaller than this (10 %, or 5 percentage points for rates) is `stable`. */
const MIN_RELATIVE_CHANGE = 0.1;
const MIN_RATE_CHANGE = 0.05;
/** And it must stand out of the noise: |Welch t| of at least 2. */
const MIN_T = 2;
/** Reported t is capped so that two constant, different samples (t = ±∞) stay a number in JSON. */
const MAX_T = 1000;

/**
 * Compares the last `window` values (at most half of them) with the older ones. A change counts
 * when it is both large (10 % relative, 5 points for rates) and significant (|t| ≥ 2); then its
 * direction and the metric's polarity decide `improving` or `degrading`.
 */
export function computeTrend(values: readonly number[], window: number, rule: TrendRule): Trend {
  const recentCount = Math.min(window, Math.floor(values.length / 2));
  const recent = values.slice(values.length - recentCount);
  const baseline = values.slice(0, values.length - recentCount);
  const rm = mean(recent);
  const bm = mean(baseline);
  const t = recentCount > 0 ? welchT(baseline, recent) : 0;
  const change = rule.rate === true ? rm - bm : bm === 0 ? (rm === 0 ? 0 : Math.sign(rm) * Infinity) : (rm - bm) / Math.abs(bm);
  const enough = recentCount >= MIN_TREND_SAMPLES && baseline.length >= MIN_TREND_SAMPLES;
  const moved = enough && Math.abs(change) >= (rule.rate === true ? MIN_RATE_CHANGE : MIN_RELATIVE_CHANGE) && Math.abs(t) >= MIN_T;
  const direction = !moved ? 'flat' : change > 0 ? 'rising' : 'falling';
  return {
    status: !enough ? 'insufficient_data' : statusOf(direction, rule.polarity),
    direction,
    recent_mean: enough ? round(rm, 4) : Number.NaN,
    baseline_mean: enough ? round(bm, 4) : Number.NaN,
    change_percent: enough ? round(change * 100) : Number.NaN,
    t_statistic: enough ? round(Math.max(-MAX_T, Math.min(MAX_T, t))) : Number.NaN,
    recent_samples: recent.length,
    baseline_samples: baseline.length,
  };
}

function statusOf(direction: Trend['direction'], polarity: Polarity): Trend['status'] {
  if (direction === 'flat' || polarity === 'neutral') return 'stable';
  const better = polarity === 'higher-is-better' ? 'rising' : 'falling';
  return direction === better ? 'improving' : 'degrading';
}

export const TREND_RULES: Record<MetricName, TrendRule> = {
  responseTimeMs: { polarity: 'lower-is-better' }, msPerToken: { polarity: 'lower-is-better' },
  tokensPerSecond: { polarity: 'higher-is-better' }, loadMs: { polarity: 'lower-is-better' },
  memoryBytes: { polarity: 'lower-is-better' }, rssBytes: { polarity: 'lower-is-better' },
  cpuPercent: { polarity: 'lower-is-better' }, requests: { polarity: 'neutral' }, inFlight: { polarity: 'neutral' },
  systemCpuPercent: { polarity: 'lower-is-better' }, systemMemoryPercent: { polarity: 'lower-is-better' },
};
export const METRICS = Object.keys(TREND_RULES) as MetricName[];
const ALWAYS_TRENDED: readonly MetricName[] = ['responseTimeMs', 'memoryBytes', 'cpuPercent', 'requests'];

/** The trend of every metric with data (and of the core ones regardless), plus hit and error rates from the call history. */
export function computeTrends(series: (metric: MetricName) => number[], calls: CallHistory, window: number): Trends {
  const trends: Trends = {};
  for (const metric of METRICS) {
    const values = series(metric).filter(Number.isFinite); // in-flight is NaN where unknown
    if (values.length > 0 || ALWAYS_TRENDED.includes(metric)) trends[metric] = computeTrend(values, window, TREND_RULES[metric]);
  }
  trends.hitRate = computeTrend(calls.hitSeries(), window, { polarity: 'higher-is-better', rate: true });
  trends.errorRate = computeTrend(calls.errorSeries(), window, { polarity: 'lower-is-better', rate: true });
  return trends;
}
