import type { AnomalyType, TrendStatus } from '../monitor/types.js';
import type { OptimizationType, ResolvedOptimizerOptions } from './optimizer-options.js';

/** What one evaluation sees: the window since the previous evaluation, and the current settings. */
export interface Observation {
  now: number;
  /** Start of the window: the previous evaluation (−Infinity at the first). */
  since: number;
  /** Cache lookups (hits + misses) in the window, and the share that hit. */
  lookups: number;
  hitRate: number;
  /** `rejected`: refused admission by the cache's policy, pressure for room like `evicted`. */
  missCauses: { new: number; expired: number; evicted: number; rejected?: number };
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  size: number;
  bytes: number;
  /** Mean process heap in the window (NaN when not sampled). */
  memoryBytes: number;
  /** Mean CPU in the window, the higher of process and system (NaN when not sampled). */
  cpuPercent: number;
  /** Mean model-call latency in the window: per output token when adapters report tokens, else in ms. */
  latencyMs: number;
  latencyMetric: 'msPerToken' | 'responseTimeMs';
  modelCalls: number;
  latencyTrend: TrendStatus;
  anomalies: ReadonlySet<AnomalyType>;
  concurrency: number;
  /** Most model calls in flight at once in the window (NaN when unknown). */
  peakInFlight: number;
  /** The monitor's "latency rises with concurrency" advice: the limit it suggests. */
  throttleTo: number | undefined;
  /** Calls answered per second in the window (NaN when fewer than `minSamples` or no time passed). */
  callsPerSecond: number;
}

/** The settings a change touches, in the report's snake_case. */
export interface Settings {
  ttl_ms?: number;
  max_entries?: number;
  max_bytes?: number;
  max_concurrency?: number;
}

export type Knob = 'ttl' | 'capacity' | 'concurrency' | 'none';

/** The metric a change must improve (read from a later observation). */
export type Score = 'hitRate' | 'memoryBytes' | 'cpuPercent' | 'latencyMs';

/** A change a rule wants to make. */
export interface Proposal {
  type: OptimizationType;
  knob: Knob;
  action: string;
  before: Settings;
  after: Settings;
  reason: string;
  evidence: Record<string, number | string>;
  score: Score;
  /**
   * Judge on the first evaluation window that starts at least this long after applying: a new TTL
   * shows only in traffic after the entries written under the old one would have expired.
   */
  judgeAfterMs: number;
  /** Also run `global.gc()`. */
  gc: boolean;
}

export type Rule = (obs: Observation, o: ResolvedOptimizerOptions, gcAvailable: boolean) => Proposal | undefined;

function missShares(obs: Observation): { expired: number; evicted: number; total: number } {
  const { new: fresh, expired, rejected = 0 } = obs.missCauses;
  // A key refused admission lost its place for want of room, as an evicted one did.
  const evicted = obs.missCauses.evicted + rejected;
  const total = fresh + expired + evicted;
  return { expired: total === 0 ? 0 : expired / total, evicted: total === 0 ? 0 : evicted / total, total };
}

function lowHitRate(obs: Observation, o: ResolvedOptimizerOptions): boolean {
  return obs.lookups >= o.minSamples && obs.hitRate < o.lowHitRate;
}

function cacheEvidence(obs: Observation): Record<string, number> {
  return { lookups: obs.lookups, hit_rate: round3(obs.hitRate), ...prefixed(obs.missCauses) };
}

/** Low hit rate, misses mostly expirations → double the TTL (up to `maxTtlMs`). Never for new prompts. */
export const cacheTtlRule: Rule = (obs, o) => {
  if (!lowHitRate(obs, o) || missShares(obs).expired < 0.5) return undefined;
  const ttl = Math.min(o.maxTtlMs, obs.ttlMs * 2);
  if (ttl <= obs.ttlMs) return undefined;
  return {
    type: 'cache_ttl', knob: 'ttl', score: 'hitRate', gc: false, judgeAfterMs: obs.ttlMs,
    action: `raise the cache TTL from ${obs.ttlMs / 1000} s to ${ttl / 1000} s`,
    before: { ttl_ms: obs.ttlMs }, after: { ttl_ms: ttl },
    reason: `hit rate ${pct(obs.hitRate)} and ${pct(missShares(obs).expired)} of misses were expired entries`,
    evidence: cacheEvidence(obs),
  };
};

/** Low hit rate, misses mostly evictions → double the capacity (up to `maxEntries` / `maxBytes`); not under memory pressure. */
export const cacheCapacityRule: Rule = (obs, o) => {
  if (!lowHitRate(obs, o) || missShares(obs).evicted < 0.5 || obs.anomalies.has('high_memory')) return undefined;
  const entries = Math.min(o.maxEntries, obs.maxEntries * 2);
  const byteBound = Number.isFinite(obs.maxBytes) && obs.bytes >= 0.9 * obs.maxBytes;
  const bytes = byteBound ? Math.min(o.maxBytes, obs.maxBytes * 2) : obs.maxBytes;
  if (entries <= obs.maxEntries && bytes <= obs.maxBytes) return undefined;
  return {
    type: 'cache_capacity', knob: 'capacity', score: 'hitRate', gc: false, judgeAfterMs: 0,
    action: `raise the cache capacity from ${obs.maxEntries} to ${entries} entries${bytes === obs.maxBytes ? '' : ` and ${obs.maxBytes} to ${bytes} bytes`}`,
    before: { max_entries: obs.maxEntries, max_bytes: obs.maxBytes }, after: { max_entries: entries, max_bytes: bytes },
    reason: `hit rate ${pct(obs.hitRate)} and ${pct(missShares(obs).evicted)} of misses were evicted entries`,
    evidence: cacheEvidence(obs),
  };
};

/** High memory → halve the cache's byte budget when the cache holds a real share of the heap; `global.gc()` when exposed. */
export const memoryRule: Rule = (obs, o, gcAvailable) => {
  if (!obs.anomalies.has('high_memory') && !(obs.memoryBytes > o.maxHeapBytes)) return undefined;
  const gc = o.gc && gcAvailable;
  const evidence = { heap_bytes: Math.round(obs.memoryBytes), cache_bytes: obs.bytes, cache_max_bytes: obs.maxBytes };
  const target = Math.max(o.minBytes, Math.floor(obs.bytes / 2));
  const worthIt = !(obs.bytes < 0.1 * obs.memoryBytes) && target < Math.min(obs.maxBytes, obs.bytes);
  if (worthIt) {
    return {
      type: 'memory', knob: 'capacity', score: 'memoryBytes', gc, judgeAfterMs: 0, evidence,
      action: `lower the cache byte budget to ${target} bytes${gc ? ' and run global.gc()' : ''}`,
      before: { max_entries: obs.maxEntries, max_bytes: obs.maxBytes }, after: { max_entries: obs.maxEntries, max_bytes: target },
      reason: 'memory is high and the cache holds a sizeable share of the heap',
    };
  }
  if (!gc) return undefined;
  return {
    type: 'memory', knob: 'none', score: 'memoryBytes', gc, judgeAfterMs: 0, evidence, before: {}, after: {},
    action: 'run global.gc()', reason: 'memory is high; the cache holds too little of it to be worth trimming',
  };
};

/** A lower limit, at least `minConcurrency`, that actually binds: below the current limit, or below the peak in flight when there is none. */
function lowerLimit(obs: Observation, o: ResolvedOptimizerOptions, target: number): number | undefined {
  const limit = Math.max(o.minConcurrency, Math.floor(target));
  const ceiling = Number.isFinite(obs.concurrency) ? obs.concurrency : obs.peakInFlight;
  return Number.isFinite(limit) && limit < ceiling ? limit : undefined;
}

/** One step down from the current limit, or from the peak seen in flight when there is no limit yet. */
function stepDown(obs: Observation): number {
  return Number.isFinite(obs.concurrency) ? Math.min(obs.concurrency - 1, Math.floor(obs.concurrency * 0.75)) : obs.peakInFlight - 1;
}

/**
 * CPU at or above `threshold` in the window. A `high_cpu` anomaly counts only when the window has
 * no CPU sample: the detector flags rare rises (0 → 5 % is one), not high CPU.
 */
function cpuAbove(obs: Observation, threshold: number): boolean {
  return Number.isNaN(obs.cpuPercent) ? obs.anomalies.has('high_cpu') : obs.cpuPercent >= threshold;
}

/** High CPU, or latency rising with concurrency (queueing in the model server) → limit concurrency. */
export const throttleRule: Rule = (obs, o) => {
  const hot = cpuAbove(obs, o.highCpuPercent);
  const queueing = obs.throttleTo !== undefined;
  if (!hot && !queueing) return undefined;
  const limit = lowerLimit(obs, o, hot ? stepDown(obs) : (obs.throttleTo as number));
  if (limit === undefined) return undefined;
  return {
    type: 'throttle', knob: 'concurrency', score: hot ? 'cpuPercent' : 'latencyMs', gc: false, judgeAfterMs: 0,
    action: `limit concurrency from ${obs.concurrency} to ${limit}`,
    before: { max_concurrency: obs.concurrency }, after: { max_concurrency: limit },
    reason: !hot ? 'latency rises with the number of calls in flight'
      : Number.isNaN(obs.cpuPercent) ? 'a high_cpu anomaly' : `CPU at ${Math.round(obs.cpuPercent)} % (limit ${o.highCpuPercent} %)`,
    evidence: { cpu_percent: round3(obs.cpuPercent), peak_in_flight: obs.peakInFlight, latency: round3(obs.latencyMs), latency_metric: obs.latencyMetric },
  };
};

/** Degrading latency → one step lower concurrency. */
export const rebalanceRule: Rule = (obs, o) => {
  if (obs.latencyTrend !== 'degrading') return undefined;
  const limit = lowerLimit(obs, o, stepDown(obs));
  if (limit === undefined) return undefined;
  return {
    type: 'rebalance', knob: 'concurrency', score: 'latencyMs', gc: false, judgeAfterMs: 0,
    action: `lower concurrency from ${obs.concurrency} to ${limit}`,
    before: { max_concurrency: obs.concurrency }, after: { max_concurrency: limit },
    reason: `${obs.latencyMetric} is degrading`,
    evidence: { latency: round3(obs.latencyMs), latency_metric: obs.latencyMetric, peak_in_flight: obs.peakInFlight, model_calls: obs.modelCalls },
  };
};

/**
 * Whether the cause a rule acted on is gone, with a margin (`hysteresis` below the trigger): once
 * every cause of a setting's change has been calm for `calmEvaluations` evaluations in a row, the
 * setting goes back to the value it had before the optimizer touched it (`configured`).
 */
export type Calm = (obs: Observation, o: ResolvedOptimizerOptions, configured: Settings) => boolean;

export const CALM: Readonly<Record<OptimizationType, Calm>> = {
  // A kept TTL raise removes the very misses that caused it: its cause cannot be seen without undoing it (ADR 0022).
  cache_ttl: () => false,
  // The extra room is unused: going back evicts nothing.
  cache_capacity: (obs, o, c) => obs.missCauses.evicted === 0 && (obs.missCauses.rejected ?? 0) === 0
    && obs.size <= (c.max_entries ?? Infinity) * (1 - o.hysteresis) && obs.bytes <= (c.max_bytes ?? Infinity) * (1 - o.hysteresis),
  memory: (obs, o) => !obs.anomalies.has('high_memory') && !(obs.memoryBytes > o.maxHeapBytes * (1 - o.hysteresis)),
  throttle: (obs, o) => !cpuAbove(obs, o.highCpuPercent * (1 - o.hysteresis)) && obs.throttleTo === undefined,
  rebalance: (obs) => obs.latencyTrend !== 'degrading',
};

/** A window with nothing in it (no sample, no call) says nothing about causes: it neither counts as calm nor breaks a calm run. */
export function isEmptyWindow(obs: Observation): boolean {
  return Number.isNaN(obs.cpuPercent) && Number.isNaN(obs.memoryBytes) && obs.modelCalls === 0 && obs.lookups === 0;
}

/** In order: when two rules want the same knob in one evaluation, the first wins. */
export const RULES: ReadonlyArray<[OptimizationType, Rule]> = [
  ['cache_ttl', cacheTtlRule], ['cache_capacity', cacheCapacityRule], ['memory', memoryRule],
  ['throttle', throttleRule], ['rebalance', rebalanceRule],
];

function round3(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}

function pct(x: number): string {
  return `${Math.round(x * 100)} %`;
}

function prefixed(causes: Observation['missCauses']): Record<string, number> {
  return { new_misses: causes.new, expired_misses: causes.expired, evicted_misses: causes.evicted, rejected_misses: causes.rejected ?? 0 };
}
