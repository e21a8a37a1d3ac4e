import { describe, knownKeys, nonNegativeNumber, plainObject, positiveNumber } from '../internal/validate.js';

/** Options of the engine's `freshness`: answers kept fresh without a caller waiting for the model. */
export interface FreshnessOptions {
  /**
   * Stale-while-revalidate: an entry expired less than this many ms ago is served at once and
   * refreshed in the background, once per key (a caller missing that key meanwhile joins the
   * refresh). A refresh that fails keeps the old entry until its grace ends. Per call: `graceMs`.
   * @default 0 (an expired entry is a miss)
   * @example `{ graceMs: 10 * 60_000 }`
   */
  graceMs?: number;
  /**
   * Refresh-ahead: a hit on an entry close to its expiry refreshes it in the background with a
   * probability that grows as expiry nears and with the time the model took (XFetch: refresh when
   * `now − execMs × beta × ln(random()) ≥ expiresAt`), so a popular answer is renewed before it
   * expires and never expires under load. `true` is `{ beta: 1 }`; a larger `beta` refreshes earlier.
   * @default false
   */
  refreshAhead?: boolean | { beta?: number };
  /**
   * When an expired entry exists (beyond its grace) and the model has not answered within this many
   * ms, answer with that entry; the computation goes on and stores its answer. Per call: `softTimeoutMs`.
   * @default undefined (wait for the model)
   */
  softTimeoutMs?: number;
  /**
   * Most background refreshes running or queued at once (they also wait for the throttle like any
   * model call); beyond it a refresh is skipped and the entry is served as it is until its grace ends.
   * @default 32
   */
  maxBackgroundRefreshes?: number;
}

export interface ResolvedFreshness {
  readonly graceMs: number;
  /** 0 when refresh-ahead is off. */
  readonly beta: number;
  readonly softTimeoutMs: number | undefined;
  readonly maxBackgroundRefreshes: number;
}

const KEYS = ['graceMs', 'refreshAhead', 'softTimeoutMs', 'maxBackgroundRefreshes'] as const;

export function resolveFreshness(value: unknown): ResolvedFreshness {
  const record = plainObject('freshness', value);
  knownKeys('freshness', record, KEYS);
  const options = (record ?? {}) as FreshnessOptions;
  return Object.freeze({
    graceMs: nonNegativeNumber('freshness.graceMs', options.graceMs, 0),
    beta: betaOf(options.refreshAhead),
    softTimeoutMs: options.softTimeoutMs === undefined ? undefined : positiveNumber('freshness.softTimeoutMs', options.softTimeoutMs, 0),
    maxBackgroundRefreshes: wholeNumber('freshness.maxBackgroundRefreshes', options.maxBackgroundRefreshes, 32),
  });
}

function betaOf(value: unknown): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return 1;
  const record = plainObject('freshness.refreshAhead', value);
  if (record === undefined) throw new TypeError(`\`freshness.refreshAhead\` must be a boolean or \`{ beta }\`, received ${describe(value)}`);
  knownKeys('freshness.refreshAhead', record, ['beta']);
  return positiveNumber('freshness.refreshAhead.beta', record.beta, 1);
}

function wholeNumber(name: string, value: unknown, fallback: number): number {
  const n = nonNegativeNumber(name, value, fallback);
  if (!Number.isInteger(n)) throw new RangeError(`\`${name}\` must be an integer, received ${describe(value)}`);
  return n;
}

/**
 * `-ln(random())` beyond this is so rare (e^-24 ≈ 4e-11) that a hit further than `execMs × beta × 24`
 * from expiry skips the draw: the hit path pays one subtraction and one comparison.
 */
const DRAW_BOUND = 24;

/**
 * XFetch (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention",
 * VLDB 2015): refresh early when `now − delta × beta × ln(random()) ≥ expiry`, where `delta` is the
 * time a recomputation takes. Early refreshes spread over the last moments of an entry's life in
 * proportion to its recomputation time, so one caller (rarely more) refreshes before expiry.
 */
export function shouldRefreshAhead(now: number, expiresAt: number, execMs: number, beta: number, random: () => number = Math.random): boolean {
  const gap = expiresAt - now;
  const scale = Math.max(1, execMs) * beta;
  if (gap > scale * DRAW_BOUND) return false;
  return -scale * Math.log(random()) >= gap;
}
