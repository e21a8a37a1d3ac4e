import type { Clock } from '../clock.js';
import { raceSignal, withDeadline } from '../internal/abort.js';
import { elapsedMs } from '../internal/elapsed.js';
import type { Prompt, TokenUsage } from '../types.js';
import { ThresholdCalibrator } from './calibration.js';
import { complexityFeatures, complexityScore } from './complexity.js';
import { resolveRoutes, type ResolvedRoute } from './routing-options.js';
import { RouteStatistics, type RouteReport } from './route-stats.js';
import type {
  RouteDecision, RoutedCall, RoutedResult, RouteOverride, RouteReason, RouterEvents, TierHealth, TierRun,
} from './route-types.js';

/**
 * Picks the tier of each call to a logical model: by a complexity score (rules) or by running the
 * small tier and escalating its unconvincing answers (cascade), around tiers that are down.
 */
export class Router {
  readonly #routes: ReadonlyMap<string, ResolvedRoute>;
  readonly #calibrators = new Map<string, ThresholdCalibrator>();
  readonly #stats = new Map<string, RouteStatistics>();
  readonly #health: TierHealth;
  readonly #events: RouterEvents;
  readonly #clock: Clock;

  constructor(routes: unknown, health: TierHealth, events: RouterEvents, clock: Clock) {
    this.#routes = resolveRoutes(routes);
    this.#clock = clock;
    this.#health = health;
    this.#events = events;
    for (const route of this.#routes.values()) {
      this.#stats.set(route.name, new RouteStatistics(route));
      if (route.targetLargeShare !== undefined) {
        const initial = route.strategy === 'rules' ? route.threshold : -route.minMeanLogprob;
        this.#calibrators.set(route.name, new ThresholdCalibrator(route.targetLargeShare, route.calibrationWindow, initial));
      }
    }
  }

  /** Whether routes are configured at all (the call path skips the router otherwise). */
  get size(): number {
    return this.#routes.size;
  }

  route(name: string): ResolvedRoute | undefined {
    return this.#routes.get(name);
  }

  async run<T>(route: ResolvedRoute, call: RoutedCall<T>): Promise<RoutedResult<T>> {
    const stats = this.#stats.get(route.name) as RouteStatistics;
    const result = call.override?.tier !== undefined
      ? await this.#fixed(route, call, call.override.tier)
      : route.strategy === 'rules' ? await this.#rules(route, call) : await this.#cascade(route, call);
    stats.decided(result.decision);
    this.#events.decide(result.decision);
    return result;
  }

  /**
   * The tier of a call that cannot escalate (a stream: its chunks go out as they come): by the score
   * for a rules route, the small tier for a cascade; the other tier when the chosen one's circuit is open.
   */
  pick(route: ResolvedRoute, prompt: Prompt, params: Readonly<Record<string, unknown>> | undefined, override: RouteOverride | undefined): RouteDecision {
    let decision: RouteDecision;
    let large: boolean;
    if (override?.tier !== undefined) {
      large = override.tier === 'large';
      decision = this.#decision(route, large ? route.large : route.small, 'variant', this.#currentThreshold(route, undefined));
    } else if (route.strategy === 'rules') {
      decision = this.#score(route, prompt, params, override);
      large = decision.tier === route.large;
    } else {
      large = false;
      decision = this.#decision(route, route.small, 'no-signal', this.#currentThreshold(route, override));
    }
    const other = large ? route.small : route.large;
    if (this.#health.isOpen(decision.tier) && !this.#health.isOpen(other)) {
      decision.tier = other;
      decision.degraded = true;
    }
    (this.#stats.get(route.name) as RouteStatistics).decided(decision);
    this.#events.decide(decision);
    return decision;
  }

  /** Adds a routed stream's run (it went to `tier`) to the tier's figures. */
  recordStream(route: string, tier: string, durationMs: number, usage: TokenUsage, failed: boolean): void {
    this.#stats.get(route)?.tierCall(tier, durationMs, usage, failed);
  }

  /** Per-route figures for the report (wire shape). */
  report(): Record<string, RouteReport> {
    const out: Record<string, RouteReport> = {};
    for (const [name, stats] of this.#stats) out[name] = stats.report(this.#currentThreshold(this.#routes.get(name) as ResolvedRoute, undefined));
    return out;
  }

  /** Calibration state kept across restarts. */
  exportCalibration(): Record<string, { level: number; window: number[] }> {
    const out: Record<string, { level: number; window: number[] }> = {};
    for (const [name, c] of this.#calibrators) out[name] = c.export();
    return out;
  }

  restoreCalibration(saved: unknown): number {
    if (typeof saved !== 'object' || saved === null) return 0;
    let restored = 0;
    for (const [name, raw] of Object.entries(saved)) {
      const calibrator = this.#calibrators.get(name);
      const s = raw as { level?: unknown; window?: unknown } | null;
      if (calibrator === undefined || typeof s !== 'object' || s === null || typeof s.level !== 'number' || !Array.isArray(s.window)) continue;
      calibrator.restore({ level: s.level, window: s.window.filter((d): d is number => typeof d === 'number' && Number.isFinite(d)) });
      restored++;
    }
    return restored;
  }

  #currentThreshold(route: ResolvedRoute, override: RouteOverride | undefined): number {
    if (override?.threshold !== undefined) return route.strategy === 'rules' ? override.threshold : -override.threshold;
    const calibrated = this.#calibrators.get(route.name);
    if (calibrated !== undefined && calibrated.observations > 0) return calibrated.threshold;
    return route.strategy === 'rules' ? route.threshold : -route.minMeanLogprob;
  }

  async #fixed<T>(route: ResolvedRoute, call: RoutedCall<T>, tier: 'small' | 'large'): Promise<RoutedResult<T>> {
    const decision = this.#decision(route, tier === 'large' ? route.large : route.small, 'variant', this.#currentThreshold(route, undefined));
    return this.#withFallback(route, call, decision, tier === 'large');
  }

  async #rules<T>(route: ResolvedRoute, call: RoutedCall<T>): Promise<RoutedResult<T>> {
    const decision = this.#score(route, call.prompt, call.params, call.override);
    return this.#withFallback(route, call, decision, decision.tier === route.large);
  }

  /** Rules: the complexity score against the (calibrated) threshold. */
  #score(route: ResolvedRoute, prompt: Prompt, params: Readonly<Record<string, unknown>> | undefined, override: RouteOverride | undefined): RouteDecision {
    const features = complexityFeatures(prompt, params);
    const score = complexityScore(features, route.weights);
    const calibrator = override?.threshold === undefined ? this.#calibrators.get(route.name) : undefined;
    calibrator?.observe(score);
    const threshold = this.#currentThreshold(route, override);
    const large = score > threshold;
    calibrator?.decided(large);
    const decision = this.#decision(route, large ? route.large : route.small, 'score', threshold);
    decision.score = score;
    decision.features = features;
    return decision;
  }

  /** Runs the chosen tier, or the other one when it is down (circuit open) or fails as a model. */
  async #withFallback<T>(route: ResolvedRoute, call: RoutedCall<T>, decision: RouteDecision, large: boolean): Promise<RoutedResult<T>> {
    const chosen = large ? route.large : route.small;
    const other = large ? route.small : route.large;
    const usage: TokenUsage = {};
    const health = this.#health;
    let first = chosen;
    if (health.isOpen(chosen) && !health.isOpen(other)) {
      first = other;
      decision.degraded = true;
    }
    try {
      const value = await this.#tier(route, first, call, usage, false);
      decision.tier = first;
      return { value, cacheable: !servedSmallFor(route, decision, chosen), decision, usage };
    } catch (error) {
      if (first !== chosen || call.signal.aborted || !health.isFailure(error) || health.isOpen(other)) throw error;
      decision.degraded = true;
      try {
        const value = await this.#tier(route, other, call, usage, false);
        decision.tier = other;
        return { value, cacheable: !servedSmallFor(route, decision, chosen), decision, usage };
      } catch {
        throw error;
      }
    }
  }

  async #cascade<T>(route: ResolvedRoute, call: RoutedCall<T>): Promise<RoutedResult<T>> {
    const health = this.#health;
    const calibrator = call.override?.threshold === undefined ? this.#calibrators.get(route.name) : undefined;
    const usage: TokenUsage = {};
    const decision = this.#decision(route, route.small, 'confident', this.#currentThreshold(route, call.override));
    if (health.isOpen(route.small) && !health.isOpen(route.large)) {
      decision.degraded = true;
      decision.tier = route.large;
      return { value: await this.#tier(route, route.large, call, usage, false), cacheable: true, decision, usage };
    }
    const run: TierRun = { usage: {}, logprobs: undefined };
    let small: { value: T } | undefined;
    let smallError: unknown;
    try {
      small = { value: await this.#tier(route, route.small, call, usage, true, run) };
    } catch (error) {
      if (call.signal.aborted || !health.isFailure(error)) throw error;
      smallError = error;
    }
    const reason = small === undefined ? 'error' : await this.#judge(route, call, small.value, run, decision, calibrator);
    calibrator?.decided(reason !== 'confident' && reason !== 'no-signal');
    if (reason === 'confident' || reason === 'no-signal') {
      decision.reason = reason;
      return { value: (small as { value: T }).value, cacheable: true, decision, usage };
    }
    decision.reason = reason;
    if (health.isOpen(route.large)) return this.#keepSmall(small, smallError, decision, usage);
    decision.escalated = true;
    this.#events.escalate(route.name, route.small, route.large, reason);
    try {
      const value = await this.#tier(route, route.large, call, usage, false);
      decision.tier = route.large;
      return { value, cacheable: true, decision, usage };
    } catch (error) {
      if (call.signal.aborted || small === undefined) throw smallError ?? error;
      return this.#keepSmall(small, smallError, decision, usage);
    }
  }

  /** The large tier is down: the small answer is served but not cached (it was judged not good enough), or the small error is thrown. */
  #keepSmall<T>(small: { value: T } | undefined, smallError: unknown, decision: RouteDecision, usage: TokenUsage): RoutedResult<T> {
    if (small === undefined) throw smallError;
    decision.degraded = true;
    return { value: small.value, cacheable: false, decision, usage };
  }

  /** Why the small tier's answer stands or is escalated. */
  async #judge<T>(route: ResolvedRoute, call: RoutedCall<T>, value: T, run: TierRun, decision: RouteDecision, calibrator: ThresholdCalibrator | undefined): Promise<RouteReason> {
    if (!call.isComplete(value)) return 'truncated';
    if (route.check !== undefined) {
      let passed = false;
      try {
        passed = (await boundedCheck(route.check(value, { route: route.name, model: route.small, prompt: call.prompt }), call.signal)) === true;
      } catch {
        // A check that throws, rejects or passes its deadline is a failed check: escalate, never fail or hang the call.
        passed = false;
      }
      call.signal.throwIfAborted();
      if (!passed) return 'check';
    }
    const logprobs = run.logprobs;
    if (logprobs === undefined || logprobs.length === 0) return route.check === undefined ? 'no-signal' : 'confident';
    let sum = 0;
    let min = 0;
    for (const lp of logprobs) {
      sum += lp;
      if (lp < min) min = lp;
    }
    const mean = sum / logprobs.length;
    decision.confidence = { meanLogprob: mean, minLogprob: min, tokens: logprobs.length };
    calibrator?.observe(-mean);
    const threshold = this.#currentThreshold(route, call.override);
    decision.threshold = -threshold;
    if (-mean > threshold) return 'low-confidence';
    if (route.minTokenLogprob !== undefined && min < route.minTokenLogprob) return 'low-confidence';
    return 'confident';
  }

  async #tier<T>(route: ResolvedRoute, model: string, call: RoutedCall<T>, usage: TokenUsage, wantLogprobs: boolean, run: TierRun = { usage: {}, logprobs: undefined }): Promise<T> {
    const stats = this.#stats.get(route.name) as RouteStatistics;
    const started = this.#clock.now();
    try {
      const value = await call.runTier(model, run, wantLogprobs);
      stats.tierCall(model, elapsedMs(started, this.#clock.now()), run.usage, false);
      return value;
    } catch (error) {
      stats.tierCall(model, elapsedMs(started, this.#clock.now()), run.usage, !call.signal.aborted);
      throw error;
    } finally {
      addUsage(usage, run.usage);
    }
  }

  #decision(route: ResolvedRoute, tier: string, reason: RouteReason, threshold: number): RouteDecision {
    // Cascade thresholds are shown as the log-probability floor they are (negative).
    const shown = route.strategy === 'cascade' ? -threshold : threshold;
    return { route: route.name, strategy: route.strategy, tier, reason, escalated: false, degraded: false, threshold: shown };
  }
}

/** Token usage of every tier a call ran, summed. */
function addUsage(into: TokenUsage, add: TokenUsage): void {
  for (const field of ['promptTokens', 'outputTokens', 'generationMs', 'loadMs', 'promptMs'] as const) {
    const v = add[field];
    if (v !== undefined) into[field] = (into[field] ?? 0) + v;
  }
}

/** Longest a service's `check` may take before it counts as failed (the call waits on it: not unref'd). */
const CHECK_TIMEOUT_MS = 10_000;

/** `check`'s answer, or a rejection at its deadline or at the call's abort. */
function boundedCheck(answer: unknown, signal: AbortSignal): Promise<unknown> {
  const timedOut = (): Error => new Error(`\`check\` did not answer within ${CHECK_TIMEOUT_MS} ms`);
  return raceSignal(withDeadline(Promise.resolve(answer), CHECK_TIMEOUT_MS, timedOut), signal);
}

/** A rules route that served its small tier in place of the large one it chose (the large was down): not worth caching. */
function servedSmallFor(route: ResolvedRoute, decision: RouteDecision, chosen: string): boolean {
  return decision.degraded === true && chosen === route.large && decision.tier === route.small;
}
