import type { Clock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import type { HealthCheck } from '../health.js';
import { CircuitBreakers, isClientError, type CircuitStatus, type ResolvedBreakerOptions } from './circuit-breaker.js';
import { retry, type ResolvedRetryOptions } from './retry.js';
import { raceSignal } from '../internal/abort.js';
import { BoundedLabels } from '../internal/bounded-labels.js';
import { elapsedMs } from '../internal/elapsed.js';

/**
 * Checks that the model answers (the Ollama adapter supplies one that lists the server's models).
 * Resolve when healthy, reject (or honour `signal`) otherwise.
 */
export type HealthProbe = (signal: AbortSignal) => Promise<void>;

/** Runs of `exec` for one model (wire shape, persisted by autonomous mode). */
export interface ModelStatistics {
  /** Runs of `exec`, retries included. */
  runs: number;
  /** Runs that failed (aborts excluded). */
  failures: number;
  /** Time spent in `exec`, in ms, over every run. */
  exec_ms_total: number;
}

/** What one health probe did. */
export type ProbeResult = 'ok' | 'failed' | 'skipped' | 'unavailable';

/** Timer functions, injectable so that tests need no sleeps. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Lets an idle housekeeping timer (the wait for the next autonomous run) not keep the process
   * alive. Deadlines that a caller's promise waits on (a health check, the health probe) are never
   * unref'd. Fakes may leave it out.
   */
  unref?(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  unref: (handle) => void (handle as { unref?: () => unknown }).unref?.(),
};

/** Distinct models with statistics of their own, `(other)` included. */
const MAX_MODELS = 256;

export interface SelfHealingOptions {
  breaker: ResolvedBreakerOptions | undefined;
  retry: ResolvedRetryOptions | undefined;
  healthProbe: HealthProbe | undefined;
  clock: Clock;
}

/**
 * The engine's self-healing around `exec`: a circuit per model (outside), retries of transient
 * errors (inside, so one call is one outcome for the circuit and an open circuit is never retried),
 * per-model run statistics, and the user's health probe that closes or re-opens circuits.
 */
export class SelfHealing {
  readonly #breakers: CircuitBreakers | undefined;
  readonly #retry: ResolvedRetryOptions | undefined;
  readonly #probe: HealthProbe | undefined;
  readonly #clock: Clock;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #models = new BoundedLabels<ModelStatistics>(MAX_MODELS, () => ({ runs: 0, failures: 0, exec_ms_total: 0 }));
  #probeFailing = false;
  #modelCalls = 0;

  constructor(options: SelfHealingOptions) {
    this.#breakers = options.breaker === undefined ? undefined : new CircuitBreakers(options.breaker, options.clock);
    this.#retry = options.retry;
    this.#probe = options.healthProbe;
    this.#clock = options.clock;
    this.#isFailure = options.breaker?.isFailure ?? ((error) => !isClientError(error));
  }

  /**
   * Runs one call's `exec` (`attempt`) through the circuit of `model` and the retry policy; with
   * `mayRetry`, a transient error is retried only while it answers true.
   */
  run<T>(model: string, attempt: () => Promise<T>, signal: AbortSignal, mayRetry?: () => boolean): Promise<T> {
    let first = true;
    const measured = (): Promise<T> => {
      if (first) {
        first = false;
        this.#modelCalls++;
      }
      return this.#measure(model, attempt, signal);
    };
    const policy = this.#retry;
    const retried = policy === undefined ? measured : () => retry(onlyWhile(policy, mayRetry), measured, signal);
    return this.#breakers === undefined ? retried() : this.#breakers.for(model).run(retried, signal);
  }

  /**
   * Runs one upstream stream through the circuit of `model`: `read` opens it and reads it to its end.
   * A stream that fails (opening or midway) is a failure, one read to its end a success, one whose
   * `signal` aborted (every consumer left, or the engine closed) neither. Transient errors are
   * retried only while `delivered()` is false: a stream half handed out is never replayed.
   */
  runStream(model: string, read: () => Promise<void>, signal: AbortSignal, delivered: () => boolean): Promise<void> {
    const whole = async (): Promise<void> => {
      await read();
      // A read cut short because its consumers left resolves early: not a success of the model.
      signal.throwIfAborted();
    };
    return this.run(model, whole, signal, () => !delivered());
  }

  /** Every circuit (or only those not closed). */
  circuits(all = true): CircuitStatus[] {
    return this.#breakers?.statuses(all) ?? [];
  }

  /** Whether the circuit of `model` would fail a call now: the router sends its calls to the other tier. */
  isOpen(model: string): boolean {
    return this.#breakers?.rejects(model) ?? false;
  }

  /** Whether `error` counts as a failure of the model (the breaker's `isFailure`; by default not a 4xx client error). */
  isFailure(error: unknown): boolean {
    return this.#isFailure(error);
  }

  /** Calls that went to the model (past the circuit), streams included: once per call, however many retries. */
  get modelCalls(): number {
    return this.#modelCalls;
  }

  /** Per-model run statistics (copies). */
  modelStatistics(): Record<string, ModelStatistics> {
    return this.#models.toRecord((stats) => ({ ...stats }));
  }

  /** Adds statistics restored from a previous process. */
  restoreModelStatistics(saved: Record<string, ModelStatistics>): void {
    for (const [model, s] of Object.entries(saved)) {
      const stats = this.#models.get(model);
      stats.runs += s.runs;
      stats.failures += s.failures;
      stats.exec_ms_total += s.exec_ms_total;
    }
  }

  /** Health as the circuits and the last probe see it. */
  health(): HealthCheck {
    if (this.#probeFailing) return { status: 'down', reason: 'the model health probe is failing' };
    const open = this.circuits(false);
    if (open.length === 0) return { status: 'ok' };
    const names = open.slice(0, 5).map((c) => JSON.stringify(c.model)).join(', ');
    return { status: 'degraded', reason: `circuit open for model ${names}${open.length > 5 ? ` and ${open.length - 5} more` : ''}` };
  }

  /**
   * Runs the user's health probe when it can help: a circuit is not closed or the last probe failed
   * (never while calls succeed, so a healthy model is not sent extra requests). Success closes every
   * circuit; failure re-opens them.
   */
  async probe(timeoutMs: number, timers: Timers): Promise<ProbeResult> {
    const probe = this.#probe;
    if (probe === undefined) return 'unavailable';
    if (!this.#probeFailing && this.circuits(false).length === 0) return 'skipped';
    const controller = new AbortController();
    const timer = timers.setTimeout(() => controller.abort(new OptimizerError('ERR_TIMEOUT', `The health probe did not answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      await raceSignal(probe(controller.signal), controller.signal);
      this.#probeFailing = false;
      this.#breakers?.closeAll();
      return 'ok';
    } catch {
      this.#probeFailing = true;
      this.#breakers?.reopenAll();
      return 'failed';
    } finally {
      timers.clearTimeout(timer);
    }
  }

  async #measure<T>(model: string, attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const started = this.#clock.now();
    const stats = this.#models.get(model);
    stats.runs++;
    try {
      return await attempt();
    } catch (error) {
      if (!signal.aborted) stats.failures++;
      throw error;
    } finally {
      stats.exec_ms_total += elapsedMs(started, this.#clock.now());
    }
  }
}

/** The retry policy, narrowed to errors met while `mayRetry()` holds. */
function onlyWhile(policy: ResolvedRetryOptions, mayRetry: (() => boolean) | undefined): ResolvedRetryOptions {
  if (mayRetry === undefined) return policy;
  return { ...policy, isTransient: (error) => mayRetry() && policy.isTransient(error) };
}
