import { raceSignal, withDeadline } from '../internal/abort.js';
import type { Clock } from '../clock.js';
import { createSeasonalForecaster } from './seasonal-forecaster.js';
import type { SeasonalForecaster } from './seasonal-forecaster.js';

/** What a warm-up hook receives. */
export interface WarmUpContext {
  /** How long the server should keep the model loaded after this warm-up (Ollama's `keep_alive`). */
  readonly keepAliveMs: number;
  /** Aborted when the engine closes. */
  readonly signal: AbortSignal;
}

/** Options of predictive warm-up (`new OptimizationEngine({ warmUp })`). */
export interface WarmUpOptions {
  /**
   * Loads `model` on the server. For Ollama: `ollamaWarmUp(client)` from
   * `llm-optimization-engine/ollama` (an empty request with `keep_alive`); for a custom `exec`,
   * your own. A rejection is reported in the `model-warm-up` event, never thrown.
   */
  readonly run: (model: string, context: WarmUpContext) => Promise<unknown>;
  /** How long the server keeps an idle model loaded (Ollama: `OLLAMA_KEEP_ALIVE`, 5 min by default). @default 300_000 */
  readonly serverKeepAliveMs?: number;
  /** How long before predicted traffic the model is loaded (longer than a cold load). @default 60_000 */
  readonly leadMs?: number;
  /** Width of the call-count buckets the forecast is made of; must divide a day. @default 300_000 */
  readonly bucketMs?: number;
  /** `keep_alive` asked for by a warm-up. @default bucketMs + leadMs */
  readonly keepAliveMs?: number;
  /** Warm-ups per model in any 24 hours; also what a wrong forecast can waste at most. @default 96 */
  readonly maxPerDay?: number;
  /** Warm up only when at least one call in the next bucket is at least this likely (Poisson). @default 0.5 */
  readonly minProbability?: number;
  /** How often the schedule is checked; `false`: only when `checkWarmUps()` is called (tests). @default 15_000 */
  readonly checkIntervalMs?: number | false;
}

export type ResolvedWarmUpOptions = Required<Omit<WarmUpOptions, 'checkIntervalMs'>> & { readonly checkIntervalMs: number | false };

/** One warm-up, as reported in the `model-warm-up` event and the report. */
export interface WarmUpRecord {
  model: string;
  /** Calls the forecast expects in the coming bucket. */
  expectedCalls: number;
  /** Chance of at least one call in it (Poisson). */
  probability: number;
  keepAliveMs: number;
  timestamp: number;
  durationMs: number;
  /** Set when the hook rejected. */
  error?: unknown;
}

/** Per-model figures of `WarmUpScheduler.stats()`. */
export interface ModelWarmUpStats {
  warmUps: number;
  failed: number;
  /** Warm-ups the daily budget refused. */
  skippedBudget: number;
  /** Calls seen in the current bucket. */
  callsInBucket: number;
  /** Expected calls in the next bucket. */
  nextBucketForecast: number;
  /** Largest expected calls per bucket over the next 24 hours, and when. */
  peakForecast: number;
  peakAt: number;
}

/** The next 24 hours of forecast traffic, per model: expected calls per bucket from `firstBucketMs` on. */
export interface CapacityForecast {
  bucketMs: number;
  firstBucketMs: number;
  /** `keep_alive` the warm-ups ask for. */
  keepAliveMs: number;
  models: Record<string, number[]>;
}

/** Models tracked at most; calls to further models are not forecast (the map stays bounded). */
const MAX_MODELS = 64;
/** Longest a warm-up may take (loading a 70B model from disk takes tens of seconds). */
const WARM_UP_TIMEOUT_MS = 300_000;
const DAY_MS = 86_400_000;
/** Empty buckets fed after a long gap, at most (a week of 5-minute buckets). */
const MAX_GAP_BUCKETS = 2016;

class ModelSchedule {
  readonly forecaster: SeasonalForecaster;
  bucket = Number.NaN;
  count = 0;
  inFlight = 0;
  warming = false;
  /** When the server unloads the model if nothing else happens (last call + server keep-alive, or warm-up + its keep_alive). */
  loadedUntil = Number.NEGATIVE_INFINITY;
  decidedBucket = Number.NaN;
  readonly warmUpTimes: number[] = [];
  warmUps = 0;
  failed = 0;
  skippedBudget = 0;

  constructor(bucketMs: number) {
    this.forecaster = createSeasonalForecaster({ bucketMs });
  }
}

/**
 * Forecasts each model's call rate (a {@link SeasonalForecaster} over call counts per bucket) and,
 * when the model would be unloaded `leadMs` from now (its last call + the server's keep-alive, or
 * the last warm-up + its keep_alive, are past by then) while the bucket then probably brings calls,
 * loads it (at most once per bucket): nothing in flight, within the daily budget (which also bounds what a wrong forecast can waste).
 */
export class WarmUpScheduler {
  readonly #options: ResolvedWarmUpOptions;
  readonly #clock: Clock;
  readonly #report: (record: WarmUpRecord) => void;
  readonly #models = new Map<string, ModelSchedule>();
  readonly #abort = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ResolvedWarmUpOptions, clock: Clock, report: (record: WarmUpRecord) => void) {
    this.#options = options;
    this.#clock = clock;
    this.#report = report;
    // Background work nobody awaits: unref'd so that it never keeps the process alive (ADR 0016).
    if (options.checkIntervalMs !== false) this.#timer = setInterval(() => this.check(), options.checkIntervalMs).unref();
  }

  /** A call to `model` started (hits too: the model counts as busy while anything is in flight). */
  callStarted(model: string): void {
    const m = this.#schedule(model);
    if (m !== undefined) m.inFlight++;
  }

  /** A call ended; `reachedModel`: it was a model call (a miss, a bypass, an error), so it counts as traffic. */
  callEnded(model: string, startedAt: number, endedAt: number, reachedModel: boolean): void {
    const m = this.#models.get(model);
    if (m === undefined) return;
    m.inFlight = Math.max(0, m.inFlight - 1);
    if (!reachedModel) return;
    this.#roll(m, startedAt);
    m.count++;
    m.loadedUntil = Math.max(m.loadedUntil, endedAt + this.#options.serverKeepAliveMs);
  }

  /** Checks every model's schedule now: closes finished buckets, starts the warm-ups that are due. */
  check(): void {
    const now = this.#clock.now();
    for (const [model, m] of this.#models) {
      this.#roll(m, now);
      this.#consider(model, m, now);
    }
  }

  stats(): Record<string, ModelWarmUpStats> {
    const now = this.#clock.now();
    const { bucketMs } = this.#options;
    const out: Record<string, ModelWarmUpStats> = {};
    for (const [model, m] of this.#models) {
      let peakForecast = 0;
      let peakAt = now;
      for (let t = (Math.floor(now / bucketMs) + 1) * bucketMs; t < now + DAY_MS; t += bucketMs) {
        const y = m.forecaster.forecast(t);
        if (y > peakForecast) [peakForecast, peakAt] = [y, t];
      }
      const next = m.forecaster.forecast((Math.floor(now / bucketMs) + 1) * bucketMs);
      Object.defineProperty(out, model, {
        value: {
          warmUps: m.warmUps, failed: m.failed, skippedBudget: m.skippedBudget, callsInBucket: m.count,
          nextBucketForecast: Number.isNaN(next) ? 0 : next, peakForecast, peakAt,
        },
        enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  }

  /**
   * Expected calls per bucket over the next 24 hours, per model with at least a day of history
   * (what the capacity advice reads).
   */
  capacity(): CapacityForecast {
    const now = this.#clock.now();
    const { bucketMs } = this.#options;
    const first = (Math.floor(now / bucketMs) + 1) * bucketMs;
    const models: Record<string, number[]> = {};
    for (const [model, m] of this.#models) {
      if (m.forecaster.observed < DAY_MS / bucketMs) continue;
      const ahead: number[] = [];
      for (let t = first; t < first + DAY_MS; t += bucketMs) ahead.push(m.forecaster.forecast(t));
      Object.defineProperty(models, model, { value: ahead, enumerable: true, writable: true, configurable: true });
    }
    return { bucketMs, firstBucketMs: first, keepAliveMs: this.#options.keepAliveMs, models };
  }

  /**
   * Stops the timer and aborts warm-ups in flight. Resolves at once after that: a hook that ignores
   * its signal (a client that cannot cancel a request) must not keep `engine.close()` waiting.
   */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await Promise.all(this.#pending);
  }

  #schedule(model: string): ModelSchedule | undefined {
    let m = this.#models.get(model);
    if (m === undefined && this.#models.size < MAX_MODELS) {
      m = new ModelSchedule(this.#options.bucketMs);
      this.#models.set(model, m);
    }
    return m;
  }

  /** Feeds the buckets that ended before `t` (the current count, then empty ones) to the forecaster. */
  #roll(m: ModelSchedule, t: number): void {
    const { bucketMs } = this.#options;
    const bucket = Math.floor(t / bucketMs);
    if (Number.isNaN(m.bucket)) m.bucket = bucket;
    if (bucket <= m.bucket) return;
    m.forecaster.observe(m.count, m.bucket * bucketMs);
    for (let b = Math.max(m.bucket + 1, bucket - MAX_GAP_BUCKETS); b < bucket; b++) m.forecaster.observe(0, b * bucketMs);
    m.bucket = bucket;
    m.count = 0;
  }

  #consider(model: string, m: ModelSchedule, now: number): void {
    const o = this.#options;
    const horizon = now + o.leadMs;
    // Loaded through the lead time: nothing to do yet (a call, or the last warm-up, keeps it loaded).
    if (m.loadedUntil > horizon || m.inFlight > 0 || m.warming) return;
    const bucket = Math.floor(horizon / o.bucketMs);
    if (m.decidedBucket === bucket) return;
    const expectedCalls = m.forecaster.forecast(horizon);
    const probability = Number.isNaN(expectedCalls) ? 0 : 1 - Math.exp(-expectedCalls);
    if (probability < o.minProbability) return;
    m.decidedBucket = bucket;
    while (m.warmUpTimes.length > 0 && (m.warmUpTimes[0] ?? 0) <= now - DAY_MS) m.warmUpTimes.shift();
    if (m.warmUpTimes.length >= o.maxPerDay) {
      m.skippedBudget++;
      return;
    }
    m.warmUpTimes.push(now);
    this.#start(model, m, { expectedCalls, probability, now });
  }

  #start(model: string, m: ModelSchedule, plan: { expectedCalls: number; probability: number; now: number }): void {
    m.warming = true;
    m.warmUps++;
    const keepAliveMs = this.#options.keepAliveMs;
    const settle = (error: unknown, failed: boolean): void => {
      const end = this.#clock.now();
      m.warming = false;
      if (!failed) m.loadedUntil = Math.max(m.loadedUntil, end + keepAliveMs);
      if (failed) m.failed++;
      const record: WarmUpRecord = {
        model, expectedCalls: plan.expectedCalls, probability: plan.probability, keepAliveMs, timestamp: plan.now, durationMs: Math.max(0, end - plan.now),
      };
      if (failed) record.error = error;
      this.#report(record);
    };
    let run: Promise<unknown>;
    try {
      run = Promise.resolve(this.#options.run(model, { keepAliveMs, signal: this.#abort.signal }));
    } catch (error) {
      run = Promise.reject(error);
    }
    // A warm-up ends at its own deadline or when the engine closes, whatever the hook does: one that
    // never settles must neither hang `close()` nor keep warm-ups of this model off for good. Nothing
    // waits on the deadline but the warm-up itself (background work): it keeps no process alive.
    const timedOut = (): Error => new Error(`The warm-up of ${JSON.stringify(model)} did not finish within ${WARM_UP_TIMEOUT_MS} ms`);
    const bounded = raceSignal(withDeadline(run, WARM_UP_TIMEOUT_MS, timedOut, { unref: true }), this.#abort.signal);
    const done = bounded.then(() => settle(undefined, false), (error: unknown) => settle(error, true));
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }
}
