import type { Clock } from '../clock.js';
import { OptimizerError } from '../errors.js';
import { knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import { describe } from '../internal/validate.js';

/** Where a circuit stands: `closed` lets calls through, `open` fails them fast, `half-open` lets one probe through. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options of the circuit breaker around `exec` (the engine's `breaker` option). */
export interface CircuitBreakerOptions {
  /** Consecutive failed `exec` runs (after retries) that open the circuit of a model. @default 5 */
  failureThreshold?: number;
  /** How long an open circuit fails calls fast before it lets one probe call through, in ms. @default 30_000 */
  resetTimeoutMs?: number;
  /**
   * Deadline of that probe, in ms: a probe still running after it counts as failed and the circuit
   * opens again (so a hung probe can never leave the circuit half-open for good). The call itself
   * goes on and its caller still gets its answer. @default 60_000
   */
  probeTimeoutMs?: number;
  /**
   * Which errors of `exec` count as failures. Aborts never count (the caller left, nothing was
   * learnt about the model), nor by default do client errors (an HTTP 4xx `status` on the error or
   * its cause: one tenant's malformed requests must not lock every tenant out of the model).
   * @default every error except a 4xx client error
   */
  isFailure?: (error: unknown) => boolean;
}

export interface ResolvedBreakerOptions {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly isFailure: (error: unknown) => boolean;
}

const KEYS = ['failureThreshold', 'resetTimeoutMs', 'probeTimeoutMs', 'isFailure'] as const;

export function resolveBreakerOptions(options: CircuitBreakerOptions | false | undefined): ResolvedBreakerOptions | undefined {
  if (options === false) return undefined;
  knownKeys('breaker', plainObject('breaker', options), KEYS);
  const isFailure = options?.isFailure ?? ((error: unknown) => !isClientError(error));
  if (typeof isFailure !== 'function') throw new TypeError(`\`breaker.isFailure\` must be a function, received ${describe(isFailure)}`);
  return Object.freeze({
    failureThreshold: positiveInteger('breaker.failureThreshold', options?.failureThreshold, 5),
    resetTimeoutMs: positiveNumber('breaker.resetTimeoutMs', options?.resetTimeoutMs, 30_000),
    probeTimeoutMs: positiveNumber('breaker.probeTimeoutMs', options?.probeTimeoutMs, 60_000),
    isFailure,
  });
}

/** An error carrying an HTTP 4xx status (Ollama's `ResponseError.status_code`, fetch-style `status`), or caused by one. */
export function isClientError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as { status?: unknown; status_code?: unknown; statusCode?: unknown; cause?: unknown };
  for (const status of [e.status, e.status_code, e.statusCode]) {
    if (typeof status === 'number' && status >= 400 && status <= 499) return true;
  }
  return isClientError(e.cause, depth + 1);
}

/** What a call was admitted as: the generation it belongs to, and whether it is the half-open probe. */
interface Ticket {
  readonly generation: number;
  readonly probe: boolean;
}

/**
 * A consecutive-failure circuit breaker, timed only by the injected clock (no timers: the probe
 * deadline is checked whenever the state is read or a call arrives). Outcomes of calls admitted
 * before the state last changed are ignored, so late failures can neither re-open a circuit a probe
 * just closed nor cancel the re-arming of one that is open.
 */
export class CircuitBreaker {
  readonly #options: ResolvedBreakerOptions;
  readonly #clock: Clock;
  readonly #name: string;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeStartedAt = 0;
  #generation = 0;

  constructor(options: ResolvedBreakerOptions, clock: Clock, name = '') {
    this.#options = options;
    this.#clock = clock;
    this.#name = name;
  }

  get state(): CircuitState {
    this.#expireProbe(this.#clock.now());
    return this.#state;
  }

  /** Consecutive failures counted while closed. */
  get failures(): number {
    return this.#failures;
  }

  /** When the circuit last opened (clock ms), or undefined while closed. */
  get openedAt(): number | undefined {
    return this.state === 'closed' ? undefined : this.#openedAt;
  }

  /** Runs `work` unless the circuit is open; `signal` tells a caller's abort from a failure. */
  async run<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const ticket = this.#admit();
    let value: T;
    try {
      value = await work();
    } catch (error) {
      this.#failed(ticket, error, signal);
      throw error;
    }
    this.#succeeded(ticket);
    return value;
  }

  /** Closes the circuit (a health probe succeeded). */
  close(): void {
    this.#transition('closed', 0);
  }

  /** Opens the circuit now (a health probe failed), restarting its reset timeout. */
  open(): void {
    this.#transition('open', this.#clock.now());
  }

  #admit(): Ticket {
    const now = this.#clock.now();
    this.#expireProbe(now);
    if (this.#state === 'closed') return { generation: this.#generation, probe: false };
    if (this.#state === 'open' && now - this.#openedAt >= this.#options.resetTimeoutMs) {
      this.#transition('half-open', this.#openedAt);
      this.#probeStartedAt = now;
      return { generation: this.#generation, probe: true };
    }
    const waitMs = Math.max(0, this.#openedAt + this.#options.resetTimeoutMs - now);
    const model = this.#name === '' ? '' : ` for model "${this.#name}"`;
    const next = this.#state === 'half-open' ? 'a probe call is running' : `next probe in ${Math.ceil(waitMs / 1000)} s`;
    throw new OptimizerError('ERR_CIRCUIT_OPEN', `The circuit${model} is open after repeated failures; ${next}`);
  }

  #succeeded(ticket: Ticket): void {
    if (ticket.generation !== this.#generation) return;
    if (ticket.probe) this.#transition('closed', 0);
    else this.#failures = 0;
  }

  #failed(ticket: Ticket, error: unknown, signal: AbortSignal): void {
    if (ticket.generation !== this.#generation) return;
    if (signal.aborted || !this.#options.isFailure(error)) {
      // Nothing was learnt: a probe's slot goes back, and the next call probes at once.
      if (ticket.probe) this.#transition('open', this.#openedAt);
      return;
    }
    if (ticket.probe) {
      this.#transition('open', this.#clock.now());
    } else if (++this.#failures >= this.#options.failureThreshold) {
      this.#transition('open', this.#clock.now());
    }
  }

  #expireProbe(now: number): void {
    this.#followClockBack(now);
    if (this.#state !== 'half-open') return;
    const deadline = this.#probeStartedAt + this.#options.probeTimeoutMs;
    if (now >= deadline) this.#transition('open', deadline);
  }

  /**
   * A clock set back (an injected wall clock) must not stretch the reset or probe timeout by the
   * size of the jump: a time that now lies in the future is taken as now.
   */
  #followClockBack(now: number): void {
    if (this.#state === 'closed') return;
    if (this.#openedAt > now) this.#openedAt = now;
    if (this.#probeStartedAt > now) this.#probeStartedAt = now;
  }

  #transition(state: CircuitState, openedAt: number): void {
    this.#generation++;
    this.#state = state;
    this.#openedAt = openedAt;
    if (state === 'closed') this.#failures = 0;
  }
}

/** One circuit as reported by `engine.getCircuitStates()` and the endpoints (snake_case wire shape). */
export interface CircuitStatus {
  model: string;
  state: CircuitState;
  consecutive_failures: number;
  /** When the circuit opened, clock ms; null while closed. */
  opened_at: number | null;
}

/** Circuits kept at most, so model names cannot grow memory without bound. */
const MAX_CIRCUITS = 256;

/**
 * One circuit per model: a model that fails does not stop calls to the others, however many models
 * there are. At most 256 circuits are kept; a new model past that takes the place of the least
 * recently used healthy one (closed, no failures counted: it holds nothing worth keeping). Circuits
 * never pool models together, since one failing model would then reject calls to all the others.
 * When every kept circuit is failing or open, a new model is served by a circuit of its own that is
 * not kept (it never opens: no protection, but never a wrong rejection).
 */
export class CircuitBreakers {
  readonly #options: ResolvedBreakerOptions;
  readonly #clock: Clock;
  /** In order of last use, least recent first. */
  readonly #circuits = new Map<string, CircuitBreaker>();

  constructor(options: ResolvedBreakerOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
  }

  for(model: string): CircuitBreaker {
    const circuits = this.#circuits;
    const existing = circuits.get(model);
    if (existing !== undefined) {
      circuits.delete(model);
      circuits.set(model, existing);
      return existing;
    }
    const breaker = new CircuitBreaker(this.#options, this.#clock, model);
    if (circuits.size >= MAX_CIRCUITS && !this.#evictHealthy()) return breaker;
    circuits.set(model, breaker);
    return breaker;
  }

  /** Drops the least recently used healthy circuit; false when every circuit is failing or open. */
  #evictHealthy(): boolean {
    for (const [model, breaker] of this.#circuits) {
      if (breaker.state === 'closed' && breaker.failures === 0) {
        this.#circuits.delete(model);
        return true;
      }
    }
    return false;
  }

  /** Every circuit that is not closed, or every circuit with `all`. */
  statuses(all = true): CircuitStatus[] {
    const out: CircuitStatus[] = [];
    for (const [model, breaker] of this.#circuits.entries()) {
      const state = breaker.state;
      if (!all && state === 'closed') continue;
      out.push({ model, state, consecutive_failures: breaker.failures, opened_at: breaker.openedAt ?? null });
    }
    return out;
  }

  /** Closes every circuit that is not closed; returns the models it closed. */
  closeAll(): string[] {
    const closed: string[] = [];
    for (const [model, breaker] of this.#circuits.entries()) {
      if (breaker.state !== 'closed') {
        breaker.close();
        closed.push(model);
      }
    }
    return closed;
  }

  /** Re-opens every circuit that is not closed (restarting its reset timeout). */
  reopenAll(): void {
    for (const breaker of this.#circuits.values()) if (breaker.state !== 'closed') breaker.open();
  }
}
