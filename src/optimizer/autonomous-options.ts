import type { HealthStatus } from '../health.js';
import { describe, knownKeys, plainObject, positiveNumber } from '../internal/validate.js';
import { FileSnapshot } from '../stores/file-snapshot.js';
import { LEARNED_STATE_FORMAT } from './learned-state.js';
import { systemTimers, type Timers } from './self-heal.js';

/** Options of `engine.startAutonomous()`. */
export interface AutonomousOptions {
  /** Time between the end of one run and the start of the next, in ms. @default 300_000 (five minutes) */
  intervalMs?: number;
  /**
   * File where what was learned (cache bounds and TTL, concurrency, optimizer decisions, per-model
   * statistics, and with `snapshotCache` the cache itself) is saved after every run and at stop,
   * and restored from at start. Written atomically with mode 0600 (through a symbolic link, to the
   * file it points at). Its folder is created at start (mode 0700) when missing; start rejects
   * when the folder cannot be created or written. @default none (nothing persisted)
   */
  stateFile?: string;
  /**
   * Also save the cached answers (with their prompts) and restore them at start. The file is then
   * as sensitive as the cache. @default false
   */
  snapshotCache?: boolean;
  /** Deadline of the health probe and of the health check of each run, in ms. @default 10_000 */
  probeTimeoutMs?: number;
  /** Timer functions (inject fakes in tests). @default `setTimeout`/`clearTimeout`; only the wait between runs is unref'd */
  timers?: Timers;
}

/** `engine.getAutonomousStatus()` and `GET /autonomous/status` (the original service's shape). */
export interface AutonomousStatus {
  enabled: boolean;
  interval_seconds: number;
  runs: number;
  /** ISO 8601, or null before the first run. */
  last_run_at: string | null;
  /** ISO 8601, or null while disabled. */
  next_run_at: string | null;
  /** What the last run (or the restore at start) did. Never holds prompts, values or error messages. */
  last_actions: string[];
  /** Health seen by the last run, or null before it. */
  health: { status: HealthStatus; reasons: string[] } | null;
  /** How saving the state file goes; present only with `stateFile`. */
  state_file?: StateFileStatus;
}

/** The state file's saves, so that a save failing run after run is seen, not only logged. */
export interface StateFileStatus {
  /** ISO 8601 time of the last save that succeeded, or null before the first. */
  last_saved_at: string | null;
  /** The error code of the last save (`ENOENT`, `EACCES`, `ENOSPC`…) when it failed, else null. */
  last_save_error: string | null;
  /** Saves that failed in a row since the last one that succeeded. */
  consecutive_save_failures: number;
}

export interface ResolvedAutonomousOptions {
  intervalMs: number;
  snapshot: FileSnapshot | undefined;
  snapshotCache: boolean;
  probeTimeoutMs: number;
  timers: Timers;
}

const KEYS = ['intervalMs', 'stateFile', 'snapshotCache', 'probeTimeoutMs', 'timers'] as const;
export const DEFAULT_INTERVAL_MS = 300_000;

export function resolveAutonomousOptions(options: AutonomousOptions): ResolvedAutonomousOptions {
  knownKeys('startAutonomous', plainObject('options', options), KEYS);
  const { stateFile, snapshotCache, timers } = options;
  if (stateFile !== undefined && (typeof stateFile !== 'string' || stateFile.length === 0)) {
    throw new TypeError(`\`stateFile\` must be a non-empty path, received ${describe(stateFile)}`);
  }
  if (snapshotCache !== undefined && typeof snapshotCache !== 'boolean') {
    throw new TypeError(`\`snapshotCache\` must be a boolean, received ${describe(snapshotCache)}`);
  }
  if (timers !== undefined && (typeof timers?.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function')) {
    throw new TypeError(`\`timers\` must have \`setTimeout\` and \`clearTimeout\` methods, received ${describe(timers)}`);
  }
  const unref: unknown = timers === undefined ? undefined : (timers as { unref?: unknown }).unref;
  if (unref !== undefined && typeof unref !== 'function') {
    throw new TypeError(`\`timers.unref\` must be a function when given, received ${describe(unref)}`);
  }
  return {
    intervalMs: positiveNumber('intervalMs', options.intervalMs, DEFAULT_INTERVAL_MS),
    snapshot: stateFile === undefined ? undefined : new FileSnapshot(stateFile, LEARNED_STATE_FORMAT),
    snapshotCache: snapshotCache ?? false,
    probeTimeoutMs: positiveNumber('probeTimeoutMs', options.probeTimeoutMs, 10_000),
    timers: timers ?? systemTimers,
  };
}

