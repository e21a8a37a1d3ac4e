import { describe, knownKeys, plainObject, positiveInteger } from '../internal/validate.js';
import type { Prompt } from '../types.js';
import { DEFAULT_WEIGHTS, FEATURES, type ComplexityWeights } from './complexity.js';

/** What a cascade's `check` function receives besides the small tier's answer. */
export interface CascadeCheckContext {
  /** The logical model the call named (`'assistant'`). */
  readonly route: string;
  /** The tier that answered (the small one). */
  readonly model: string;
  readonly prompt: Prompt;
}

/** How one logical model picks its tier per call. */
export type RouteStrategy = 'rules' | 'cascade';

/** One logical model (a key of the engine's `routes` option) and its two tiers. */
export interface RouteOptions {
  /**
   * The two model names the logical model maps to, small first: `[small, large]`. `exec` is called
   * with one of them as its `model` argument (the Ollama adapter sends it to the server).
   * @example `['llama3.1:8b', 'llama3.1:70b']`
   */
  tiers: readonly [string, string];
  /**
   * `'rules'`: a complexity score of the request picks the tier before any call (one model call).
   * `'cascade'`: the small tier answers first; the large one is asked when that answer's confidence
   * is low (token log-probabilities the exec reports), `check` rejects it, or the small tier fails
   * or truncates. @default 'rules'
   */
  strategy?: RouteStrategy;
  /** Weights of the complexity score's features (rules). Missing weights keep their defaults. */
  weights?: Partial<ComplexityWeights>;
  /**
   * Rules: requests scoring above it go to the large tier, in [0, 1]. Ignored once `targetLargeShare`
   * has calibrated a threshold. @default 0.35
   */
  threshold?: number;
  /**
   * Cascade: the small answer is escalated when its mean token log-probability is below this (natural
   * log, ≤ 0). With `targetLargeShare`, this is only the starting point. @default -1
   */
  minMeanLogprob?: number;
  /** Cascade: the small answer is escalated when any token's log-probability is below this. @default none */
  minTokenLogprob?: number;
  /**
   * Cascade: the service's own check of the small tier's answer (say, "valid JSON with these fields").
   * `false`, a rejection or a throw escalate the call; the check never fails a call.
   */
  check?: (value: unknown, context: CascadeCheckContext) => boolean | PromiseLike<boolean>;
  /**
   * The share of calls (0–1) meant for the large tier: the threshold (rules: of the score; cascade:
   * of the mean log-probability) is calibrated online to it, over the last `calibrationWindow` calls.
   * @default undefined (fixed `threshold` / `minMeanLogprob`)
   * @example `0.2`
   */
  targetLargeShare?: number;
  /** Calls the calibration looks back over. @default 500 */
  calibrationWindow?: number;
}

export interface ResolvedRoute {
  readonly name: string;
  readonly small: string;
  readonly large: string;
  readonly strategy: RouteStrategy;
  readonly weights: Readonly<ComplexityWeights>;
  readonly threshold: number;
  readonly minMeanLogprob: number;
  readonly minTokenLogprob: number | undefined;
  readonly check: RouteOptions['check'];
  readonly targetLargeShare: number | undefined;
  readonly calibrationWindow: number;
}

const KEYS = ['tiers', 'strategy', 'weights', 'threshold', 'minMeanLogprob', 'minTokenLogprob', 'check', 'targetLargeShare', 'calibrationWindow'] as const;

/** The engine's `routes` option, resolved: one frozen route per logical model. */
export function resolveRoutes(value: unknown): ReadonlyMap<string, ResolvedRoute> {
  const routes = new Map<string, ResolvedRoute>();
  const record = plainObject('routes', value);
  if (record === undefined) return routes;
  for (const [name, options] of Object.entries(record)) {
    if (name === '') throw new TypeError('`routes` must not have an empty model name');
    routes.set(name, resolveRoute(name, options));
  }
  for (const route of routes.values()) {
    if (routes.has(route.small) || routes.has(route.large)) {
      throw new TypeError(`\`routes.${route.name}.tiers\` must name models, not other routes`);
    }
  }
  return routes;
}

function resolveRoute(name: string, value: unknown): ResolvedRoute {
  const path = `routes.${name}`;
  const o = plainObject(path, value) as RouteOptions | undefined;
  if (o === undefined) throw new TypeError(`\`${path}\` must be an object, received undefined`);
  knownKeys(path, o as unknown as Record<string, unknown>, KEYS);
  const tiers = o.tiers as unknown;
  if (!Array.isArray(tiers) || tiers.length !== 2 || !tiers.every((t) => typeof t === 'string' && t !== '') || tiers[0] === tiers[1]) {
    throw new TypeError(`\`${path}.tiers\` must be two different model names, [small, large], received ${describe(tiers)}`);
  }
  const strategy = o.strategy ?? 'rules';
  if (strategy !== 'rules' && strategy !== 'cascade') throw new TypeError(`\`${path}.strategy\` must be 'rules' or 'cascade', received ${describe(strategy)}`);
  if (o.check !== undefined && typeof o.check !== 'function') throw new TypeError(`\`${path}.check\` must be a function, received ${describe(o.check)}`);
  return Object.freeze({
    name,
    small: tiers[0] as string,
    large: tiers[1] as string,
    strategy,
    weights: resolveWeights(`${path}.weights`, o.weights),
    threshold: inRange(`${path}.threshold`, o.threshold, 0, 1, 0.35),
    minMeanLogprob: inRange(`${path}.minMeanLogprob`, o.minMeanLogprob, Number.NEGATIVE_INFINITY, 0, -1),
    minTokenLogprob: o.minTokenLogprob === undefined ? undefined : inRange(`${path}.minTokenLogprob`, o.minTokenLogprob, Number.NEGATIVE_INFINITY, 0, 0),
    check: o.check,
    targetLargeShare: o.targetLargeShare === undefined ? undefined : inRange(`${path}.targetLargeShare`, o.targetLargeShare, 0, 1, 0),
    calibrationWindow: positiveInteger(`${path}.calibrationWindow`, o.calibrationWindow, 500),
  });
}

function resolveWeights(path: string, value: unknown): Readonly<ComplexityWeights> {
  const record = plainObject(path, value);
  knownKeys(path, record, FEATURES);
  const weights = { ...DEFAULT_WEIGHTS };
  for (const f of FEATURES) weights[f] = inRange(`${path}.${f}`, record?.[f], 0, Number.POSITIVE_INFINITY, DEFAULT_WEIGHTS[f]);
  if (FEATURES.every((f) => weights[f] === 0)) throw new RangeError(`\`${path}\` must have at least one weight above 0`);
  return Object.freeze(weights);
}

/** A finite number in [min, max]. */
export function inRange(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, received ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`\`${name}\` must be a finite number in [${min}, ${max}], received ${describe(value)}`);
  }
  return value;
}
