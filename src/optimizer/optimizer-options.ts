import { describe, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';

/** The changes the auto-optimizer can make, one rule each. */
export type OptimizationType = 'cache_ttl' | 'cache_capacity' | 'memory' | 'throttle' | 'rebalance';

export const OPTIMIZATION_TYPES: readonly OptimizationType[] = ['cache_ttl', 'cache_capacity', 'memory', 'throttle', 'rebalance'];

/** Options of the auto-optimizer (`OptimizationEngine`'s `optimizer` option): what it may change, and how often. */
export interface AutoOptimizerOptions {
  /** Rules allowed to act. @default all: ['cache_ttl', 'cache_capacity', 'memory', 'throttle', 'rebalance'] */
  rules?: readonly OptimizationType[];
  /** Time after a change (or a revert) before the same rule may act again; doubled after each revert, up to 8×. @default 600_000 */
  cooldownMs?: number;
  /**
   * A change is kept only when its target metric improved by at least this fraction (and, for
   * concurrency, calls per second did not fall by more); otherwise it is reverted. Also the margin
   * below a trigger that counts as calm. @default 0.1
   */
  hysteresis?: number;
  /** Cache lookups (or model calls) in an evaluation window before a rule trusts it. @default 20 */
  minSamples?: number;
  /** Cache rules act only below this hit rate (0–1) in the window. @default 0.5 */
  lowHitRate?: number;
  /** Highest TTL the optimizer may set. @default 86_400_000 (one day) */
  maxTtlMs?: number;
  /** Highest `maxEntries` it may set. @default 10 × the cache's `maxEntries` at start */
  maxEntries?: number;
  /** Highest `maxBytes` it may set. @default the cache's `maxBytes` at start (the byte budget never grows) */
  maxBytes?: number;
  /** Lowest `maxBytes` the memory rule may trim to. @default 1_048_576 */
  minBytes?: number;
  /** Lowest `maxConcurrency` it may set. @default 1 */
  minConcurrency?: number;
  /**
   * Evaluations in a row (windows with data) in which the cause of a change is gone, below its
   * trigger by `hysteresis`, before the setting goes back to its value before the optimizer
   * changed it: concurrency and the byte budget once CPU, queueing and memory are back to normal,
   * capacity once the extra room is unused. @default 3
   */
  calmEvaluations?: number;
  /** The throttle rule acts when process or system CPU averages at least this (percent) over the window. @default 80 */
  highCpuPercent?: number;
  /** The memory rule also acts when the heap averages more than this over the window. @default none (anomalies only) */
  maxHeapBytes?: number;
  /** Run `global.gc()` on high memory when Node was started with `--expose-gc`. @default true */
  gc?: boolean;
  /**
   * When set, a proposed TTL change is first tried as an experiment on this share (0–1] of the
   * requests (`optimizer:cache_ttl`, by key): adopted when its hit rate is higher with an
   * always-valid p-value below 0.05, dropped when lower or after `trialCalls` calls per arm.
   * @default undefined (changes are applied at once, then judged)
   */
  trialShare?: number;
  /** Calls per arm after which a trial without a verdict is dropped. @default 10_000 */
  trialCalls?: number;
}

export interface ResolvedOptimizerOptions {
  readonly rules: ReadonlySet<OptimizationType>;
  readonly cooldownMs: number;
  readonly hysteresis: number;
  readonly minSamples: number;
  readonly lowHitRate: number;
  readonly maxTtlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly minBytes: number;
  readonly minConcurrency: number;
  readonly calmEvaluations: number;
  readonly highCpuPercent: number;
  readonly maxHeapBytes: number;
  readonly gc: boolean;
  readonly trialShare: number | undefined;
  readonly trialCalls: number;
}

const KEYS = [
  'rules', 'cooldownMs', 'hysteresis', 'minSamples', 'lowHitRate', 'maxTtlMs', 'maxEntries', 'maxBytes', 'minBytes',
  'minConcurrency', 'calmEvaluations', 'highCpuPercent', 'maxHeapBytes', 'gc', 'trialShare', 'trialCalls',
] as const;

function fraction(name: string, value: unknown, fallback: number): number {
  const n = positiveNumber(name, value, fallback);
  if (n > 1) throw new RangeError(`\`${name}\` must be at most 1, received ${describe(value)}`);
  return n;
}

function resolveRules(value: unknown): ReadonlySet<OptimizationType> {
  if (value === undefined) return new Set(OPTIMIZATION_TYPES);
  if (!Array.isArray(value)) throw new TypeError(`\`optimizer.rules\` must be an array, received ${describe(value)}`);
  for (const rule of value) {
    if (!(OPTIMIZATION_TYPES as readonly unknown[]).includes(rule)) {
      throw new TypeError(`\`optimizer.rules\` entries must be one of ${OPTIMIZATION_TYPES.map((t) => `'${t}'`).join(', ')}, received ${describe(rule)}`);
    }
  }
  return new Set(value as OptimizationType[]);
}

/** `cache` gives the defaults that depend on the cache's starting bounds. */
export function resolveOptimizerOptions(options: AutoOptimizerOptions | undefined, cache: { maxEntries: number; maxBytes: number }): ResolvedOptimizerOptions {
  const record = plainObject('optimizer', options) ?? {};
  knownKeys('optimizer', record, KEYS);
  const o = record as AutoOptimizerOptions;
  if (o.gc !== undefined && typeof o.gc !== 'boolean') throw new TypeError(`\`optimizer.gc\` must be a boolean, received ${describe(o.gc)}`);
  return Object.freeze({
    rules: resolveRules(o.rules),
    cooldownMs: positiveNumber('optimizer.cooldownMs', o.cooldownMs, 600_000),
    hysteresis: fraction('optimizer.hysteresis', o.hysteresis, 0.1),
    minSamples: positiveInteger('optimizer.minSamples', o.minSamples, 20),
    lowHitRate: fraction('optimizer.lowHitRate', o.lowHitRate, 0.5),
    maxTtlMs: positiveNumber('optimizer.maxTtlMs', o.maxTtlMs, 86_400_000),
    maxEntries: positiveInteger('optimizer.maxEntries', o.maxEntries, cache.maxEntries * 10),
    maxBytes: o.maxBytes === Infinity ? Infinity : positiveNumber('optimizer.maxBytes', o.maxBytes, cache.maxBytes),
    minBytes: positiveNumber('optimizer.minBytes', o.minBytes, 1_048_576),
    minConcurrency: positiveInteger('optimizer.minConcurrency', o.minConcurrency, 1),
    calmEvaluations: positiveInteger('optimizer.calmEvaluations', o.calmEvaluations, 3),
    highCpuPercent: positiveNumber('optimizer.highCpuPercent', o.highCpuPercent, 80),
    maxHeapBytes: positiveNumber('optimizer.maxHeapBytes', o.maxHeapBytes, Infinity),
    gc: o.gc ?? true,
    trialShare: o.trialShare === undefined ? undefined : fraction('optimizer.trialShare', o.trialShare, 1),
    trialCalls: positiveInteger('optimizer.trialCalls', o.trialCalls, 10_000),
  });
}
