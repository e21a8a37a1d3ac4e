import type { Clock } from '../clock.js';
import { elapsedMs } from '../internal/elapsed.js';
import { OptimizerError } from '../errors.js';
import type { EngineEvents, Logger } from '../events.js';
import type { HealthReport } from '../health.js';
import { plainObject } from '../internal/validate.js';
import { removeStaleTempFiles, type FileSnapshot } from '../stores/file-snapshot.js';
import {
  DEFAULT_INTERVAL_MS, resolveAutonomousOptions, type AutonomousOptions, type AutonomousStatus,
  type ResolvedAutonomousOptions as Resolved, type StateFileStatus,
} from './autonomous-options.js';
import {
  exportLearnedState, importLearnedState, isDecision, MAX_DECISIONS, pickDecision,
  type LearnedStateHost, type OptimizationDecision,
} from './learned-state.js';
import type { SelfHealing } from './self-heal.js';

export type { AutonomousOptions, AutonomousStatus, StateFileStatus } from './autonomous-options.js';

/** What autonomous mode needs of the engine. */
export interface AutonomousHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly healing: SelfHealing;
  readonly learned: LearnedStateHost;
  emit<E extends 'autonomous-tick' | 'store-error'>(event: E, payload: EngineEvents[E]): void;
  health(timeoutMs: number): Promise<HealthReport>;
  /** Counters of calls so far, to report each run's window. */
  counters(): { calls: number; errors: number; hits: number; misses: number };
  /** `engine.autoOptimize()`. */
  autoOptimize(): unknown;
  /** The monitor's process sample, anomaly check and trends. */
  sample(): unknown;
  detectAnomalies(): unknown;
  getTrends(): unknown;
}

/**
 * The unattended loop: every `intervalMs` after the previous run ended (so runs never overlap),
 * self-monitor → self-optimize → self-heal → self-learn. Each step is isolated: one that fails is
 * logged and the others still run.
 */
export class AutonomousLoop {
  readonly #host: AutonomousHost;
  readonly #restored = new Set<string>();
  #options: Resolved | undefined;
  #given: AutonomousOptions = {};
  #intervalMs = DEFAULT_INTERVAL_MS;
  #timer: unknown;
  #running: Promise<void> | undefined;
  #transition: Promise<unknown> = Promise.resolve();
  #runs = 0;
  #lastRunAt: number | undefined;
  #nextRunAt: number | undefined;
  #actions: string[] = [];
  #health: AutonomousStatus['health'] = null;
  #decisions: OptimizationDecision[] = [];
  #window = { calls: 0, errors: 0, hits: 0, misses: 0 };
  #saves = { lastSavedAt: undefined as number | undefined, lastError: null as string | null, failures: 0 };

  constructor(host: AutonomousHost) {
    this.#host = host;
  }

  get enabled(): boolean {
    return this.#options !== undefined;
  }

  /**
   * Starts, or restarts: options not given keep the values of the previous start (so enabling again
   * over HTTP with a new interval keeps the state file). Restores the state file once per path,
   * then schedules the first run.
   */
  start(options: AutonomousOptions = {}): Promise<AutonomousStatus> {
    let resolved: Resolved;
    try {
      resolved = resolveAutonomousOptions({ ...this.#given, ...plainObject('options', options) });
    } catch (error) {
      return Promise.reject(error);
    }
    // Kept for the next start only once this one has succeeded: a rejected state file must not be
    // inherited by every later start (nor by `POST /autonomous/enable`).
    const given = { ...this.#given, ...options };
    return this.#serialize(async () => {
      if (resolved.snapshot !== undefined) await prepareStateFile(resolved.snapshot);
      this.#given = given;
      await this.#halt(false);
      this.#actions = resolved.snapshot === undefined ? [] : await this.#restore(resolved.snapshot);
      this.#options = resolved;
      this.#intervalMs = resolved.intervalMs;
      this.#window = this.#host.counters();
      this.#schedule();
      return this.status();
    });
  }

  /** Stops: no run starts after this; waits for a run in progress, then saves the state one last time. */
  stop(): Promise<AutonomousStatus> {
    return this.#serialize(async () => {
      await this.#halt(true);
      return this.status();
    });
  }

  status(): AutonomousStatus {
    return {
      enabled: this.enabled,
      interval_seconds: this.#intervalMs / 1000,
      runs: this.#runs,
      last_run_at: iso(this.#lastRunAt),
      next_run_at: this.enabled ? iso(this.#nextRunAt) : null,
      last_actions: [...this.#actions],
      health: this.#health === null ? null : { status: this.#health.status, reasons: [...this.#health.reasons] },
      ...(this.#given.stateFile === undefined ? {} : { state_file: this.#stateFileStatus() }),
    };
  }

  #stateFileStatus(): StateFileStatus {
    const { lastSavedAt, lastError, failures } = this.#saves;
    return { last_saved_at: iso(lastSavedAt), last_save_error: lastError, consecutive_save_failures: failures };
  }

  #serialize<T>(step: () => Promise<T>): Promise<T> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  async #halt(save: boolean): Promise<void> {
    const options = this.#options;
    if (options === undefined) return;
    this.#options = undefined;
    options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (save && options.snapshot !== undefined) await this.#save(options);
  }

  #schedule(): void {
    const options = this.#options;
    if (options === undefined) return;
    this.#nextRunAt = this.#host.clock.now() + options.intervalMs;
    this.#timer = options.timers.setTimeout(() => {
      this.#running = this.#tick(options);
    }, options.intervalMs);
    options.timers.unref?.(this.#timer);
  }

  /** One run. Never rejects (each step is isolated); schedules the next run before announcing this one. */
  async #tick(options: Resolved): Promise<void> {
    const started = this.#host.clock.now();
    const actions: string[] = [];
    await this.#step(actions, 'monitor', () => this.#monitor());
    await this.#step(actions, 'optimize', () => this.#optimize());
    await this.#step(actions, 'heal', () => this.#heal(options));
    if (options.snapshot !== undefined) await this.#step(actions, 'learn', () => this.#learn(options));
    const now = this.#host.clock.now();
    this.#runs++;
    this.#lastRunAt = started;
    this.#actions = actions;
    this.#running = undefined;
    if (this.#options === options) this.#schedule();
    this.#host.emit('autonomous-tick', { runs: this.#runs, actions: [...actions], durationMs: elapsedMs(started, now), timestamp: now });
  }

  async #step(actions: string[], name: string, step: () => Promise<string[]> | string[]): Promise<void> {
    try {
      actions.push(...(await step()));
    } catch (error) {
      this.#host.logger.warn(`Autonomous mode: the ${name} step failed`, error);
      actions.push(`${name}: failed`);
    }
  }

  #monitor(): string[] {
    const now = this.#host.counters();
    const calls = now.calls - this.#window.calls;
    const errors = now.errors - this.#window.errors;
    const lookups = now.hits + now.misses - this.#window.hits - this.#window.misses;
    const hitRate = lookups === 0 ? 0 : Math.round(((now.hits - this.#window.hits) / lookups) * 1000) / 10;
    this.#window = now;
    const rate = lookups === 0 ? 'no cache lookups' : `hit rate ${hitRate} %`;
    const actions = [`monitor: ${calls} call(s), ${errors} error(s), ${rate} since the last run`];
    this.#host.sample();
    const anomalies = this.#host.detectAnomalies();
    if (Array.isArray(anomalies) && anomalies.length > 0) actions.push(`monitor: ${anomalies.length} anomal${anomalies.length === 1 ? 'y' : 'ies'} detected`);
    const degrading = degradingMetrics(this.#host.getTrends());
    if (degrading.length > 0) actions.push(`monitor: degrading ${degrading.join(', ')}`);
    return actions;
  }

  async #optimize(): Promise<string[]> {
    const result = (await this.#host.autoOptimize()) as { count?: unknown; optimizations?: unknown } | undefined;
    const applied = Array.isArray(result?.optimizations) ? result.optimizations.filter(isDecision) : [];
    for (const o of applied) this.#decisions.push(pickDecision(o));
    this.#decisions = this.#decisions.slice(-MAX_DECISIONS);
    return [applied.length === 0 ? 'optimize: no action needed' : `optimize: ${applied.length} optimization(s) applied`];
  }

  async #heal(options: Resolved): Promise<string[]> {
    const actions: string[] = [];
    const open = this.#host.healing.circuits(false).length;
    const probe = await this.#host.healing.probe(options.probeTimeoutMs, options.timers);
    if (probe === 'ok') actions.push(`heal: health probe ok${open > 0 ? `, ${open} circuit(s) closed` : ''}`);
    else if (probe === 'failed') actions.push('heal: health probe failed, circuits stay open');
    else if (open > 0) actions.push(`heal: ${open} circuit(s) open${probe === 'unavailable' ? ', no health probe configured' : ''}`);
    const report = await this.#host.health(options.probeTimeoutMs);
    this.#health = { status: report.status, reasons: report.reasons };
    actions.push(`heal: health ${report.status}`);
    return actions;
  }

  async #learn(options: Resolved): Promise<string[]> {
    return (await this.#save(options)) ? ['learn: state saved'] : ['learn: saving the state failed'];
  }

  async #save(options: Resolved): Promise<boolean> {
    const snapshot = options.snapshot as FileSnapshot;
    const now = this.#host.clock.now();
    try {
      await snapshot.save(exportLearnedState(this.#host.learned, this.#decisions, options.snapshotCache), new Date(now));
      this.#saves = { lastSavedAt: now, lastError: null, failures: 0 };
      return true;
    } catch (error) {
      this.#saves = { ...this.#saves, lastError: errorCode(error), failures: this.#saves.failures + 1 };
      this.#report('save', error);
      return false;
    }
  }

  async #restore(snapshot: FileSnapshot): Promise<string[]> {
    await removeStaleTempFiles(snapshot.path);
    if (this.#restored.has(snapshot.path)) return [];
    this.#restored.add(snapshot.path);
    try {
      const read = await snapshot.load(this.#host.clock.now());
      if (read.status === 'missing') return ['learn: no saved state yet'];
      if (read.status === 'invalid') {
        const error = new Error(`The state file is unusable (${read.reason})${read.movedTo === undefined ? '' : `; moved to ${read.movedTo}`}`);
        this.#report('load', error);
        return ['learn: saved state unusable, ignored'];
      }
      const { actions, decisions } = importLearnedState(this.#host.learned, read.data);
      this.#decisions = decisions;
      return actions;
    } catch (error) {
      this.#report('load', error);
      return ['learn: reading the saved state failed'];
    }
  }

  #report(operation: string, error: unknown): void {
    this.#host.logger.warn(`Autonomous mode: could not ${operation} the state file`, error);
    this.#host.emit('store-error', { store: 'file-snapshot', operation, error });
  }
}

/** Creates the state file's folder when missing; rejects naming `stateFile` when saves could not succeed. */
async function prepareStateFile(snapshot: FileSnapshot): Promise<void> {
  try {
    await snapshot.prepare();
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'ENOTREGULAR' ? 'it is not a regular file (a folder, a FIFO or a device)' : `its folder could not be created or is not writable (${code})`;
    const message = `\`stateFile\` ${JSON.stringify(snapshot.path)} cannot be saved: ${why}`;
    throw new OptimizerError('ERR_STORE', message, { cause: error });
  }
}

/** A file-system error's code (`ENOENT`, `EACCES`…), else the error's name: never its message, which may hold anything. */
function errorCode(error: unknown): string {
  const { code, name } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code.slice(0, 40);
  return typeof name === 'string' ? name.slice(0, 40) : 'Error';
}

/** Names of the metrics whose trend is `degrading` (trends as the monitor gives them: `{ [metric]: { status } }`). */
function degradingMetrics(trends: unknown): string[] {
  if (typeof trends !== 'object' || trends === null) return [];
  return Object.entries(trends as Record<string, { status?: unknown } | undefined>)
    .filter(([, trend]) => trend?.status === 'degrading')
    .map(([metric]) => metric.slice(0, 40))
    .slice(0, 10);
}

function iso(ms: number | undefined): string | null {
  if (ms === undefined) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
