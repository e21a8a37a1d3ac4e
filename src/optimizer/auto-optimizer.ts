import type { ResponseCache } from '../cache/response-cache.js';
import type { CacheStats } from '../cache/stats.js';
import type { Clock } from '../clock.js';
import type { EngineEvents } from '../events.js';
import { maximum, mean } from '../internal/summary.js';
import type { PerformanceMonitor } from '../monitor/performance-monitor.js';
import { resolveOptimizerOptions, type AutoOptimizerOptions, type OptimizationType, type ResolvedOptimizerOptions } from './optimizer-options.js';
import { Deviations, describeSettings, sameSettings, type Deviation } from './deviations.js';
import { RULES, type Knob, type Observation, type Proposal, type Score, type Settings } from './rules.js';

/** One change as `autoOptimize()` reports it (the seed's shape plus the why). */
export interface Optimization {
  type: OptimizationType;
  action: string;
  timestamp: number;
  before: Settings;
  after: Settings;
  reason: string;
  evidence: Record<string, number | string>;
}

/** A change in the optimizer's history, with what became of it. */
export interface OptimizationRecord extends Optimization {
  /** `applied`: not judged yet; `kept`: it helped; `reverted`: it did not; `superseded`: someone changed the setting since. */
  status: 'applied' | 'kept' | 'reverted' | 'superseded';
  /** The metric it had to improve, its value before and (once judged) after. */
  result: { metric: Score; before: number; after: number | null };
}

/** `engine.autoOptimize()`. */
export interface AutoOptimizeResult {
  status: 'optimizations_applied' | 'no_action_needed';
  count: number;
  optimizations: Optimization[];
  /** Earlier changes undone by this evaluation: because they did not help, or because their cause is gone (`restore: …`). */
  reverted: Optimization[];
}

/** What the optimizer reads and changes. */
export interface OptimizerTarget {
  cache: ResponseCache;
  monitor: PerformanceMonitor;
  clock: Clock;
  concurrency: { limit: number; readonly active: number; readonly queued: number };
  emit(event: 'optimization-apply' | 'optimization-revert', payload: EngineEvents['optimization-apply']): void;
}

interface Pending {
  record: OptimizationRecord;
  knob: Knob;
  judgeAt: number;
  /** Calls per second in the window before the change (NaN when unknown). */
  callsPerSecond: number;
}

const HISTORY_LIMIT = 100;
const MAX_BACKOFF = 8;

/**
 * Turns what the monitor sees into bounded, reversible changes. Each evaluation first judges the
 * changes still pending (kept when their metric improved by `hysteresis`, reverted otherwise), then
 * lets each enabled rule out of cooldown propose one change on a knob nobody is waiting on.
 */
export class AutoOptimizer {
  readonly #target: OptimizerTarget;
  readonly #options: ResolvedOptimizerOptions;
  readonly #history: OptimizationRecord[] = [];
  readonly #pending: Pending[] = [];
  readonly #cooldownUntil = new Map<OptimizationType, number>();
  readonly #backoff = new Map<OptimizationType, number>();
  readonly #deviations = new Deviations();
  #lastStats: CacheStats | undefined;
  #lastCalls = 0;
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(target: OptimizerTarget, options?: AutoOptimizerOptions) {
    this.#target = target;
    const stats = target.cache.getStats();
    this.#options = resolveOptimizerOptions(options, { maxEntries: stats.maxEntries, maxBytes: stats.maxBytes });
  }

  /** The resolved bounds and settings. */
  get options(): ResolvedOptimizerOptions {
    return this.#options;
  }

  /** Every change made (newest last, at most 100), with its status. */
  get history(): readonly OptimizationRecord[] {
    return this.#history;
  }

  evaluate(): AutoOptimizeResult {
    const obs = this.#observe();
    // A knob still waiting for its verdict, or reverted just now (the observation predates the revert), is left alone.
    const busy = new Set<Knob>();
    const reverted = this.#judge(obs, busy);
    reverted.push(...this.#restoreCalm(obs, busy));
    const applied: Optimization[] = [];
    for (const p of this.#pending) busy.add(p.knob);
    for (const [type, rule] of RULES) {
      if (!this.#options.rules.has(type) || obs.now < (this.#cooldownUntil.get(type) ?? -Infinity)) continue;
      const proposal = rule(obs, this.#options, typeof globalThis.gc === 'function');
      if (proposal === undefined || (proposal.knob !== 'none' && busy.has(proposal.knob))) continue;
      busy.add(proposal.knob);
      applied.push(this.#apply(proposal, obs));
    }
    return { status: applied.length > 0 ? 'optimizations_applied' : 'no_action_needed', count: applied.length, optimizations: applied, reverted };
  }

  #apply(p: Proposal, obs: Observation): Optimization {
    this.#set(p.knob, p.after);
    this.#deviations.changed(p.knob, p.before, p.after, [p.type]);
    if (p.gc) globalThis.gc?.();
    const { type, action, before, after, reason, evidence } = p;
    const record: OptimizationRecord = {
      type, action, timestamp: obs.now, before, after, reason, evidence,
      status: p.knob === 'none' ? 'kept' : 'applied', result: { metric: p.score, before: scoreOf(p.score, obs, this.#options), after: null },
    };
    this.#remember(record);
    if (p.knob !== 'none') this.#pending.push({ record, knob: p.knob, judgeAt: obs.now + p.judgeAfterMs, callsPerSecond: obs.callsPerSecond });
    this.#cooldownUntil.set(type, obs.now + this.#cooldown(type));
    this.#target.emit('optimization-apply', { type, action, before, after, timestamp: obs.now });
    return { type, action, timestamp: obs.now, before, after, reason, evidence };
  }

  /** Judges pending changes that have had their time and have data; reverts those that did not help. */
  #judge(obs: Observation, reverting: Set<Knob>): Optimization[] {
    const reverted: Optimization[] = [];
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const { record, knob, judgeAt, callsPerSecond } = this.#pending[i] as Pending;
      const now = scoreOf(record.result.metric, obs, this.#options);
      if (obs.since < judgeAt || Number.isNaN(now)) continue;
      this.#pending.splice(i, 1);
      record.result.after = now;
      if (!sameSettings(this.#current(knob), record.after)) {
        record.status = 'superseded';
      } else if (helped(record.result.metric, record.result.before, now, this.#options.hysteresis)
        && (knob !== 'concurrency' || keptPace(callsPerSecond, obs.callsPerSecond, this.#options.hysteresis))) {
        record.status = 'kept';
        this.#backoff.delete(record.type);
      } else {
        reverted.push(this.#revert(record, knob, obs.now));
        reverting.add(knob);
      }
    }
    return reverted;
  }

  #revert(record: OptimizationRecord, knob: Knob, now: number): Optimization {
    this.#set(knob, record.before);
    this.#deviations.reverted(knob, record.before);
    record.status = 'reverted';
    this.#backoff.set(record.type, Math.min(MAX_BACKOFF, (this.#backoff.get(record.type) ?? 1) * 2));
    this.#cooldownUntil.set(record.type, now + this.#cooldown(record.type));
    const action = `revert: ${record.action} (${record.result.metric} ${fmt(record.result.before)} → ${fmt(record.result.after)})`;
    const event = { type: record.type, action, before: record.after, after: record.before, timestamp: now };
    this.#target.emit('optimization-revert', event);
    return { ...event, reason: 'the change did not improve its metric by the hysteresis margin (or, for concurrency, cost throughput)', evidence: { metric: record.result.metric, before: record.result.before, after: record.result.after ?? Number.NaN } };
  }

  /**
   * Applies a setting learned in an earlier run (autonomous mode's state file) as the optimizer's
   * own change: put back to the value it replaces once its possible causes are calm, like any other.
   */
  adopt(knob: 'concurrency' | 'capacity', settings: Settings): void {
    const before = this.#current(knob);
    this.#set(knob, { ...before, ...this.#withinBounds(knob, settings, before) });
    const causes: OptimizationType[] = knob === 'concurrency' ? ['throttle', 'rebalance'] : ['cache_capacity', 'memory'];
    this.#deviations.changed(knob, before, this.#current(knob), causes);
  }

  /**
   * A learned setting held to the bounds the optimizer itself keeps to: a state file is outside data,
   * and `max_entries: 4294967296` there must not size the cache past `optimizer.maxEntries`.
   * Concurrency is only ever lowered, never below `minConcurrency`.
   */
  #withinBounds(knob: 'concurrency' | 'capacity', settings: Settings, before: Settings): Settings {
    const o = this.#options;
    if (knob === 'capacity') {
      const out: Settings = {};
      if (settings.max_entries !== undefined) out.max_entries = Math.min(settings.max_entries, o.maxEntries);
      if (settings.max_bytes !== undefined) out.max_bytes = Math.min(settings.max_bytes, o.maxBytes);
      return out;
    }
    if (settings.max_concurrency === undefined) return {};
    const configured = before.max_concurrency ?? Number.POSITIVE_INFINITY;
    return { max_concurrency: Math.max(Math.min(settings.max_concurrency, configured), o.minConcurrency) };
  }

  /** Puts back the settings whose causes have all been calm for `calmEvaluations` windows in a row. */
  #restoreCalm(obs: Observation, busy: Set<Knob>): Optimization[] {
    return this.#deviations.due(obs, this.#options, (knob) => this.#current(knob)).map(([knob, deviation]) => {
      busy.add(knob);
      return this.#restore(knob, deviation, obs.now);
    });
  }

  #restore(knob: Knob, deviation: Deviation, now: number): Optimization {
    const causes = [...deviation.causes];
    this.#set(knob, deviation.configured);
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const pending = this.#pending[i] as Pending;
      if (pending.knob !== knob) continue;
      pending.record.status = 'superseded';
      this.#pending.splice(i, 1);
    }
    // The rules that caused it wait a cooldown before acting again: hysteresis in time as well.
    for (const type of causes) this.#cooldownUntil.set(type, now + this.#cooldown(type));
    const type = causes.at(-1) as OptimizationType;
    const action = `restore: ${describeSettings(deviation.configured)} (${causes.join(', ')} calm for ${this.#options.calmEvaluations} evaluations)`;
    const event = { type, action, before: deviation.current, after: deviation.configured, timestamp: now };
    this.#target.emit('optimization-revert', event);
    return { ...event, reason: 'the cause of the change is gone', evidence: { calm_evaluations: this.#options.calmEvaluations, causes: causes.join(',') } };
  }

  #cooldown(type: OptimizationType): number {
    return this.#options.cooldownMs * (this.#backoff.get(type) ?? 1);
  }

  #current(knob: Knob): Settings {
    const stats = this.#target.cache.getStats();
    if (knob === 'ttl') return { ttl_ms: stats.ttlMs };
    if (knob === 'capacity') return { max_entries: stats.maxEntries, max_bytes: stats.maxBytes };
    if (knob === 'concurrency') return { max_concurrency: this.#target.concurrency.limit };
    return {};
  }

  #set(knob: Knob, s: Settings): void {
    if (knob === 'ttl' && s.ttl_ms !== undefined) this.#target.cache.resize({ ttlMs: s.ttl_ms });
    if (knob === 'capacity') this.#target.cache.resize({ maxEntries: s.max_entries as number, maxBytes: s.max_bytes as number });
    if (knob === 'concurrency' && s.max_concurrency !== undefined) this.#target.concurrency.limit = s.max_concurrency;
  }

  #remember(record: OptimizationRecord): void {
    this.#history.push(record);
    if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
  }

  #observe(): Observation {
    const { cache, monitor, clock, concurrency } = this.#target;
    const now = clock.now();
    const stats = cache.getStats();
    const last = this.#lastStats;
    const since = this.#lastAt;
    this.#lastStats = stats;
    this.#lastAt = now;
    const hits = stats.hits - (last?.hits ?? 0);
    const lookups = hits + stats.misses - (last?.misses ?? 0);
    const window = (metric: Parameters<PerformanceMonitor['getHistory']>[0]): number[] =>
      monitor.getHistory(metric, Number.isFinite(since) ? { afterMs: since } : {});
    const perToken = monitor.getHistory('msPerToken').length > 0;
    const latency = window(perToken ? 'msPerToken' : 'responseTimeMs');
    const trends = monitor.getTrends();
    const inFlight = window('inFlight').filter(Number.isFinite);
    const throttle = monitor.getRecommendations().find((r) => r.type === 'throttle');
    const o = monitor.outcomes;
    const calls = o.hit + o.miss + o.coalesced + o.bypass + o.error;
    const answered = calls - this.#lastCalls;
    this.#lastCalls = calls;
    const seconds = (now - since) / 1000;
    return {
      now, since, lookups, hitRate: lookups === 0 ? 0 : hits / lookups,
      missCauses: diffCauses(stats.missCauses, last?.missCauses),
      ttlMs: stats.ttlMs, maxEntries: stats.maxEntries, maxBytes: stats.maxBytes, size: stats.size, bytes: stats.bytes,
      memoryBytes: mean(window('memoryBytes')),
      cpuPercent: highest(mean(window('cpuPercent')), mean(window('systemCpuPercent'))),
      latencyMs: mean(latency), latencyMetric: perToken ? 'msPerToken' : 'responseTimeMs', modelCalls: latency.length,
      latencyTrend: (perToken ? trends.msPerToken : trends.responseTimeMs)?.status ?? 'insufficient_data',
      anomalies: new Set(monitor.detectAnomalies().map((a) => a.type)),
      concurrency: concurrency.limit,
      peakInFlight: highest(maximum(inFlight) + 1, concurrency.active + concurrency.queued || Number.NaN),
      throttleTo: throttle === undefined ? undefined : Number(throttle.evidence.in_flight_split),
      callsPerSecond: answered >= this.#options.minSamples && seconds > 0 && Number.isFinite(seconds) ? answered / seconds : Number.NaN,
    };
  }
}

/** The larger of two means, ignoring a NaN (an unsampled metric). */
function highest(a: number, b: number): number {
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
}

function diffCauses(now: CacheStats['missCauses'], before: CacheStats['missCauses'] | undefined): Observation['missCauses'] {
  return { new: now.new - (before?.new ?? 0), expired: now.expired - (before?.expired ?? 0), evicted: now.evicted - (before?.evicted ?? 0) };
}

/** The value of a change's target metric in an observation; NaN when the window holds too little to judge. */
function scoreOf(score: Score, obs: Observation, o: ResolvedOptimizerOptions): number {
  if (score === 'hitRate') return obs.lookups >= o.minSamples ? obs.hitRate : Number.NaN;
  if (score === 'latencyMs') return obs.modelCalls >= 5 ? obs.latencyMs : Number.NaN;
  return score === 'memoryBytes' ? obs.memoryBytes : obs.cpuPercent;
}

/** Better by at least `hysteresis` (relative): the hit rate higher, the others lower. */
function helped(score: Score, before: number, after: number, hysteresis: number): boolean {
  if (Number.isNaN(before)) return true;
  const margin = hysteresis * Math.abs(before);
  return score === 'hitRate' ? after >= before + Math.max(margin, 0.01) : after <= before - margin;
}

/** Calls per second did not fall by more than `hysteresis` (relative); unknown on either side does not count against. */
function keptPace(before: number, after: number, hysteresis: number): boolean {
  return Number.isNaN(before) || Number.isNaN(after) || after >= before * (1 - hysteresis);
}

function fmt(x: number | null): string {
  return x === null || !Number.isFinite(x) ? String(x) : String(Math.round(x * 1000) / 1000);
}
