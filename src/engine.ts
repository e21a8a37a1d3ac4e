import { cacheInternals, ResponseCache, type CacheInternals } from './cache/response-cache.js';
import { fingerprint, type RequestIdentity } from './cache/cache-key.js';
import { isolate, type Entry } from './cache/entry.js';
import { SingleFlight, type Flight } from './cache/single-flight.js';
import type { Clock } from './clock.js';
import { isOptimizerError, OptimizerError } from './errors.js';
import { EventHub, silentLogger, type EngineEventName, type EngineListener } from './events.js';
import { validateCacheMode, validateExec, validateSignal } from './internal/arguments.js';
import { describe, positiveNumber } from './internal/validate.js';
import { linkMonitorContext, PerformanceMonitor } from './monitor/performance-monitor.js';
import { AutoOptimizer, type AutoOptimizeResult } from './optimizer/auto-optimizer.js';
import { buildOptimizationReport, type OptimizationReport } from './report.js';
import { resolveEngineOptions, type OptimizationEngineOptions, type ResolvedEngineOptions } from './options.js';
import { Throttle } from './optimizer/throttle.js';
import { percent } from './cache/stats.js';
import { StoreTier } from './cache/tiered.js';
import type { Envelope } from './cache/envelope.js';
import type { CacheStore } from './stores/cache-store.js';
import type { CacheMode, CallOptions, CallOutcome, CallStatus, ExecFunction, MissCause, Prompt, TokenUsage } from './types.js';
import { StreamCalls, type StreamHost } from './stream/stream-calls.js';
import type { OptimizedStream, StreamCallOptions, StreamExecFunction } from './stream/types.js';
import { HealthRegistry, type HealthReport, type HealthSource } from './health.js';
import { AutonomousLoop, type AutonomousOptions, type AutonomousStatus } from './optimizer/autonomous.js';
import { autonomousHost } from './optimizer/autonomous-host.js';
import type { CircuitStatus } from './optimizer/circuit-breaker.js';
import { SelfHealing } from './optimizer/self-heal.js';

/** `getCacheStats()`: the original service's shape, snake_case as its dashboards read it. */
export interface CacheStatsReport {
  cache: { size: number; max_size: number; hits: number; misses: number; hit_rate_percent: number; ttl_seconds: number };
  performance_impact: { requests_saved: number; time_saved_estimate_seconds: number; cost_saved_usd: number };
}

/** Everything one call carries through the call path. @internal (the stream path shares it) */
export interface Call<T> {
  readonly prompt: Prompt;
  readonly model: string;
  readonly exec: ExecFunction<T>;
  readonly options: CallOptions;
  readonly id: RequestIdentity;
  readonly fp: number;
  readonly mode: CacheMode;
  readonly signal: AbortSignal | undefined;
  readonly ttlMs: number | undefined;
  readonly start: number;
  readonly status: CallStatus | undefined;
  key: string | undefined;
  stale: Entry | undefined;
  /** Why the in-process lookup missed, captured at lookup time (the cache's `lastMiss` is shared by every call). */
  missCause: MissCause;
}

/** Savings of calls that joined a computation instead of running their own. */
interface Savings {
  coalesced: number;
  storeHits: number;
  timeSavedMs: number;
  tokensSaved: number;
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
  readonly #flights = new SingleFlight<unknown>();
  readonly #throttle: Throttle;
  readonly #savings: Savings = { coalesced: 0, storeHits: 0, timeSavedMs: 0, tokensSaved: 0 };
  readonly #streams: StreamCalls;
  readonly #optimizer: AutoOptimizer;
  readonly #healing: SelfHealing;
  readonly #health = new HealthRegistry();
  readonly #autonomous: AutonomousLoop;
  readonly #tier2: StoreTier | undefined;
  /** Flights whose answer another instance computed, read from the store after waiting on its lock. */
  readonly #answeredByStore = new WeakMap<Flight<unknown>, Envelope>();
  #storeClosed: Promise<void> | undefined;
  #closed = false;

  constructor(options: OptimizationEngineOptions = {}) {
    this.#options = resolveEngineOptions(options);
    this.cache = new ResponseCache(this.#options.cache);
    this.#internals = cacheInternals(this.cache);
    this.#clock = this.#internals.clock;
    this.#events = new EventHub(this.#options.logger ?? silentLogger);
    this.monitor = this.#createMonitor();
    this.#throttle = new Throttle(this.#options.maxConcurrency);
    linkMonitorContext(this.monitor, () => ({ cache: this.cache.getStats(), concurrencyLimit: this.#throttle.limit }));
    this.#optimizer = new AutoOptimizer({
      cache: this.cache, monitor: this.monitor, clock: this.#clock, concurrency: this.#throttle,
      emit: (event, payload) => this.#events.emit(event, payload),
    }, this.#options.optimizer);
    this.store = this.#options.store;
    this.#tier2 = this.store && new StoreTier(this.store, this.#internals, this.#events, this.#options.logger ?? silentLogger);
    this.#internals.onRemove = (entry, reason) => {
      if (this.#events.has('cache-evict')) {
        this.#events.emit('cache-evict', { key: this.#internals.keyOf(entry), model: entry.model, scope: entry.scope, reason });
      }
    };
    const { breaker, retry, healthProbe } = this.#options;
    this.#healing = new SelfHealing({ breaker, retry, healthProbe, clock: this.#clock });
    this.#health.add('model', () => this.#healing.health());
    const tier2 = this.#tier2;
    if (tier2 !== undefined) this.#health.add('store', () => tier2.healthCheck());
    this.#autonomous = new AutonomousLoop(autonomousHost({
      engine: this, cache: this.cache, internals: this.#internals, monitor: this.monitor, healing: this.#healing, clock: this.#clock,
      logger: this.#options.logger ?? silentLogger, emit: (event, payload) => this.#events.emit(event, payload),
    }));
    this.#streams = new StreamCalls(this.#streamHost());
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
    let call: Call<T>;
    try {
      checkCallOptions(options);
      call = this.#prepare(prompt, model, exec as ExecFunction<T>, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call.mode === 'default' || call.mode === 'only-if-cached') {
      const entry = this.#internals.lookup(call.id, call.fp, call.start);
      if (entry !== undefined) return Promise.resolve(this.#hit(call, entry) as T);
      call.stale = this.#internals.lastMiss.stale;
      call.missCause = this.#internals.lastMiss.cause;
    }
    return this.#miss(call);
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
  optimizeAiStream<C>(prompt: Prompt, model: string, execStream: StreamExecFunction<C>, options: StreamCallOptions<C> = {}): OptimizedStream<C> {
    return this.#streams.open(prompt, model, execStream, options);
  }

  /** The cache's figures in the original service's shape. */
  getCacheStats(): CacheStatsReport {
    const stats = this.cache.getStats();
    const { coalesced, timeSavedMs, tokensSaved } = this.#savings;
    const saved = stats.hits + coalesced + this.#savings.storeHits;
    const { costPerRequestUsd, costPer1kTokensUsd } = this.#options;
    return {
      cache: {
        size: stats.size,
        max_size: stats.maxEntries,
        hits: stats.hits,
        misses: stats.misses,
        hit_rate_percent: percent(stats.hits, stats.hits + stats.misses),
        ttl_seconds: stats.ttlMs / 1000,
      },
      performance_impact: {
        requests_saved: saved,
        time_saved_estimate_seconds: Math.round(stats.timeSavedMs + timeSavedMs) / 1000,
        cost_saved_usd: round6(saved * costPerRequestUsd + ((stats.tokensSaved + tokensSaved) / 1000) * costPer1kTokensUsd),
      },
    };
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
    });
  }

  /**
   * Stops the engine: new calls are rejected with `ERR_CLOSED`, calls in flight are aborted, timers
   * stop; resolves once autonomous mode has finished its run in progress and saved its state.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#flights.abortAll(new OptimizerError('ERR_CLOSED', 'The engine was closed'));
      this.#streams.abortAll(new OptimizerError('ERR_CLOSED', 'The engine was closed'));
      this.monitor.close();
      // The store it was given is closed too (once no other open engine uses it), fail-open.
      this.#storeClosed = this.#tier2?.close();
    }
    return Promise.all([this.#autonomous.stop(), this.#storeClosed]).then(() => undefined);
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

  #prepare<T>(prompt: Prompt, model: string, exec: ExecFunction<T>, options: CallOptions): Call<T> {
    if (this.#closed) throw new OptimizerError('ERR_CLOSED', 'The engine was closed; create a new one');
    validateExec(exec);
    const id = this.#internals.identify(prompt, model, options);
    const signal = validateSignal(options.signal);
    signal?.throwIfAborted();
    const call: Call<T> = {
      prompt, model, exec, options, id, fp: fingerprint(id),
      mode: validateCacheMode(options.cache),
      signal,
      ttlMs: options.ttlMs === undefined ? undefined : positiveNumber('ttlMs', options.ttlMs, 0),
      start: this.#clock.now(),
      status: options.status,
      key: undefined,
      stale: undefined,
      missCause: 'new',
    };
    if (this.#events.has('call-start')) {
      this.#events.emit('call-start', { model, scope: id.scope, cache: call.mode, timestamp: call.start });
    }
    return call;
  }

  #hit(call: Call<unknown>, entry: Entry, stale = false): unknown {
    if (!stale) this.#internals.countHit(entry);
    const now = this.#clock.now();
    const { status } = call;
    if (status !== undefined) {
      status.outcome = 'hit';
      status.source = 'memory';
      status.ageMs = now - entry.createdAt;
      status.key = this.#internals.keyOf(entry);
    }
    if (this.#events.has('cache-hit')) {
      this.#events.emit('cache-hit', {
        key: this.#internals.keyOf(entry), model: entry.model, scope: entry.scope, ageMs: now - entry.createdAt, source: 'memory',
      });
    }
    this.#end(call, 'hit', now, entry.key);
    return isolate(entry.value);
  }

  async #miss<T>(call: Call<T>): Promise<T> {
    const key = this.#internals.keyFor(call.id);
    call.key = key;
    if (call.status !== undefined) call.status.key = key;
    try {
      if (this.#tier2 !== undefined && (call.mode === 'default' || call.mode === 'only-if-cached')) {
        const found = await this.#tier2.read(key, call.id, call.fp, call.signal);
        if (found !== undefined) return this.#storeHit(call, found);
      }
      const value = call.mode === 'bypass' ? await this.#run(call, undefined) : await this.#fetch(call, key);
      return value;
    } catch (error) {
      const own = isOwnEnd(call, error);
      if (!own && call.stale !== undefined && call.options.staleIfError === true) return this.#serveStale(call, call.stale);
      this.#fail(call, error, !own);
      throw error;
    }
  }

  async #fetch<T>(call: Call<T>, key: string): Promise<T> {
    const cause = call.mode === 'refresh' ? 'refresh' : call.missCause;
    if (call.status !== undefined) call.status.missCause = cause;
    if (this.#events.has('cache-miss')) this.#events.emit('cache-miss', { key, model: call.model, scope: call.id.scope, cause });
    if (call.mode === 'only-if-cached') {
      throw new OptimizerError('ERR_NOT_CACHED', `No cached answer for this request (key ${key}) and \`cache\` is 'only-if-cached'`);
    }
    let flight = this.#flights.get(key) as Flight<T> | undefined;
    if (flight !== undefined) return this.#join(call, flight);
    if (this.#tier2 !== undefined && call.mode === 'default') {
      // The store read awaited: an identical flight may have finished meanwhile and left its answer here.
      const landed = this.#internals.peek(call.id, call.fp, this.#clock.now());
      if (landed !== undefined) return this.#landed(call, landed);
    }
    const tier2 = call.mode === 'default' ? this.#tier2 : undefined;
    flight = (this.#flights as SingleFlight<T>).start(key, (f) =>
      tier2 === undefined
        ? this.#run(call, f)
        : tier2.compute(key, call.id, call.fp, f.controller.signal, () => this.#run(call, f), (found) => this.#answeredByStore.set(f, found)));
    const value = await this.#flights.wait(flight, call.signal);
    if (!this.#endAnsweredByStore(call, flight)) this.#end(call, 'miss', this.#clock.now(), key, flight.usage);
    return isolate(value) as T;
  }

  /** An answer an identical call stored while this one was reading the shared store: it joined that computation. */
  #landed<T>(call: Call<T>, entry: Entry): T {
    this.#saveCoalesced(entry.execMs, { promptTokens: entry.tokens });
    this.#end(call, 'coalesced', this.#clock.now(), call.key);
    return isolate(entry.value) as T;
  }

  async #join<T>(call: Call<T>, flight: Flight<T>): Promise<T> {
    if (this.#events.has('call-coalesce')) {
      this.#events.emit('call-coalesce', { key: flight.key, model: call.model, scope: call.id.scope, waiters: flight.waiters + 1 });
    }
    const value = await (this.#flights as SingleFlight<T>).wait(flight, call.signal);
    if (!this.#endAnsweredByStore(call, flight)) {
      this.#saveCoalesced(flight.durationMs, flight.usage);
      this.#end(call, 'coalesced', this.#clock.now(), flight.key);
    }
    return isolate(value);
  }

  /** Runs `exec` under the throttle; stores a successful result unless the flight was abandoned or the call bypasses the cache. */
  async #run<T>(call: Call<T>, flight: Flight<T> | undefined): Promise<T> {
    const signal = flight?.controller.signal ?? call.signal ?? new AbortController().signal;
    const usage: TokenUsage = {};
    const context = { signal, key: call.key ?? '', reportUsage: (u: TokenUsage) => Object.assign(usage, u) };
    // Timed from the moment exec starts, not from entering the throttle's queue: time saved by a hit
    // is the model's work, not the wait behind other calls (nor a retry's backoff: the last attempt counts).
    let started = 0;
    const attempt = (): Promise<T> => this.#throttle.run(() => ((started = this.#clock.now()), call.exec(call.prompt, call.model, context)), signal);
    const value = await this.#healing.run(call.model, attempt, signal);
    const execMs = this.#clock.now() - started;
    if (flight === undefined) {
      this.#end(call, 'bypass', this.#clock.now(), call.key, usage);
      return value;
    }
    flight.durationMs = execMs;
    flight.usage = usage;
    if (!signal.aborted && value !== undefined && (call.options.isComplete?.(value) ?? true)) {
      this.#store(call, value, execMs, usage);
      const tokens = (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0);
      this.#tier2?.write(call.key ?? '', value, { ttlMs: call.ttlMs ?? this.cache.options.ttlMs, execMs, tokens });
    }
    return value;
  }

  #store(call: Call<unknown>, value: unknown, execMs: number, usage: TokenUsage): Entry | undefined {
    const tokens = (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0);
    const entry = this.#internals.write(call.id, call.fp, value, { ttlMs: call.ttlMs, execMs, tokens, key: call.key });
    if (call.status !== undefined) call.status.stored = entry !== undefined;
    if (entry !== undefined && this.#events.has('cache-write')) {
      this.#events.emit('cache-write', {
        key: this.#internals.keyOf(entry), model: call.model, scope: call.id.scope, bytes: entry.bytes, ttlMs: entry.expiresAt - entry.createdAt,
      });
    }
    return entry;
  }

  #saveCoalesced(durationMs: number, usage: TokenUsage | undefined): void {
    this.#savings.coalesced++;
    this.#savings.timeSavedMs += durationMs;
    this.#savings.tokensSaved += (usage?.promptTokens ?? 0) + (usage?.outputTokens ?? 0);
  }

  /** The stream path (src/stream) shares the call bookkeeping: lookups, records, events, savings. */
  #streamHost(): StreamHost {
    return {
      internals: this.#internals, clock: this.#clock, events: this.#events, throttle: this.#throttle, healing: this.#healing,
      prepare: (prompt, model, exec, options) => this.#prepare(prompt, model, exec, options),
      hit: (call, entry, stale) => this.#hit(call, entry, stale),
      end: (call, outcome, now, key, usage) => this.#end(call, outcome, now, key, usage),
      fail: (call, error) => this.#fail(call, error),
      store: (call, value, execMs, usage) => this.#store(call, value, execMs, usage),
      saved: (durationMs, usage) => this.#saveCoalesced(durationMs, usage),
      readShared: (call, signal) => this.#tier2?.read(call.key ?? '', call.id, call.fp, signal),
      storeHit: (call, found) => this.#storeHit(call, found),
      share: (call, value, execMs, usage) => this.#tier2?.write(call.key ?? '', value, {
        ttlMs: call.ttlMs ?? this.cache.options.ttlMs, execMs, tokens: (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0),
      }),
    };
  }

  /** An answer read from the shared store (already promoted to the in-process cache). */
  #storeHit<T>(call: Call<T>, found: Envelope): T {
    const now = this.#clock.now();
    const ageMs = Math.max(0, now - found.createdAt);
    if (call.status !== undefined) Object.assign(call.status, { outcome: 'hit', source: 'store', ageMs });
    this.#savings.storeHits++;
    this.#savings.timeSavedMs += found.execMs;
    this.#savings.tokensSaved += found.tokens;
    if (this.#events.has('cache-hit')) {
      this.#events.emit('cache-hit', { key: found.key, model: call.model, scope: call.id.scope, ageMs, source: 'store' });
    }
    this.#end(call, 'hit', now, found.key);
    return isolate(found.value) as T;
  }

  /**
   * A call whose flight got its answer from another instance through the store's lock: coalesced
   * across instances (`source: 'store'`), a request saved, not a model call. False for other flights.
   */
  #endAnsweredByStore(call: Call<unknown>, flight: Flight<unknown>): boolean {
    const found = this.#answeredByStore.get(flight);
    if (found === undefined) return false;
    const now = this.#clock.now();
    if (call.status !== undefined) Object.assign(call.status, { source: 'store', ageMs: Math.max(0, now - found.createdAt) });
    this.#savings.coalesced++;
    this.#savings.timeSavedMs += found.execMs;
    this.#savings.tokensSaved += found.tokens;
    this.#end(call, 'coalesced', now, found.key);
    return true;
  }

  #serveStale<T>(call: Call<T>, entry: Entry): T {
    if (call.status !== undefined) call.status.stale = true;
    return this.#hit(call, entry, true) as T;
  }

  /** Reports a failed call; `modelFailed: false` (the caller left, nothing was cached, the engine closed) keeps it out of the monitor's model figures. */
  #fail(call: Call<unknown>, error: unknown, modelFailed = true): void {
    const now = this.#clock.now();
    if (call.status !== undefined) call.status.error = error;
    if (this.#events.has('call-error')) {
      this.#events.emit('call-error', {
        model: call.model, scope: call.id.scope, error, durationMs: now - call.start, key: call.key, timestamp: now,
      });
    }
    this.#end(call, 'error', now, call.key, undefined, modelFailed);
  }

  #end(call: Call<unknown>, outcome: CallOutcome, now: number, key: string | undefined, usage?: TokenUsage, record = true): void {
    const durationMs = now - call.start;
    if (call.status !== undefined) {
      call.status.outcome = outcome;
      call.status.durationMs = durationMs;
    }
    if (record) this.monitor.recordCall({
      model: call.model, scope: call.id.scope, outcome, durationMs, timestampMs: now, usage, inFlight: this.#throttle.active + this.#throttle.queued,
    });
    if (this.#events.has('call-end')) {
      this.#events.emit('call-end', { model: call.model, scope: call.id.scope, outcome, durationMs, key, timestamp: now });
    }
  }
}

const CALL_OPTIONS = new Set(['params', 'scope', 'signal', 'ttlMs', 'cache', 'staleIfError', 'status', 'isComplete']);

/** A misspelt per-call option (`ttl` for `ttlMs`) must fail, not be silently ignored. */
function checkCallOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`\`options\` must be an object, received ${describe(options)}`);
  for (const key in options) {
    if (!CALL_OPTIONS.has(key)) throw new TypeError(`Unknown call option \`${key}\`; known options: ${[...CALL_OPTIONS].join(', ')}`);
  }
}

/**
 * Errors that end a call without saying anything about the model: the caller's own abort, a miss in
 * `only-if-cached` mode, the engine closing. Not served stale, not counted as model failures.
 */
function isOwnEnd(call: Call<unknown>, error: unknown): boolean {
  if (call.signal?.aborted === true && error === call.signal.reason) return true;
  return isOptimizerError(error) && (error.code === 'ERR_NOT_CACHED' || error.code === 'ERR_CLOSED');
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
