import { OptimizerError } from './errors.js';
import { raceSignal } from './internal/abort.js';
import { systemTimers, type Timers } from './optimizer/self-heal.js';

/** Overall health: `ok`, `degraded` (answers, with reduced service: an open circuit, an unreachable store), or `down`. */
export type HealthStatus = 'ok' | 'degraded' | 'down';

/** What one health source says. */
export interface HealthCheck {
  status: HealthStatus;
  /** Why, when not `ok`. Served by `GET /health`: never put a secret in it (network addresses in it are replaced with `<address>`). */
  reason?: string;
}

/**
 * Something whose health counts: a store, a connection, a dependency. Called by `engine.health()`
 * with a signal that aborts at its deadline. Throwing, rejecting or missing the deadline counts as
 * `degraded`.
 */
export type HealthSource = (signal: AbortSignal) => HealthCheck | Promise<HealthCheck>;

/** `engine.health()`: the worst status of every source, with the reasons of those that are not ok. */
export interface HealthReport {
  status: HealthStatus;
  reasons: string[];
  checks: Record<string, HealthCheck>;
}

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, down: 2 };
const MAX_REASON = 200;

/** The health sources registered on an engine. */
export class HealthRegistry {
  readonly #sources = new Map<string, HealthSource>();

  /** Registers (or replaces) a source; returns a function that removes it. */
  add(name: string, source: HealthSource): () => void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('`name` of a health source must be a non-empty string');
    if (typeof source !== 'function') throw new TypeError(`The health source "${name}" must be a function`);
    this.#sources.set(name, source);
    return () => {
      if (this.#sources.get(name) === source) this.#sources.delete(name);
    };
  }

  /** Asks every source at once, each bounded by `timeoutMs`. Never rejects. */
  async check(timeoutMs: number, timers: Timers = systemTimers): Promise<HealthReport> {
    const names = [...this.#sources.keys()];
    const results = await Promise.all(names.map((name) => this.#ask(name, timeoutMs, timers)));
    const checks: Record<string, HealthCheck> = {};
    // Own properties even for a source named `__proto__` (an assignment would set the prototype and drop the check).
    names.forEach((name, i) => Object.defineProperty(checks, name, { value: results[i], enumerable: true, writable: true, configurable: true }));
    return summarize(checks);
  }

  async #ask(name: string, timeoutMs: number, timers: Timers): Promise<HealthCheck> {
    const controller = new AbortController();
    const timer = timers.setTimeout(() => controller.abort(new OptimizerError('ERR_TIMEOUT', 'health source timed out')), timeoutMs);
    try {
      const source = this.#sources.get(name) as HealthSource;
      return normalize(await raceSignal(Promise.resolve().then(() => source(controller.signal)), controller.signal));
    } catch {
      return { status: 'degraded', reason: controller.signal.aborted ? `no answer within ${timeoutMs} ms` : 'the health check failed' };
    } finally {
      timers.clearTimeout(timer);
    }
  }
}

export function summarize(checks: Record<string, HealthCheck>): HealthReport {
  let status: HealthStatus = 'ok';
  const reasons: string[] = [];
  for (const [name, check] of Object.entries(checks)) {
    if (RANK[check.status] > RANK[status]) status = check.status;
    if (check.status !== 'ok') reasons.push(`${name}: ${check.reason ?? check.status}`);
  }
  return { status, reasons, checks };
}

function normalize(value: unknown): HealthCheck {
  const check = value as Partial<HealthCheck> | null | undefined;
  const status = check?.status;
  if (status !== 'ok' && status !== 'degraded' && status !== 'down') return { status: 'degraded', reason: 'the health check gave no valid status' };
  const reason = check?.reason;
  return typeof reason === 'string' ? { status, reason: withoutAddresses(reason).slice(0, MAX_REASON) } : { status };
}

/**
 * Network addresses a reason may carry (a source that passes an error message on): URLs, IP
 * addresses, `host:port`. `/health` is served over HTTP, so they are replaced with `<address>`.
 */
const ADDRESSES = [
  /\b[a-z][\w+.-]*:\/\/[^\s,;)]+/gi,
  /\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d+)?/gi,
  /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g,
  /\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4})?::[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*\b/gi,
  /\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b/gi,
];

function withoutAddresses(text: string): string {
  return ADDRESSES.reduce((out, pattern) => out.replace(pattern, '<address>'), text);
}
