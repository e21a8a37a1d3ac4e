import { cacheInternals, matchCommand, ResponseCache, type CacheInternals, type EntryOptions, type InvalidateFilter } from './cache/response-cache.js';
import type { InvalidationCommand } from './stores/cache-store.js';
import type { Clock } from './clock.js';
import { OptimizerError } from './errors.js';
import { EventHub, type EngineEventName, type EngineListener } from './events.js';
import { silentLogger } from './logger.js';
import { describe, positiveNumber } from './internal/validate.js';
import { linkMonitorContext, PerformanceMonitor } from './monitor/performance-monitor.js';
import { AutoOptimizer, type AutoOptimizeResult } from './optimizer/auto-optimizer.js';
import { buildOptimizationReport, type OptimizationReport } from './report.js';
import { resolveEngineOptions, type OptimizationEngineOptions, type ResolvedEngineOptions } from './options.js';
import { Throttle } from './optimizer/throttle.js';
import { percent } from './cache/stats.js';
import { StoreTier } from './cache/tiered.js';
import type { CacheStore } from './stores/cache-store.js';
import type { CallOptions, CallStatus, ExecFunction, Prompt } from './types.js';
import { StreamCalls } from './stream/stream-calls.js';
import { CallPath } from './call-path.js';
import type { OptimizedStream, StreamCallOptions, StreamExecFunction } from './stream/types.js';
import { HealthRegistry, type HealthReport, type HealthSource } from './health.js';
import { AutonomousLoop, type AutonomousOptions, type AutonomousStatus } from './optimizer/autonomous.js';
import { autonomousHost } from './optimizer/autonomous-host.js';
import type { CircuitStatus } from './optimizer/circuit-breaker.js';
import { SelfHealing } from './optimizer/self-heal.js';
import { round } from './internal/summary.js';
import { Router } from './routing/router.js';
import { Experiments } from './experiments/experiments.js';
import type { Experiment } from './experiments/experiment.js';
import type { ExperimentOptions } from './experiments/experiment-options.js';
import type { RouteReport } from './routing/route-stats.js';
import { attachWarmUp, warmUpReport } from './forecast/engine-warm-up.js';
import { capacityAdvice } from './forecast/capacity-advice.js';
import type { WarmUpScheduler } from './forecast/warm-up.js';

/** `getCacheStats()`: the original service's shape, snake_case as its dashboards read it. */
export interface CacheStatsReport {
  cache: {
    size: number; max_size: number; hits: number; misses: number; hit_rate_percent: number; ttl_seconds: number;
    /** Calls that joined an identical call in flight (here, or on another instance through the store) instead of running the model. Each is also a lookup miss. */
    coalesced: number;
    /** Calls answered by the shared store (L2) after missing in memory. Each is also a lookup miss. */
    store_hits: number;
    /** Calls that reached the model (ran `exec`, streams included), once per call however many retries; `bypass` and `refresh` calls too. */
    model_calls: number;
    /** (hits + coalesced + store_hits) ÷ (those + model_calls): the share of calls answered without the model. */
    answered_without_model_percent: number;
    /** Calls answered with an expired entry: within its grace, after a soft timeout, or because the model failed (`staleIfError`). Each is also a lookup miss. */
    stale_served: number;
    /** Background refreshes started (each is a model call unless the store had a newer answer), by reason. */
    background_refreshes: { grace: number; ahead: number; soft_timeout: number };
    /** Background refreshes that failed (the old entry stayed until its grace ended). */
    refresh_failures: number;
  };
  performance_impact: { requests_saved: number; time_saved_estimate_seconds: number; cost_saved_usd: number };
}

/** What `engine.invalidate()` and `engine.clear()` removed. */
export interface InvalidationResult {
  /** Entries removed from this engine's in-process cache (replicas remove theirs as the message reaches them). */
  memory: number;
  /** Values removed from the shared store; `undefined` without a store, when it failed (a `store-error`), or when it cannot count (`clear()`). */
  store: number | undefined;
}

/**
 * The composition root: a response cache with single-flight coalescing in front of your model call,
 * a monitor that records every call, typed events, and (see the other methods) optimization.
 *
 * @example
 * ```ts
 * const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });
 * const answer = await engine.optimizeAiCall(prompt, 'llama3.1:8b',
 *   (prompt, model, { signal }) => callMyModel(prompt, model, signal),
 *   { params: { temperature: 0 }, scope: 'tenant-42' });
 * ```
 */
export class OptimizationEngine {
  /** The response cache (usable directly: `get`, `set`, `delete`, `clear`, `getStats`, `analyzeAccessPatterns`). */
  readonly cache: ResponseCache;
  /** The performance monitor that records every call. */
  readonly monitor: PerformanceMonitor;
  /** The shared store (L2) given as the `store` option, if any: read its `health()`, or `clear()` it. */
  readonly store: CacheStore | undefined;
  readonly #options: ResolvedEngineOptions;
  readonly #internals: CacheInternals;
  readonly #clock: Clock;
  readonly #events: EventHub;
  readonly #throttle: Throttle;
  readonly #calls: CallPath;
  readonly #streams: StreamCalls;
  readonly #optimizer: AutoOptimizer;
  readonly #healing: SelfHealing;
  readonly #health = new HealthRegistry();
  readonly #autonomous: AutonomousLoop;
  readonly #tier2: StoreTier | undefined;
  readonly #router: Router;
  readonly #experiments: Experiments;
  readonly #warmUp: WarmUpScheduler | undefined;
  #storeClosed: Promise<void> | undefined;
  #closed = false;

  constructor(options: OptimizationEngineOptions = {}) {
    this.#options = resolveEngineOptions(options);
    this.cache = withOptionPath('cache', () => new ResponseCache(this.#options.cache));
    this.#internals = cacheInternals(this.cache);
    this.#clock = this.#internals.clock;
    this.#events = new EventHub(this.#options.logger ?? silentLogger);
    this.monitor = withOptionPath('monitor', () => this.#createMonitor());
    this.#throttle = new Throttle(this.#options.maxConcurrency);
    linkMonitorContext(this.monitor, () => ({
      cache: this.cache.getStats(), concurrencyLimit: this.#throttle.limit,
      extra: (meanServiceMs) => capacityAdvice(this.#warmUp?.capacity(), meanServiceMs),
    }));
    this.#optimizer = new AutoOptimizer({
      cache: this.cache, monitor: this.monitor, clock: this.#clock, concurrency: this.#throttle,
      emit: (event, payload) => this.#events.emit(event, payload),
      experiment: (options) => this.#experiments.start(options),
    }, this.#options.optimizer);
    this.store = this.#options.store;
    this.#tier2 = this.store && new StoreTier(this.store, this.#internals, this.#events, this.#options.logger ?? silentLogger);
    this.#internals.onRemove = (entry, reason) => {
      this.#events.emitBuilt('cache-evict', () => ({ key: this.#internals.keyOf(entry), model: entry.model, scope: entry.scope, reason }));
    };
    const { breaker, retry, healthProbe } = this.#options;
    this.#healing = new SelfHealing({ breaker, retry, healthProbe, clock: this.#clock });
    this.#health.add('model', () => this.#healing.health());
    const tier2 = this.#tier2;
    if (tier2 !== undefined) this.#health.add('store', () => tier2.healthCheck());
    this.#experiments = new Experiments((experiment, variant, scope) => {
      if (this.#events.has('experiment-assign')) this.#events.emit('experiment-assign', { experiment, variant, scope });
    });
    this.#router = withOptionPath('routes', () => new Router(this.#options.routes, this.#healing, {
      decide: (decision) => this.#events.emit('route-decide', decision),
      escalate: (route, from, to, reason) => this.#events.emit('route-escalate', { route, from, to, reason }),
    }, this.#clock));
    this.#autonomous = new AutonomousLoop(autonomousHost({
      engine: this, cache: this.cache, internals: this.#internals, monitor: this.monitor, healing: this.#healing, optimizer: this.#optimizer, clock: this.#clock,
      experiments: this.#experiments, router: this.#router,
      logger: this.#options.logger ?? silentLogger, emit: (event, payload) => this.#events.emit(event, payload),
    }));
    this.#calls = new CallPath({
      internals: this.#internals, clock: this.#clock, events: this.#events, throttle: this.#throttle, healing: this.#healing,
      tier2: this.#tier2, monitor: this.monitor, isClosed: () => this.#closed, defaultTtlMs: () => this.cache.options.ttlMs,
      router: this.#router, experiments: this.#experiments,
      freshness: this.#options.freshness,
    });
    this.#streams = new StreamCalls(this.#calls.streamHost());
    this.#warmUp = attachWarmUp(this.#options.warmUp, this.#clock, this.#events);
  }

  /**
   * Checks the warm-up schedule now (the `warmUp.checkIntervalMs` timer does this on its own; with
   * `checkIntervalMs: false` and a manual clock, tests call it). No-op without `warmUp`.
   */
  checkWarmUps(): void {
    if (!this.#closed) this.#warmUp?.check();
  }

  /** Adds a listener. A listener that throws never affects a call. */
  on<E extends EngineEventName>(event: E, listener: EngineListener<E>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Adds a listener called once. */
  once<E extends EngineEventName>(event: E, listener: EngineListener<E>): this {
    this.#events.on(event, listener, true);
    return this;
  }

  /** Removes a listener (or every listener of the event). */
  off<E extends EngineEventName>(event: E, listener?: EngineListener<E>): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Most `exec` calls running at once (`Infinity`: no limit). */
  get maxConcurrency(): number {
    return this.#throttle.limit;
  }

  set maxConcurrency(value: number) {
    this.#throttle.limit = value;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `exec` through the cache: identical calls (same prompt, model, params and scope) run it
   * once, concurrent identical calls share one run, and only successful results are stored.
   */
  optimizeAiCall<T, P extends Prompt = Prompt>(prompt: P, model: string, exec: ExecFunction<T, P>, options: CallOptions = {}): Promise<T> {
    return this.#calls.call(prompt, model, exec as ExecFunction<T>, options);
  }


  /**
   * Streams through the cache: a hit replays the stored chunks; concurrent identical streams share
   * one upstream stream (a late joiner reads the chunks so far, then the live ones); a stream that
   * ends complete (`isComplete`) is stored as its chunk list. Stop early with `break` or `abort()`:
   * that ends this consumer only; the upstream is aborted once no consumer is left.
   *
   * @example
   * ```ts
   * const stream = engine.optimizeAiStream(prompt, 'llama3.1:8b',
   *   (prompt, model, { signal }) => streamMyModel(prompt, model, signal),
   *   { params: { temperature: 0 }, isComplete: (chunks) => chunks.at(-1)?.done === true });
   * for await (const chunk of stream) process.stdout.write(chunk.text);
   * ```
   */
  optimizeAiStream<C, P extends Prompt = Prompt>(prompt: P, model: string, execStream: StreamExecFunction<C, P>, options: StreamCallOptions<C> = {}): OptimizedStream<C> {
    return this.#streams.open(prompt, model, execStream as StreamExecFunction<C>, options);
  }

  /** The cache's figures in the original service's shape. */
  getCacheStats(): CacheStatsReport {
    const stats = this.cache.getStats();
    const { coalesced, storeHits, timeSavedMs, tokensSaved } = this.#calls.savings;
    const saved = stats.hits + coalesced + storeHits;
    const modelCalls = this.#healing.modelCalls;
    const { costPerRequestUsd, costPer1kTokensUsd } = this.#options;
    return {
      cache: {
        size: stats.size,
        max_size: stats.maxEntries,
        hits: stats.hits,
        misses: stats.misses,
        hit_rate_percent: percent(stats.hits, stats.hits + stats.misses),
        ttl_seconds: stats.ttlMs / 1000,
        coalesced,
        store_hits: storeHits,
        model_calls: modelCalls,
        answered_without_model_percent: percent(saved, saved + modelCalls),
        ...this.#freshnessFigures(),
      },
      performance_impact: {
        requests_saved: saved,
        time_saved_estimate_seconds: Math.round(stats.timeSavedMs + timeSavedMs) / 1000,
        cost_saved_usd: round(saved * costPerRequestUsd + ((stats.tokensSaved + tokensSaved) / 1000) * costPer1kTokensUsd, 6),
      },
    };
  }

  #freshnessFigures(): Pick<CacheStatsReport['cache'], 'stale_served' | 'background_refreshes' | 'refresh_failures'> {
    const { staleServed, refreshes, refreshFailures } = this.#calls.freshnessCounts;
    return {
      stale_served: staleServed,
      background_refreshes: { grace: refreshes.grace, ahead: refreshes.ahead, soft_timeout: refreshes['soft-timeout'] },
      refresh_failures: refreshFailures,
    };
  }

  /**
   * Deletes the answer to one request everywhere: from this engine's cache, from the shared store,
   * and (through the store's channel) from every replica's in-process cache. True when this engine
   * or the store held it.
   */
  async delete(prompt: Prompt, model: string, options: EntryOptions = {}): Promise<boolean> {
    const id = this.#internals.identify(prompt, model, options);
    const key = this.#internals.keyFor(id);
    const local = this.#internals.invalidate({ type: 'keys', keys: [key] }) > 0;
    const command: InvalidationCommand = { type: 'keys', keys: [key] };
    this.#events.emit('cache-invalidate', { origin: 'local', command, removed: local ? 1 : 0 });
    const stored = await this.#tier2?.invalidate(command);
    return local || (stored ?? 0) > 0;
  }

  /**
   * Removes every answer of a scope, of a model, or carrying a tag (`tags` call option), or those
   * matching all the fields given, here, in the shared store and on every replica.
   *
   * @example
   * ```ts
   * await engine.invalidate({ tag: 'product:42' });
   * await engine.invalidate({ scope: 'tenant-42', model: 'llama3.1:8b' });
   * ```
   */
  async invalidate(filter: InvalidateFilter): Promise<InvalidationResult> {
    return this.#invalidate(matchCommand(filter));
  }

  /**
   * Removes every answer (or every answer of `scope`) here, in the shared store and on every
   * replica. `engine.cache.clear()` clears this engine's in-process cache only.
   */
  async clear(options: { scope?: string } = {}): Promise<InvalidationResult> {
    const scope = (plainObjectOrEmpty(options) as { scope?: unknown }).scope;
    return this.#invalidate(scope === undefined ? { type: 'match' } : matchCommand({ scope }));
  }

  async #invalidate(command: InvalidationCommand): Promise<InvalidationResult> {
    const memory = this.#internals.invalidate(command);
    this.#events.emit('cache-invalidate', { origin: 'local', command, removed: memory });
    const store = await this.#tier2?.invalidate(command);
    return { memory, store };
  }

  /**
   * Evaluates the monitor's findings and applies bounded, reversible changes (TTL, capacity, byte
   * budget, concurrency); judges earlier changes first and reverts those that did not help.
   *
   * @example
   * ```ts
   * const result = engine.autoOptimize();
   * // { status: 'optimizations_applied', count: 1, optimizations: [{ type: 'cache_ttl', action: 'raise the cache TTL from 3600 s to 7200 s', … }], reverted: [] }
   * ```
   */
  autoOptimize(): AutoOptimizeResult {
    return this.#optimizer.evaluate();
  }

  /**
   * Efficiency score, cache figures, anomalies, trends, recommendations and the optimizer's changes,
   * in snake_case wire format (`JSON.stringify` turns uncomputable numbers into `null`).
   *
   * @example
   * ```ts
   * const { summary } = engine.getOptimizationReport();
   * // { efficiency_score: 85, status: 'good', generated_at: '2026-…Z', total_calls: 7, hit_rate_percent: 33.33,
   * //   effective_hit_rate_percent: 50, requests_saved: 3, model_calls: 4, errors: 1, anomalies: 0, … }
   * ```
   */
  getOptimizationReport(): OptimizationReport {
    return buildOptimizationReport({
      now: this.#clock.now(),
      cacheReport: this.getCacheStats(),
      stats: this.cache.getStats(),
      outcomes: this.monitor.outcomes,
      responseTimes: this.monitor.getHistory('responseTimeMs'),
      anomalies: this.monitor.detectAnomalies(),
      trends: this.monitor.getTrends(),
      recommendations: this.monitor.getRecommendations(),
      optimizations: this.#optimizer.history,
      routing: this.#router.report(),
      experiments: this.#experiments.report(),
      warmUp: warmUpReport(this.#warmUp?.stats()),
    });
  }

  /**
   * Starts an A/B experiment over engine settings: each call is assigned, by its scope (a user or
   * tenant stays in one arm) or by its cache key, to a variant whose settings (TTL, cache mode,
   * stale-if-error, routing threshold or tier) override the engine's for that call. Per arm it
   * measures hit rate, latency (mean, p50, p95), error rate, escalations, tokens and the quality
   * scores given to `feedback()`; `results()` compares each arm with the control using always-valid
   * p-values and intervals (mSPRT), valid however often you look. With autonomous mode's
   * `stateFile`, its figures survive a restart.
   *
   * @example
   * ```ts
   * const ttl = engine.experiment({ name: 'ttl-4h', variants: { control: {}, long: { ttlMs: 4 * 3_600_000 } } });
   * // … later
   * const { comparisons } = ttl.results(); // comparisons.long.hitRate: { difference, ci, p_value, significant }
   * ```
   */
  experiment(options: ExperimentOptions): Experiment {
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The engine was closed; create a new one');
    return this.#experiments.start(options);
  }

  /**
   * Reports a quality score (any finite number, say 0–1) for the answer of one call, by its cache key
   * or its `status` object: it counts toward the \`feedback\` metric of the experiment arm that served
   * it. Returns false when the call was in no running experiment (or its key is no longer remembered:
   * the last 10 000 keys are).
   */
  feedback(keyOrStatus: string | CallStatus, score: number): boolean {
    return this.#experiments.feedback(keyOrStatus, score);
  }

  /**
   * Per logical model of `routes`: where its calls went (share of the large tier against its target,
   * the threshold in use, escalations by reason, degraded calls) and per tier its calls, errors,
   * latency and tokens. Also the report's `routing` section and `/metrics`.
   */
  getRoutingReport(): Record<string, RouteReport> {
    return this.#router.report();
  }

  /**
   * Stops the engine: new calls are rejected with `ERR_CLOSED`, calls in flight are aborted, timers
   * stop; resolves once autonomous mode has finished its run in progress and saved its state.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#calls.abortAll(new OptimizerError('ERR_CLOSED', 'The engine was closed'));
      this.#streams.abortAll(new OptimizerError('ERR_CLOSED', 'The engine was closed'));
      this.monitor.close();
      // The store it was given is closed too (once no other open engine uses it), fail-open.
      this.#storeClosed = this.#tier2?.close();
    }
    return Promise.all([this.#autonomous.stop(), this.#storeClosed, this.#warmUp?.close()]).then(() => undefined);
  }

  // Self-healing, health and autonomous mode (issue 6): the logic lives in src/optimizer/ and src/health.ts.

  /**
   * Health of the engine: the worst of its circuits, its health probe and every source added with
   * `addHealthSource` (a store, say), each asked with a deadline (`timeoutMs`, default 5000). Rejects
   * only for a bad `timeoutMs`.
   */
  health(options: { timeoutMs?: number } = {}): Promise<HealthReport> {
    if (this.#closed) return Promise.resolve({ status: 'down', reasons: ['engine: closed'], checks: { engine: { status: 'down', reason: 'closed' } } });
    let timeoutMs: number;
    try {
      timeoutMs = positiveNumber('timeoutMs', options.timeoutMs, 5_000);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#health.check(timeoutMs);
  }

  /** Adds a source to `health()` (a store reports 'degraded' when unreachable). Returns a function that removes it. */
  addHealthSource(name: string, source: HealthSource): () => void {
    return this.#health.add(name, source);
  }

  /** The circuit of every model `exec` ran for (empty when `breaker: false`). */
  getCircuitStates(): CircuitStatus[] {
    return this.#healing.circuits();
  }

  /**
   * Runs monitor → optimize → heal → learn every `intervalMs` (never two runs at once), restoring
   * what was learned from `stateFile` first. Calling it again restarts it; options not given keep
   * their previous values.
   *
   * @example
   * ```ts
   * await engine.startAutonomous({ intervalMs: 5 * 60_000, stateFile: './llm-optimizer-state.json' });
   * ```
   */
  startAutonomous(options: AutonomousOptions = {}): Promise<AutonomousStatus> {
    if (this.#closed) return Promise.reject(new OptimizerError('ERR_CLOSED', 'The engine was closed; create a new one'));
    return this.#autonomous.start(options);
  }

  /** Stops autonomous mode after its run in progress, saving the learned state one last time. */
  stopAutonomous(): Promise<AutonomousStatus> {
    return this.#autonomous.stop();
  }

  /** `{ enabled, interval_seconds, runs, last_run_at, next_run_at, last_actions, health }`. */
  getAutonomousStatus(): AutonomousStatus {
    return this.#autonomous.status();
  }

  /** The monitor, its anomalies emitted as `anomaly-detect` (then passed to the user's own `onAnomaly`). */
  #createMonitor(): PerformanceMonitor {
    const options = this.#options.monitor;
    const own = options.onAnomaly;
    if (own !== undefined && typeof own !== 'function') throw new TypeError(`\`monitor.onAnomaly\` must be a function, received ${describe(own)}`);
    const logger = options.logger ?? this.#options.logger;
    return new PerformanceMonitor({
      ...options,
      ...(logger === undefined ? {} : { logger }),
      clock: options.clock ?? this.#clock,
      onAnomaly: (anomaly) => {
        this.#events.emit('anomaly-detect', anomaly);
        return own?.(anomaly);
      },
    });
  }


}

/**
 * Builds a component from a nested options object, so that its configuration errors name the option
 * as the user wrote it (`cache.ttlMs`, not `ttlMs`). Messages that already carry a path are left alone.
 */
function plainObjectOrEmpty(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`\`options\` must be an object, received ${describe(value)}`);
  for (const key of Object.keys(value)) if (key !== 'scope') throw new TypeError(`Unknown option \`options.${key}\`; known options: scope`);
  return value as Record<string, unknown>;
}

function withOptionPath<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if ((error instanceof TypeError || error instanceof RangeError) && error.message.startsWith('`') && !error.message.startsWith(`\`${path}.`)) {
      error.message = `\`${path}.${error.message.slice(1)}`;
    }
    throw error;
  }
}
