import type { Clock } from '../clock.js';
import type { EventHub } from '../events.js';
import type { ModelWarmUpStats, ResolvedWarmUpOptions } from './warm-up.js';
import { WarmUpScheduler } from './warm-up.js';

/** The `warm_up` section of the optimization report (snake_case wire format). */
export interface WarmUpReport {
  enabled: boolean;
  warm_ups: number;
  failed: number;
  skipped_budget: number;
  models: Record<string, {
    warm_ups: number;
    failed: number;
    skipped_budget: number;
    next_bucket_forecast: number;
    peak_forecast: number;
    peak_at: string;
  }>;
}

/**
 * Creates the engine's warm-up scheduler, fed by the engine's own call events: every call marks
 * its model busy while in flight; model calls (misses, bypasses, errors) count as traffic.
 */
export function attachWarmUp(options: ResolvedWarmUpOptions | undefined, clock: Clock, events: EventHub): WarmUpScheduler | undefined {
  if (options === undefined) return undefined;
  const scheduler = new WarmUpScheduler(options, clock, (record) => events.emit('model-warm-up', record));
  events.observe('call-start', ({ model }) => scheduler.callStarted(model));
  events.observe('call-end', ({ model, outcome, durationMs, timestamp }) => {
    scheduler.callEnded(model, timestamp - durationMs, timestamp, outcome === 'miss' || outcome === 'bypass' || outcome === 'error');
  });
  return scheduler;
}

const round = (x: number): number => Math.round(x * 100) / 100;

export function warmUpReport(stats: Record<string, ModelWarmUpStats> | undefined): WarmUpReport {
  const report: WarmUpReport = { enabled: stats !== undefined, warm_ups: 0, failed: 0, skipped_budget: 0, models: {} };
  for (const [model, s] of Object.entries(stats ?? {})) {
    report.warm_ups += s.warmUps;
    report.failed += s.failed;
    report.skipped_budget += s.skippedBudget;
    Object.defineProperty(report.models, model, {
      value: {
        warm_ups: s.warmUps, failed: s.failed, skipped_budget: s.skippedBudget,
        next_bucket_forecast: round(s.nextBucketForecast), peak_forecast: round(s.peakForecast), peak_at: new Date(s.peakAt).toISOString(),
      },
      enumerable: true, writable: true, configurable: true,
    });
  }
  return report;
}
