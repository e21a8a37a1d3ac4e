import { KEY_VERSION, fingerprint } from '../cache/cache-key.js';
import { MAX_EXEC_MS, MAX_TOKENS } from '../cache/envelope.js';
import type { CacheInternals } from '../cache/response-cache.js';
import { jsonDataProblem } from '../internal/json-data.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { ModelStatistics, SelfHealing } from './self-heal.js';

/** Format name in the envelope of state files. */
export const LEARNED_STATE_FORMAT = 'llm-optimization-engine/learned-state';

/** One optimizer decision kept across restarts (wire shape of `autoOptimize()`'s `optimizations`). */
export interface OptimizationDecision {
  type: string;
  action: string;
  /** As `autoOptimize()` gave it: clock ms or an ISO 8601 string. */
  timestamp: number | string;
}

/** One cached answer in a snapshot. Holds the prompt and the answer: the file is as sensitive as the cache. */
interface SnapshotEntry {
  header: string;
  text: string;
  model: string;
  scope: string;
  value: unknown;
  expires_at: number;
  exec_ms: number;
  tokens: number;
}

/** What autonomous mode persists (snake_case: it is a file format). */
export interface LearnedState {
  ttl_ms: number;
  max_entries: number;
  /** `null` for no byte bound. */
  max_bytes: number | null;
  /** `null` for no concurrency limit. */
  max_concurrency: number | null;
  decisions: OptimizationDecision[];
  models: Record<string, ModelStatistics>;
  key_version: number;
  /** Present only with `snapshotCache`. */
  cache_entries?: SnapshotEntry[];
}

/** The engine's parts the learned state is read from and written back to. */
export interface LearnedStateHost {
  readonly cache: ResponseCache;
  readonly internals: CacheInternals;
  readonly healing: SelfHealing;
  readonly maxConcurrency: number;
  /**
   * Applies restored concurrency or cache bounds as the optimizer's own change (put back to the
   * configured value once their causes are calm), so that a limit learned under load does not stay forever.
   */
  readonly adopt: (knob: 'concurrency' | 'capacity', settings: { max_concurrency?: number; max_entries?: number; max_bytes?: number }) => void;
  /** Changes the cache's default TTL (`cache.resize({ ttlMs })`, as the auto-optimizer does). */
  readonly setTtlMs: (ttlMs: number) => void;
  now(): number;
}

export const MAX_DECISIONS = 50;
/** Deepest value a snapshot keeps (and restores). */
const SNAPSHOT_VALUE_DEPTH = 64;

export function exportLearnedState(host: LearnedStateHost, decisions: readonly OptimizationDecision[], snapshotCache: boolean): LearnedState {
  const stats = host.cache.getStats();
  const state: LearnedState = {
    ttl_ms: stats.ttlMs,
    max_entries: stats.maxEntries,
    max_bytes: Number.isFinite(stats.maxBytes) ? stats.maxBytes : null,
    max_concurrency: Number.isFinite(host.maxConcurrency) ? host.maxConcurrency : null,
    decisions: decisions.slice(-MAX_DECISIONS),
    models: host.healing.modelStatistics(),
    key_version: KEY_VERSION,
  };
  if (snapshotCache) state.cache_entries = snapshotEntries(host);
  return state;
}

function snapshotEntries(host: LearnedStateHost): SnapshotEntry[] {
  const now = host.now();
  const out: SnapshotEntry[] = [];
  for (const e of host.internals.entries()) {
    if (e.expiresAt <= now || !isJsonSafe(e.value, 0)) continue;
    out.push({
      header: e.header, text: e.text, model: e.model, scope: e.scope, value: e.value,
      expires_at: e.expiresAt, exec_ms: e.execMs, tokens: e.tokens,
    });
  }
  return out.reverse(); // least recently used first, so restoring keeps the LRU order
}

/** Values that survive JSON unchanged: a snapshot must never turn a Date into a string behind the caller's back. */
function isJsonSafe(value: unknown, depth: number): boolean {
  if (depth > SNAPSHOT_VALUE_DEPTH) return false;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) return value.every((v) => isJsonSafe(v, depth + 1));
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.entries(value).every(([k, v]) => k !== '__proto__' && v !== undefined && isJsonSafe(v, depth + 1));
    }
    default:
      return false;
  }
}

/**
 * Applies a state read back from a file; returns what it did, as short action strings. Each part is
 * checked on its own: a part with the wrong shape is skipped (and said so), never applied halfway.
 */
export function importLearnedState(host: LearnedStateHost, data: unknown): { actions: string[]; decisions: OptimizationDecision[] } {
  const state = (typeof data === 'object' && data !== null ? data : {}) as Partial<Record<keyof LearnedState, unknown>>;
  const actions: string[] = [];
  restoreBounds(host, state, actions);
  const models = validModels(state.models);
  if (models !== undefined) {
    host.healing.restoreModelStatistics(models);
    actions.push(`learn: restored statistics of ${Object.keys(models).length} model(s)`);
  }
  const decisions = Array.isArray(state.decisions) ? state.decisions.filter(isDecision).slice(-MAX_DECISIONS).map(pickDecision) : [];
  if (decisions.length > 0) actions.push(`learn: restored ${decisions.length} optimizer decision(s)`);
  if (state.cache_entries !== undefined) {
    const restored = state.key_version === KEY_VERSION ? restoreEntries(host, state.cache_entries) : 0;
    actions.push(`learn: restored ${restored} cache entr${restored === 1 ? 'y' : 'ies'}`);
  }
  return { actions, decisions };
}

function restoreBounds(host: LearnedStateHost, state: Partial<Record<keyof LearnedState, unknown>>, actions: string[]): void {
  const { max_entries: maxEntries, max_bytes: maxBytes, max_concurrency: concurrency, ttl_ms: ttlMs } = state;
  if (isPositiveInteger(maxEntries) && (maxBytes === null || isPositive(maxBytes))) {
    host.adopt('capacity', { max_entries: maxEntries, max_bytes: maxBytes ?? Number.POSITIVE_INFINITY });
    actions.push(`learn: restored cache bounds (${maxEntries} entries)`);
  }
  if (concurrency === null || isPositiveInteger(concurrency)) {
    host.adopt('concurrency', { max_concurrency: concurrency ?? Number.POSITIVE_INFINITY });
    actions.push(`learn: restored max concurrency (${concurrency ?? 'unlimited'})`);
  }
  if (isPositive(ttlMs)) {
    host.setTtlMs(ttlMs);
    actions.push(`learn: restored TTL (${ttlMs / 1000} s)`);
  }
}

function restoreEntries(host: LearnedStateHost, entries: unknown): number {
  if (!Array.isArray(entries)) return 0;
  const now = host.now();
  const ttlMs = host.cache.getStats().ttlMs;
  let restored = 0;
  for (const raw of entries) {
    const e = raw as Partial<SnapshotEntry> | null;
    if (typeof e !== 'object' || e === null || !isEntry(e)) continue;
    // Clock skew guard: an entry never lives longer than one TTL from now.
    const remaining = Math.min(e.expires_at - now, ttlMs);
    if (!(remaining > 0)) continue;
    const id = { header: e.header, text: e.text, model: e.model, scope: e.scope };
    const entry = host.internals.write(id, fingerprint(id), e.value, { ttlMs: remaining, execMs: e.exec_ms, tokens: e.tokens });
    if (entry !== undefined) restored++;
  }
  return restored;
}

function isEntry(e: Partial<SnapshotEntry>): e is SnapshotEntry {
  return typeof e.header === 'string' && typeof e.text === 'string' && typeof e.model === 'string' && typeof e.scope === 'string'
    && isFiniteNumber(e.expires_at) && isNonNegative(e.exec_ms) && e.exec_ms <= MAX_EXEC_MS
    && isNonNegative(e.tokens) && e.tokens <= MAX_TOKENS
    // The value is served as an answer: plain JSON data only, as a store entry's must be.
    && e.value !== undefined && jsonDataProblem(e.value, SNAPSHOT_VALUE_DEPTH) === undefined
    // The header names the scope and model the entry is served under: they must agree with the fields.
    && e.header.slice(1).startsWith(`${e.scope.length}:${e.scope}${e.model.length}:${e.model}`);
}

function validModels(value: unknown): Record<string, ModelStatistics> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, ModelStatistics> = {};
  for (const [model, raw] of Object.entries(value)) {
    const s = raw as Partial<ModelStatistics> | null;
    if (typeof s !== 'object' || s === null) continue;
    if (isNonNegative(s.runs) && isNonNegative(s.failures) && s.failures <= s.runs && isNonNegative(s.exec_ms_total)) {
      const value: ModelStatistics = { runs: s.runs, failures: s.failures, exec_ms_total: s.exec_ms_total };
      Object.defineProperty(out, model, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** An optimizer decision, reduced to the fields worth keeping (never the before/after values, which may be anything). */
export function isDecision(value: unknown): value is OptimizationDecision {
  const d = value as Partial<OptimizationDecision> | null;
  return typeof d === 'object' && d !== null && typeof d.type === 'string' && typeof d.action === 'string'
    && (isFiniteNumber(d.timestamp) || typeof d.timestamp === 'string');
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNonNegative(value: unknown): value is number {
  return isFiniteNumber(value) && value >= 0;
}

function isPositive(value: unknown): value is number {
  return isFiniteNumber(value) && value > 0;
}

function isPositiveInteger(value: unknown): value is number {
  return isPositive(value) && Number.isInteger(value);
}

export function pickDecision(d: OptimizationDecision): OptimizationDecision {
  return { type: d.type.slice(0, 100), action: d.action.slice(0, 200), timestamp: d.timestamp };
}
