import type { CacheInternals } from './cache/response-cache.js';
import { fingerprint, type RequestIdentity } from './cache/cache-key.js';
import { isolate, type Entry } from './cache/entry.js';
import type { Envelope } from './cache/envelope.js';
import { SingleFlight, type Flight } from './cache/single-flight.js';
import type { StoreTier } from './cache/tiered.js';
import type { Clock } from './clock.js';
import { isOptimizerError, OptimizerError } from './errors.js';
import type { EventHub } from './events.js';
import {
  checkCallOptions, validateCacheMode, validateExec, validateIsComplete, validateSignal, validateStatus, validateTags, validateValueMode,
} from './internal/arguments.js';
import { writeThrough } from './internal/status-guard.js';
import { nonNegativeNumber, positiveNumber } from './internal/validate.js';
import { raceSignal } from './internal/abort.js';
import { shouldRefreshAhead, type ResolvedFreshness } from './cache/freshness.js';
import { Revalidation, SOFT, type FreshnessCounts } from './cache/revalidation.js';
import { elapsedMs } from './internal/elapsed.js';
import type { PerformanceMonitor } from './monitor/performance-monitor.js';
import type { SelfHealing } from './optimizer/self-heal.js';
import type { Throttle } from './optimizer/throttle.js';
import { STREAM_PARAM, type StreamHost } from './stream/stream-calls.js';
import { traceCallEnd, traceCallStart, type CallTraceMessage } from './tracing/channels.js';
import type { ResolvedRoute } from './routing/routing-options.js';
import type { RouteDecision, RouteOverride, TierRun } from './routing/route-types.js';
import type { Router } from './routing/router.js';
import type { Assignment, Experiments } from './experiments/experiments.js';
import type { CacheMode, CallOptions, CallOutcome, CallStatus, ExecContext, ExecFunction, MissCause, Prompt, TokenUsage } from './types.js';

/** Everything one call carries through the call path. @internal (the stream path shares it) */
export interface Call<T> {
  readonly prompt: Prompt;
  readonly model: string;
  readonly exec: ExecFunction<T>;
  readonly options: CallOptions;
  readonly id: RequestIdentity;
  readonly fp: number;
  readonly mode: CacheMode;
  /** `values: 'shared'`: the value is stored and handed out as it is, never copied. */
  readonly shared: boolean;
  readonly signal: AbortSignal | undefined;
  readonly ttlMs: number | undefined;
  readonly start: number;
  readonly status: CallStatus | undefined;
  /** How long past expiry an entry is served at once (0: not at all). */
  readonly graceMs: number;
  readonly softTimeoutMs: number | undefined;
  readonly tags: readonly string[] | undefined;
  key: string | undefined;
  stale: Entry | undefined;
  /** Why the in-process lookup missed, captured at lookup time (the cache's `lastMiss` is shared by every call). */
  missCause: MissCause;
  /** The tracing channel's message of this call; undefined when nobody subscribes (src/tracing/channels.ts). */
  trace: CallTraceMessage | undefined;
  /** An experiment variant's routing override, if the call is in one. */
  readonly route: RouteOverride | undefined;
  /** The experiment arm the call was assigned to, if any. */
  readonly arm: Assignment | undefined;
  /** What the router did, when this call ran a route. */
  decision: RouteDecision | undefined;
  /** A routed stream's tier, until the stream's run is recorded in the tier's figures. */
  streamTier: string | undefined;
}

/** When the model work of one call started. */
interface Timing {
  started: number;
  first: boolean;
}

/** What running the model (or a route's tiers) gave. */
interface Ran<T> {
  value: T;
  usage: TokenUsage;
  cacheable: boolean;
}

/** Savings of calls that joined a computation instead of running their own. */
export interface Savings {
  coalesced: number;
  storeHits: number;
  timeSavedMs: number;
  tokensSaved: number;
}

/** What the call path needs from the engine that owns it. */
export interface CallPathDeps {
  readonly internals: CacheInternals;
  readonly clock: Clock;
  readonly events: EventHub;
  readonly throttle: Throttle;
  readonly healing: SelfHealing;
  readonly tier2: StoreTier | undefined;
  readonly monitor: PerformanceMonitor;
  readonly isClosed: () => boolean;
  readonly defaultTtlMs: () => number;
  readonly router: Router;
  readonly experiments: Experiments;
  readonly freshness: ResolvedFreshness;
}

/**
 * The call path of `optimizeAiCall` (DESIGN §3): validate, look up in memory, then the shared store,
 * coalesce, run `exec` under the throttle and self-healing, store, record. The engine composes it;
 * the stream path shares its bookkeeping through `streamHost()`.
 */
export class CallPath {
  /** Savings of calls that did not run their own exec (coalesced, answered by the store). */
  readonly savings: Savings = { coalesced: 0, storeHits: 0, timeSavedMs: 0, tokensSaved: 0 };
  readonly #freshness: ResolvedFreshness;
  /** XFetch's beta, 0 when refresh-ahead is off: the hit path reads one number. */
  readonly #beta: number;
  readonly #revalidation: Revalidation;
  readonly #internals: CacheInternals;
  readonly #clock: Clock;
  readonly #events: EventHub;
  readonly #throttle: Throttle;
  readonly #healing: SelfHealing;
  readonly #tier2: StoreTier | undefined;
  readonly #monitor: PerformanceMonitor;
  readonly #isClosed: () => boolean;
  readonly #defaultTtlMs: () => number;
  readonly #router: Router;
  readonly #experiments: Experiments;
  readonly #flights = new SingleFlight<unknown>();
  /** Signals of `cache: 'bypass'` calls running (they have no flight): `close()` aborts them too. */
  readonly #bypassing = new Set<AbortController>();
  /** Flights whose answer another instance computed, read from the store after waiting on its lock. */
  readonly #answeredByStore = new WeakMap<Flight<unknown>, Envelope>();

  constructor(deps: CallPathDeps) {
    this.#internals = deps.internals;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#throttle = deps.throttle;
    this.#healing = deps.healing;
    this.#tier2 = deps.tier2;
    this.#monitor = deps.monitor;
    this.#isClosed = deps.isClosed;
    this.#defaultTtlMs = deps.defaultTtlMs;
    this.#router = deps.router;
    this.#experiments = deps.experiments;
    this.#freshness = deps.freshness;
    this.#beta = deps.freshness.beta;
    this.#revalidation = new Revalidation({
      internals: deps.internals, clock: deps.clock, events: deps.events, tier2: deps.tier2, freshness: deps.freshness,
      flights: this.#flights, answeredByStore: this.#answeredByStore, run: (call, flight) => this.#run(call, flight),
    });
  }

  /** What the freshness machinery did (stale answers, background refreshes). */
  get freshnessCounts(): FreshnessCounts {
    return this.#revalidation.counts;
  }

  /** `optimizeAiCall`: the synchronous in-process lookup first, everything else on a miss. */
  call<T>(prompt: Prompt, model: string, exec: ExecFunction<T>, options: CallOptions): Promise<T> {
    let call: Call<T>;
    try {
      checkCallOptions(options, STREAM_PARAM);
      call = this.#prepare(prompt, model, exec, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call.mode === 'default' || call.mode === 'only-if-cached') {
      const entry = this.#internals.lookup(call.id, call.fp, call.start);
      if (entry !== undefined) {
        // A promise-returning method never throws: a custom hash run for `status.key` may.
        try {
          const value = this.#hit(call, entry) as T;
          if (this.#beta > 0 && call.mode === 'default' && shouldRefreshAhead(call.start, entry.expiresAt, entry.execMs, this.#beta)) {
            this.#revalidation.start(call, entry, 'ahead');
          }
          return Promise.resolve(value);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const stale = this.#internals.lastMiss.stale;
      call.stale = stale;
      call.missCause = this.#internals.lastMiss.cause;
      // Seen before its creation (the clock was set back), an entry's age is unknown: no grace for it.
      if (stale !== undefined && call.start - stale.expiresAt < call.graceMs && call.start >= stale.createdAt) {
        try {
          return Promise.resolve(this.#serveGrace(call, stale) as T);
        } catch (error) {
          return Promise.reject(error);
        }
      }
    }
    return this.#miss(call);
  }

  /** Stale-while-revalidate: the expired entry at once, a refresh in the background (not for `only-if-cached`). */
  #serveGrace(call: Call<unknown>, stale: Entry): unknown {
    const value = this.#serveStale(call, stale, 'grace');
    if (call.mode === 'default') this.#revalidation.start(call, stale, 'grace');
    return value;
  }

  /** Aborts every computation in flight and rejects its callers with `reason` (the engine closes). */
  abortAll(reason: unknown): void {
    this.#flights.abortAll(reason);
    for (const controller of this.#bypassing) controller.abort(reason);
    this.#bypassing.clear();
  }

  #prepare<T>(prompt: Prompt, model: string, exec: ExecFunction<T>, options: CallOptions, operation: 'call' | 'stream' = 'call'): Call<T> {
    if (this.#isClosed()) throw new OptimizerError('ERR_CLOSED', 'The engine was closed; create a new one');
    validateExec(exec);
    validateIsComplete(options);
    const id = this.#internals.identify(prompt, model, options);
    const signal = validateSignal(options.signal);
    signal?.throwIfAborted();
    const arm = this.#experiments.size === 0 ? undefined : this.#experiments.assign(model, id.scope, () => id.header + id.text);
    // A variant overrides the engine's settings; a call's own explicit options still win.
    const variant = arm?.settings;
    const ttlMs = options.ttlMs ?? variant?.ttlMs;
    const call: Call<T> = {
      prompt, model, exec, options, id, fp: fingerprint(id),
      mode: validateCacheMode(options.cache ?? variant?.cache),
      shared: validateValueMode(options.values) === 'shared',
      signal,
      ttlMs: ttlMs === undefined ? undefined : positiveNumber('ttlMs', ttlMs, 0),
      start: this.#clock.now(),
      status: options.status === undefined ? undefined : writeThrough(validateStatus(options.status), (error) => this.#events.warn('The `status` object could not be written', error)),
      graceMs: options.graceMs === undefined ? this.#freshness.graceMs : nonNegativeNumber('graceMs', options.graceMs, 0),
      softTimeoutMs: options.softTimeoutMs === undefined ? this.#freshness.softTimeoutMs : positiveNumber('softTimeoutMs', options.softTimeoutMs, 0),
      tags: options.tags === undefined ? undefined : validateTags(options.tags),
      key: undefined,
      stale: undefined,
      missCause: 'new',
      trace: undefined,
      route: variant?.route,
      arm,
      decision: undefined,
      streamTier: undefined,
    };
    call.trace = traceCallStart(operation, prompt, model, id.scope, call.mode);
    if (arm !== undefined && call.status !== undefined) call.status.experiment = { name: arm.experiment.name, variant: arm.variant };
    if (this.#events.has('call-start')) {
      this.#events.emit('call-start', { model, scope: id.scope, cache: call.mode, timestamp: call.start });
    }
    return call;
  }

  #hit(call: Call<unknown>, entry: Entry, stale = false): unknown {
    if (stale) this.#revalidation.counts.staleServed++;
    else this.#internals.countHit(entry);
    const { status } = call;
    // The monitor times model calls only; a hit is timed (a second clock read) just for a caller who
    // asked: a status object or a listener that receives its duration or age.
    const timed = status !== undefined || this.#events.has('call-end') || this.#events.has('cache-hit');
    const now = timed ? this.#clock.now() : call.start;
    if (status !== undefined) {
      status.outcome = 'hit';
      status.source = 'memory';
      status.ageMs = elapsedMs(entry.createdAt, now);
      status.key = this.#internals.keyOf(entry);
    }
    this.#events.emitBuilt('cache-hit', () => ({
      key: this.#internals.keyOf(entry), model: entry.model, scope: entry.scope, ageMs: elapsedMs(entry.createdAt, now), source: 'memory',
      ...(stale ? { stale: true as const } : {}),
    }));
    this.#end(call, 'hit', now, this.#events.has('call-end') ? entry.key : undefined);
    return give(call, entry.value);
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
      const value = call.mode === 'bypass' ? await this.#bypass(call) : await this.#fetch(call, key);
      return value;
    } catch (error) {
      const own = isOwnEnd(call, error);
      if (!own && call.stale !== undefined && (call.options.staleIfError ?? call.arm?.settings.staleIfError) === true) return this.#serveStale(call, call.stale, 'error') as T;
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
    const value = await this.#revalidation.wait(call, flight);
    if (value === SOFT) return this.#serveStale(call, call.stale as Entry, 'soft-timeout') as T;
    if (!this.#endAnsweredByStore(call, flight)) this.#end(call, 'miss', this.#clock.now(), key, flight.usage);
    return give(call, value as T);
  }

  /** An answer an identical call stored while this one was reading the shared store: it joined that computation. */
  #landed<T>(call: Call<T>, entry: Entry): T {
    this.#saveCoalesced(entry.execMs, { promptTokens: entry.tokens });
    this.#end(call, 'coalesced', this.#clock.now(), call.key);
    return give(call, entry.value as T);
  }

  async #join<T>(call: Call<T>, flight: Flight<T>): Promise<T> {
    if (this.#events.has('call-coalesce')) {
      this.#events.emit('call-coalesce', { key: flight.key, model: call.model, scope: call.id.scope, waiters: flight.waiters + 1 });
    }
    const value = await this.#revalidation.wait(call, flight);
    if (value === SOFT) return this.#serveStale(call, call.stale as Entry, 'soft-timeout') as T;
    if (!this.#endAnsweredByStore(call, flight)) {
      this.#saveCoalesced(flight.durationMs, flight.usage);
      this.#end(call, 'coalesced', this.#clock.now(), flight.key);
    }
    return give(call, value);
  }

  /**
   * A `cache: 'bypass'` call: no flight, so it gets its own signal, which the caller's signal and
   * `close()` abort; the call ends at once then, even when `exec` ignores its signal.
   */
  async #bypass<T>(call: Call<T>): Promise<T> {
    const own = new AbortController();
    const { signal } = call;
    const forward = (): void => own.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    this.#bypassing.add(own);
    try {
      return await raceSignal(this.#run(call, undefined, own.signal), own.signal);
    } finally {
      signal?.removeEventListener('abort', forward);
      this.#bypassing.delete(own);
    }
  }

  /** Runs `exec` (or the route's tiers) under the throttle; stores a successful result unless the flight was abandoned or the call bypasses the cache. */
  async #run<T>(call: Call<T>, flight: Flight<T> | undefined, own?: AbortSignal): Promise<T> {
    const signal = flight?.controller.signal ?? own ?? call.signal ?? new AbortController().signal;
    const route = this.#router.size === 0 ? undefined : this.#router.route(call.model);
    const timing = { started: 0, first: true };
    const { value, usage, cacheable } = route === undefined
      ? await this.#runModel(call, signal, timing)
      : await this.#runRoute(call, route, signal, timing);
    const execMs = elapsedMs(timing.started, this.#clock.now());
    if (flight === undefined) {
      this.#end(call, 'bypass', this.#clock.now(), call.key, usage);
      return value;
    }
    flight.durationMs = execMs;
    flight.usage = usage;
    if (cacheable && !signal.aborted && value !== undefined && (call.options.isComplete?.(value) ?? true)) {
      this.#store(call, value, execMs, usage);
      this.#share(call, value, execMs, usage);
    }
    return value;
  }

  /** One model: `exec` through the throttle, the model's circuit and retries. */
  async #runModel<T>(call: Call<T>, signal: AbortSignal, timing: Timing): Promise<Ran<T>> {
    const usage: TokenUsage = {};
    const value = await this.#attempt(call, call.model, signal, timing, usage, undefined);
    return { value, usage, cacheable: true };
  }

  /** A logical model of the engine's `routes`: the router picks (and may escalate) the tier. */
  async #runRoute<T>(call: Call<T>, route: ResolvedRoute, signal: AbortSignal, timing: Timing): Promise<Ran<T>> {
    const result = await this.#router.run<T>(route, {
      prompt: call.prompt, params: call.options.params, signal, override: call.route,
      isComplete: (value) => value !== undefined && (call.options.isComplete?.(value) ?? true),
      runTier: (model, run, wantsLogprobs) => this.#attempt(call, model, signal, timing, run.usage, { run, wantsLogprobs }),
    });
    call.decision = result.decision;
    if (call.status !== undefined) call.status.route = result.decision;
    return { value: result.value, usage: result.usage, cacheable: result.cacheable };
  }

  /**
   * Runs `exec` for `model`. Timed from the moment exec starts, not from entering the throttle's
   * queue: time saved by a hit is the model's work, not the wait behind other calls (nor a retry's
   * backoff: the last attempt counts; a routed call counts from its first tier on).
   */
  #attempt<T>(call: Call<T>, model: string, signal: AbortSignal, timing: Timing, usage: TokenUsage, tier: { run: TierRun; wantsLogprobs: boolean } | undefined): Promise<T> {
    const context: ExecContext = {
      signal, key: call.key ?? '', wantsLogprobs: tier?.wantsLogprobs ?? false,
      reportUsage: (u: TokenUsage) => void Object.assign(usage, u),
      reportLogprobs: (logprobs) => {
        if (tier !== undefined && (Array.isArray(logprobs) || ArrayBuffer.isView(logprobs))) tier.run.logprobs = cleanLogprobs(logprobs as ArrayLike<unknown>);
      },
    };
    const attempt = (): Promise<T> => this.#throttle.run(() => {
      if (tier === undefined || timing.first) timing.started = this.#clock.now();
      timing.first = false;
      return call.exec(call.prompt, model, context);
    }, signal);
    return this.#healing.run(model, attempt, signal);
  }

  #store(call: Call<unknown>, value: unknown, execMs: number, usage: TokenUsage): Entry | undefined {
    const tokens = (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0);
    const tier2 = this.#tier2;
    // Shared with a store, an entry keeps its key (replicas invalidate by key) and lives in memory
    // at most the store's `maxStaleMs` (the bound on serving an invalidation this replica missed).
    const ttlMs = tier2 === undefined || tier2.maxStaleMs === Number.POSITIVE_INFINITY
      ? call.ttlMs
      : Math.min(call.ttlMs ?? this.#defaultTtlMs(), tier2.maxStaleMs);
    const entry = this.#internals.write(call.id, call.fp, value, { ttlMs, execMs, tokens, key: tier2 === undefined ? undefined : call.key, shared: call.shared, tags: call.tags });
    if (call.status !== undefined) call.status.stored = entry !== undefined;
    if (entry !== undefined) {
      this.#events.emitBuilt('cache-write', () => ({
        key: this.#internals.keyOf(entry), model: call.model, scope: call.id.scope, bytes: entry.bytes, ttlMs: call.ttlMs ?? this.#internals.ttlMs(),
      }));
    }
    return entry;
  }

  #share(call: Call<unknown>, value: unknown, execMs: number, usage: TokenUsage): void {
    this.#tier2?.write(call.key ?? '', value, {
      ttlMs: call.ttlMs ?? this.#defaultTtlMs(), execMs, tokens: (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0), scope: call.id.scope, model: call.model, tags: call.tags,
    });
  }

  #saveCoalesced(durationMs: number, usage: TokenUsage | undefined): void {
    this.savings.coalesced++;
    // A stream flight times itself; a clock jump back must not make its saving negative.
    this.savings.timeSavedMs += Math.max(0, durationMs);
    this.savings.tokensSaved += (usage?.promptTokens ?? 0) + (usage?.outputTokens ?? 0);
  }

  /** The stream path (src/stream) shares the call bookkeeping: lookups, records, events, savings. */
  streamHost(): StreamHost {
    return {
      internals: this.#internals, clock: this.#clock, events: this.#events, throttle: this.#throttle, healing: this.#healing,
      prepare: (prompt, model, exec, options) => this.#prepare(prompt, model, exec, options, 'stream'),
      hit: (call, entry, stale) => this.#hit(call, entry, stale),
      end: (call, outcome, now, key, usage) => this.#end(call, outcome, now, key, usage),
      fail: (call, error) => this.#fail(call, error),
      store: (call, value, execMs, usage) => this.#store(call, value, execMs, usage),
      saved: (durationMs, usage) => this.#saveCoalesced(durationMs, usage),
      readShared: (call, signal) => this.#tier2?.read(call.key ?? '', call.id, call.fp, signal),
      storeHit: (call, found) => this.#storeHit(call, found),
      tierOf: (call) => {
        const route = this.#router.size === 0 ? undefined : this.#router.route(call.model);
        if (route === undefined) return call.model;
        const decision = this.#router.pick(route, call.prompt, call.options.params, call.route);
        call.decision = decision;
        call.streamTier = decision.tier;
        if (call.status !== undefined) call.status.route = decision;
        return decision.tier;
      },
      share: (call, value, execMs, usage) => this.#share(call, value, execMs, usage),
    };
  }

  /** An answer read from the shared store (already promoted to the in-process cache). */
  #storeHit<T>(call: Call<T>, found: Envelope): T {
    const now = this.#clock.now();
    const ageMs = elapsedMs(found.createdAt, now);
    if (call.status !== undefined) Object.assign(call.status, { outcome: 'hit', source: 'store', ageMs });
    if (call.trace !== undefined) call.trace.source = 'store';
    this.savings.storeHits++;
    this.savings.timeSavedMs += found.execMs;
    this.savings.tokensSaved += found.tokens;
    if (this.#events.has('cache-hit')) {
      this.#events.emit('cache-hit', { key: found.key, model: call.model, scope: call.id.scope, ageMs, source: 'store' });
    }
    this.#end(call, 'hit', now, found.key);
    return give(call, found.value as T);
  }

  /**
   * A call whose flight got its answer from another instance through the store's lock: coalesced
   * across instances (`source: 'store'`), a request saved, not a model call. False for other flights.
   */
  #endAnsweredByStore(call: Call<unknown>, flight: Flight<unknown>): boolean {
    const found = this.#answeredByStore.get(flight);
    if (found === undefined) return false;
    const now = this.#clock.now();
    if (call.status !== undefined) Object.assign(call.status, { source: 'store', ageMs: elapsedMs(found.createdAt, now) });
    if (call.trace !== undefined) call.trace.source = 'store';
    this.savings.coalesced++;
    this.savings.timeSavedMs += found.execMs;
    this.savings.tokensSaved += found.tokens;
    this.#end(call, 'coalesced', now, found.key);
    return true;
  }

  #serveStale(call: Call<unknown>, entry: Entry, reason: 'grace' | 'soft-timeout' | 'error'): unknown {
    if (call.status !== undefined) {
      call.status.stale = true;
      call.status.staleReason = reason;
    }
    return this.#hit(call, entry, true);
  }

  /** Reports a failed call; `modelFailed: false` (the caller left, nothing was cached, the engine closed) keeps it out of the monitor's model figures. */
  #fail(call: Call<unknown>, error: unknown, modelFailed = true): void {
    const now = this.#clock.now();
    if (call.status !== undefined) call.status.error = error;
    if (call.trace !== undefined) call.trace.error = error;
    if (this.#events.has('call-error')) {
      this.#events.emit('call-error', {
        model: call.model, scope: call.id.scope, error, durationMs: elapsedMs(call.start, now), key: call.key, timestamp: now,
      });
    }
    this.#end(call, 'error', now, call.key, undefined, modelFailed);
  }

  #end(call: Call<unknown>, outcome: CallOutcome, now: number, key: string | undefined, usage?: TokenUsage, record = true): void {
    const durationMs = elapsedMs(call.start, now);
    if (call.status !== undefined) {
      call.status.outcome = outcome;
      call.status.durationMs = durationMs;
    }
    if (record) this.#monitor.recordCall({
      model: call.model, scope: call.id.scope, outcome, durationMs, timestampMs: now, usage, inFlight: this.#throttle.active + this.#throttle.queued,
    });
    if (this.#events.has('call-end')) {
      this.#events.emit('call-end', { model: call.model, scope: call.id.scope, outcome, durationMs, key, timestamp: now, usage });
    }
    if (call.streamTier !== undefined && outcome !== 'hit' && outcome !== 'coalesced') {
      // A routed stream's run, recorded once it ended (a routed call's tiers are timed by the router itself).
      this.#router.recordStream(call.model, call.streamTier, durationMs, usage ?? {}, outcome === 'error' && record);
      call.streamTier = undefined;
    }
    if (call.arm !== undefined) {
      const tokens = usage === undefined || outcome === 'hit' || outcome === 'coalesced' ? undefined : (usage.promptTokens ?? 0) + (usage.outputTokens ?? 0);
      this.#experiments.record(call.arm, { outcome, durationMs, tokens, escalated: call.decision?.escalated }, key ?? call.key);
    }
    if (call.trace !== undefined) traceCallEnd(call.trace, outcome, durationMs, key, usage, call.mode === 'refresh' ? 'refresh' : call.missCause);
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

/** What a caller gets: a private copy, or (`values: 'shared'`) the value itself. */
function give<T>(call: Call<unknown>, value: T): T {
  return call.shared ? value : isolate(value);
}

/** Lowest log-probability counted: -Infinity (a token of probability 0) is the least confident there is, not a value to drop. */
const MIN_LOGPROB = -1000;

/**
 * Log-probabilities as the router judges them: numbers held to [MIN_LOGPROB, 0] (a positive one is
 * invalid and counts as certainty at most, -Infinity as the lowest), NaN and non-numbers dropped.
 */
function cleanLogprobs(values: ArrayLike<unknown>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const lp = values[i];
    if (typeof lp === 'number' && !Number.isNaN(lp)) out.push(Math.min(0, Math.max(MIN_LOGPROB, lp)));
  }
  return out;
}
