import { validateCacheMode } from '../internal/arguments.js';
import { describe, knownKeys, plainObject, positiveNumber } from '../internal/validate.js';
import { inRange } from '../routing/routing-options.js';
import type { RouteOverride } from '../routing/route-types.js';
import type { CacheMode } from '../types.js';

/**
 * The settings one variant overrides for the calls assigned to it: only those that change how one
 * call is served, never state shared by every call (the cache's size, the throttle), so arms
 * cannot leak into each other. A call's own explicit options still win.
 */
export interface VariantSettings {
  /** TTL of the answers this arm's calls store, in ms. */
  ttlMs?: number;
  /** Cache mode of this arm's calls (`'bypass'`: a no-cache arm). */
  cache?: CacheMode;
  /** Serve an expired answer when the model fails. */
  staleIfError?: boolean;
  /** Routing of this arm's calls to a logical model: a fixed threshold, or always one tier. */
  route?: RouteOverride;
}

/** Metrics an experiment compares between arms. */
export type ExperimentMetric = 'hitRate' | 'errorRate' | 'latency' | 'escalationRate' | 'tokens' | 'feedback';

export const METRICS: readonly ExperimentMetric[] = ['hitRate', 'errorRate', 'latency', 'escalationRate', 'tokens', 'feedback'];

/** Options of `engine.experiment()`. */
export interface ExperimentOptions {
  /** Unique among running experiments; names its state in the learned-state file. */
  name: string;
  /**
   * The arms and what each overrides. The first is the control unless `control` names another.
   * @example `{ control: {}, longTtl: { ttlMs: 4 * 3_600_000 } }`
   */
  variants: Record<string, VariantSettings>;
  /** Relative weights of the arms. @default equal */
  split?: Record<string, number>;
  /**
   * What a call is assigned by: its `scope` (a tenant or user stays in one arm) or its cache key (a
   * request always lands in the same arm). @default 'scope'
   */
  by?: 'scope' | 'key';
  /** Share of the traffic (0–1] taken into the experiment (a slice); the rest runs as configured. @default 1 */
  share?: number;
  /** Only calls to these models (logical names included) take part. @default every model */
  models?: readonly string[];
  /** Metrics compared, with always-valid p-values and intervals. @default every metric */
  metrics?: readonly ExperimentMetric[];
  /** The control arm. @default the first variant */
  control?: string;
  /** Level of the sequential test and its intervals. @default 0.05 */
  alpha?: number;
  /** Scale of the test's prior on the difference, in standard deviations of the data. @default 0.1 */
  effectSize?: number;
}

export interface ResolvedExperiment {
  readonly name: string;
  readonly variants: ReadonlyMap<string, Readonly<VariantSettings>>;
  /** Cumulative weights (ending at 1), in the order of `variants`. */
  readonly cumulative: readonly number[];
  readonly by: 'scope' | 'key';
  readonly share: number;
  readonly models: ReadonlySet<string> | undefined;
  readonly metrics: readonly ExperimentMetric[];
  readonly control: string;
  readonly alpha: number;
  readonly effectSize: number;
  /** What must match for a saved state to be restored into this experiment. */
  readonly fingerprint: string;
}

const KEYS = ['name', 'variants', 'split', 'by', 'share', 'models', 'metrics', 'control', 'alpha', 'effectSize'] as const;
const VARIANT_KEYS = ['ttlMs', 'cache', 'staleIfError', 'route'] as const;

export function resolveExperiment(options: ExperimentOptions): ResolvedExperiment {
  knownKeys('experiment', plainObject('experiment', options) ?? {}, KEYS);
  if (options === undefined) throw new TypeError('`experiment` must be an object, received undefined');
  const name = options.name as unknown;
  if (typeof name !== 'string' || name === '' || name.length > 100) throw new TypeError(`\`experiment.name\` must be a non-empty string of at most 100 characters, received ${describe(name)}`);
  const record = plainObject('experiment.variants', options.variants);
  const names = Object.keys(record ?? {});
  if (names.length < 2) throw new TypeError('`experiment.variants` must have at least two variants');
  const variants = new Map<string, Readonly<VariantSettings>>();
  for (const v of names) variants.set(v, resolveVariant(`experiment.variants.${v}`, record?.[v]));
  const split = plainObject('experiment.split', options.split);
  knownKeys('experiment.split', split, names);
  const weights = names.map((v) => positiveNumber(`experiment.split.${v}`, split?.[v], 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  const cumulative = weights.map((w) => (acc += w / total));
  cumulative[cumulative.length - 1] = 1;
  const by = options.by ?? 'scope';
  if (by !== 'scope' && by !== 'key') throw new TypeError(`\`experiment.by\` must be 'scope' or 'key', received ${describe(by)}`);
  const control: string = options.control ?? names[0] ?? '';
  if (!variants.has(control)) throw new TypeError(`\`experiment.control\` must name a variant, received ${describe(control)}`);
  const metrics: unknown = options.metrics ?? METRICS;
  if (!Array.isArray(metrics) || metrics.length === 0 || !metrics.every((m: unknown) => METRICS.includes(m as ExperimentMetric))) {
    throw new TypeError(`\`experiment.metrics\` must be a non-empty array of ${METRICS.map((m) => `'${m}'`).join(', ')}`);
  }
  const models = options.models;
  if (models !== undefined && (!Array.isArray(models) || !models.every((m) => typeof m === 'string'))) {
    throw new TypeError(`\`experiment.models\` must be an array of model names, received ${describe(models)}`);
  }
  const share = options.share === undefined ? 1 : inRange('experiment.share', options.share, Number.MIN_VALUE, 1, 1);
  return Object.freeze({
    name, variants, cumulative, by, share, control, metrics: [...(metrics as ExperimentMetric[])],
    models: models === undefined ? undefined : new Set(models),
    alpha: inRange('experiment.alpha', options.alpha, 1e-6, 0.5, 0.05),
    effectSize: positiveNumber('experiment.effectSize', options.effectSize, 0.1),
    // A variant's settings are part of what its figures measure: changed settings start afresh.
    fingerprint: JSON.stringify([names, weights, by, share, [...(models ?? [])].sort(), names.map((v) => variants.get(v))]),
  });
}

function resolveVariant(path: string, value: unknown): Readonly<VariantSettings> {
  const v = plainObject(path, value) ?? {};
  knownKeys(path, v, VARIANT_KEYS);
  const out: VariantSettings = {};
  if (v['ttlMs'] !== undefined) out.ttlMs = positiveNumber(`${path}.ttlMs`, v['ttlMs'], 0);
  if (v['cache'] !== undefined) out.cache = validateCacheMode(v['cache']);
  if (v['staleIfError'] !== undefined) out.staleIfError = v['staleIfError'] === true;
  const route = plainObject(`${path}.route`, v['route']);
  if (route !== undefined) {
    knownKeys(`${path}.route`, route, ['threshold', 'tier']);
    const r: RouteOverride = {};
    if (route['threshold'] !== undefined) r.threshold = inRange(`${path}.route.threshold`, route['threshold'], Number.NEGATIVE_INFINITY, 1, 0);
    if (route['tier'] !== undefined) {
      if (route['tier'] !== 'small' && route['tier'] !== 'large') throw new TypeError(`\`${path}.route.tier\` must be 'small' or 'large', received ${describe(route['tier'])}`);
      r.tier = route['tier'];
    }
    out.route = Object.freeze(r);
  }
  return Object.freeze(out);
}
