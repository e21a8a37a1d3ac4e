import type { TokenUsage } from '../types.js';
import { quantileOfSorted } from './calibration.js';
import type { ResolvedRoute, RouteStrategy } from './routing-options.js';
import type { RouteDecision, RouteReason } from './route-types.js';

/** Durations kept per tier for its percentiles. */
const LATENCY_SAMPLES = 512;

/** One tier's figures in the report (wire shape). */
export interface TierReport {
  /** Runs of this tier (one per call that reached it, retries inside). */
  calls: number;
  errors: number;
  /** Calls escalated to this tier (cascade, large tier only). */
  escalations: number;
  latency_ms_avg: number | null;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  prompt_tokens: number;
  output_tokens: number;
}

/** One logical model's figures in the report (`routing` section, `/metrics`). */
export interface RouteReport {
  strategy: RouteStrategy;
  small: string;
  large: string;
  /** Calls routed (misses; hits are answered by the cache whatever tier produced them). */
  calls: number;
  /** Calls answered by the large tier, in percent of `calls`. */
  large_share_percent: number;
  target_large_share_percent: number | null;
  /** The threshold now in use: of the score (rules) or the mean log-probability (cascade). */
  threshold: number;
  escalations: Partial<Record<RouteReason, number>>;
  /** Calls where a tier was down and the other one answered (or the small answer was kept). */
  degraded: number;
  tiers: Record<string, TierReport>;
}

class TierStatistics {
  calls = 0;
  errors = 0;
  escalations = 0;
  totalMs = 0;
  promptTokens = 0;
  outputTokens = 0;
  readonly durations = new Float64Array(LATENCY_SAMPLES);
  next = 0;

  report(): TierReport {
    const n = Math.min(this.calls, LATENCY_SAMPLES);
    const sorted = this.durations.slice(0, n).sort();
    const pick = (q: number): number | null => (n === 0 ? null : round(quantileOfSorted(sorted, q)));
    return {
      calls: this.calls, errors: this.errors, escalations: this.escalations,
      latency_ms_avg: this.calls === 0 ? null : round(this.totalMs / this.calls),
      latency_ms_p50: pick(0.5), latency_ms_p95: pick(0.95),
      prompt_tokens: this.promptTokens, output_tokens: this.outputTokens,
    };
  }
}

/** Figures of one route: where its calls went and why. */
export class RouteStatistics {
  readonly #route: ResolvedRoute;
  readonly #tiers: Map<string, TierStatistics>;
  #calls = 0;
  #large = 0;
  #degraded = 0;
  readonly #escalations: Partial<Record<RouteReason, number>> = {};

  constructor(route: ResolvedRoute) {
    this.#route = route;
    this.#tiers = new Map([[route.small, new TierStatistics()], [route.large, new TierStatistics()]]);
  }

  tierCall(model: string, durationMs: number, usage: TokenUsage, failed: boolean): void {
    const t = this.#tiers.get(model);
    if (t === undefined) return;
    t.durations[t.next] = durationMs;
    t.next = (t.next + 1) % LATENCY_SAMPLES;
    t.calls++;
    t.totalMs += durationMs;
    if (failed) t.errors++;
    t.promptTokens += usage.promptTokens ?? 0;
    t.outputTokens += usage.outputTokens ?? 0;
  }

  decided(decision: RouteDecision): void {
    this.#calls++;
    if (decision.tier === this.#route.large) this.#large++;
    if (decision.degraded) this.#degraded++;
    if (decision.escalated) {
      this.#escalations[decision.reason] = (this.#escalations[decision.reason] ?? 0) + 1;
      const large = this.#tiers.get(this.#route.large) as TierStatistics;
      large.escalations++;
    }
  }

  report(threshold: number): RouteReport {
    const target = this.#route.targetLargeShare;
    const tiers: Record<string, TierReport> = {};
    for (const [model, t] of this.#tiers) tiers[model] = t.report();
    return {
      strategy: this.#route.strategy, small: this.#route.small, large: this.#route.large,
      calls: this.#calls,
      large_share_percent: this.#calls === 0 ? 0 : round((100 * this.#large) / this.#calls),
      target_large_share_percent: target === undefined ? null : round(100 * target),
      threshold: round(this.#route.strategy === 'cascade' ? -threshold : threshold, 4),
      escalations: { ...this.#escalations },
      degraded: this.#degraded,
      tiers,
    };
  }
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
