import { createRareChangeRule } from './detectors/rare-change.js';
import { createRareShiftRule } from './detectors/rare-shift.js';
import { createSeedRule } from './detectors/seed-3sigma.js';
import { QUIET } from './detectors/types.js';
import type { PointDetector } from './detectors/types.js';

/** Which rule decides. */
export type AnomalyDetectionMethod = 'rare-shift' | 'rare-change' | 'seed-3sigma';

/** What the observed metric is; only the `'seed-3sigma'` method reads it. */
export type AnomalyMetricKind = 'latency' | 'memory' | 'cpu' | 'requests';

/** Options of {@link createAnomalyDetector}. Every numeric option counts observed points. */
export interface AnomalyDetectorOptions {
  /**
   * `'rare-shift'`: watches two views of the series, the one-step change and the shift of the
   * mean of the last `shiftWindowPoints` against the level before; alerts when either is both
   * large for this series (over `threshold` of its typical size) and rare in its recent history
   * (`rarity`), then keeps quiet for `cooldownPoints`; one event, one alert. NAB development
   * split: 63.6; cross-validated estimate about 59–62 (docs/time-series.md).
   * `'rare-change'`: the one-step change view alone (the default before; NAB dev 58.2).
   * `'seed-3sigma'`: the original service's rules, reproduced exactly (alerts in bursts; scores −61).
   * @default 'rare-shift'
   */
  readonly method?: AnomalyDetectionMethod;
  /**
   * `'seed-3sigma'` only: for `'memory'` and `'cpu'` the seed flags `value > ratio × mean`
   * of the history; for the other kinds it flags `|value − mean| > sigmas × σ`.
   * @default 'latency'
   */
  readonly metric?: AnomalyMetricKind;
  /**
   * Points observed before any alert may be raised (both methods).
   * @default 30
   */
  readonly warmupPoints?: number;
  /**
   * `'rare-shift'`, `'rare-change'`: minimum size of a one-step change (or of a shift), in
   * root-mean-square changes (shifts) of the series.
   * @default 5
   */
  readonly threshold?: number;
  /**
   * `'rare-shift'`, `'rare-change'`: alert only when changes (shifts) at least this large made up less than this fraction
   * of the recent history (about 1 in 330 points). In (0, 1]; `1` disables the rarity gate.
   * Until the history holds `1 / rarity` points it cannot show such a tail, so the tail is
   * extrapolated from changes half as large: alerts can come from the 33rd point on.
   * @default 0.003
   */
  readonly rarity?: number;
  /**
   * `'rare-shift'`, `'rare-change'`: memory, in points, of the typical-change estimate (exponential smoothing 1/n).
   * @default 1000
   */
  readonly scaleWindowPoints?: number;
  /**
   * `'rare-shift'`, `'rare-change'`: memory, in points, of the histogram that decides what is rare.
   * @default 1000
   */
  readonly rarityWindowPoints?: number;
  /**
   * `'rare-shift'`, `'rare-change'`: points after an alert during which no new alert is raised.
   * @default 200
   */
  readonly cooldownPoints?: number;
  /**
   * `'rare-shift'`: points averaged into the recent mean whose shift is watched (noise shrinks as
   * the square root of this; a shift shows within about this many points).
   * @default 4
   */
  readonly shiftWindowPoints?: number;
  /**
   * `'rare-shift'`: memory, in points, of the level the recent mean is compared with (a moving
   * average, smoothing 1/n).
   * @default 300
   */
  readonly levelWindowPoints?: number;
  /**
   * `'seed-3sigma'`: values kept in the rolling history.
   * @default 1000
   */
  readonly historySize?: number;
  /**
   * `'seed-3sigma'` (latency, requests): width of the normal band in standard deviations.
   * @default 3
   */
  readonly sigmas?: number;
  /**
   * `'seed-3sigma'` (memory, cpu): alert when the value exceeds this multiple of the mean.
   * @default 1.5
   */
  readonly ratio?: number;
}

/** The verdict on one observed point. */
export interface AnomalyObservation {
  /** Raise an alert for this point. */
  readonly isAnomaly: boolean;
  /** How unusual the point is, in [0, 1] (higher is more anomalous); 0 for ignored input. */
  readonly score: number;
}

/** A streaming detector: feed points in order, one call each; O(1) work per point. */
export interface AnomalyDetector {
  /**
   * Judges `value` against the points before it, then learns from it. A non-finite `value`
   * (NaN, ±Infinity) is ignored, leaves the state untouched and returns `{ isAnomaly: false, score: 0 }`.
   * `timestampMs` is accepted for forward compatibility; the current methods count points.
   */
  observe(value: number, timestampMs?: number): AnomalyObservation;
  /** Forgets everything observed, as if freshly created. */
  reset(): void;
}

const METHODS: readonly AnomalyDetectionMethod[] = ['rare-shift', 'rare-change', 'seed-3sigma'];
const METRICS: readonly AnomalyMetricKind[] = ['latency', 'memory', 'cpu', 'requests'];
const KNOWN_OPTIONS = new Set([
  'method', 'metric', 'warmupPoints', 'threshold', 'rarity', 'scaleWindowPoints',
  'rarityWindowPoints', 'cooldownPoints', 'shiftWindowPoints', 'levelWindowPoints', 'historySize', 'sigmas', 'ratio',
]);

type Resolved = Required<AnomalyDetectorOptions>;

const DEFAULTS: Resolved = Object.freeze({
  method: 'rare-shift',
  metric: 'latency',
  warmupPoints: 30,
  threshold: 5,
  rarity: 0.003,
  scaleWindowPoints: 1000,
  rarityWindowPoints: 1000,
  cooldownPoints: 200,
  shiftWindowPoints: 4,
  levelWindowPoints: 300,
  historySize: 1000,
  sigmas: 3,
  ratio: 1.5,
});

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.map((a) => `'${a}'`).join(', ');
  throw new TypeError(`\`${name}\` must be one of ${list}; received ${JSON.stringify(value) ?? String(value)}`);
}

interface NumberRule {
  readonly min: number;
  readonly integer?: boolean;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
}

function numberOption(name: string, value: unknown, rule: NumberRule): number {
  if (typeof value !== 'number') {
    throw new TypeError(`\`${name}\` must be a number; received ${typeof value} ${String(value)}`);
  }
  const tooSmall = rule.exclusiveMin === true ? value <= rule.min : value < rule.min;
  if (!Number.isFinite(value) || tooSmall || value > (rule.max ?? Infinity) || (rule.integer === true && !Number.isInteger(value))) {
    const kind = rule.integer === true ? 'an integer' : 'a number';
    const range = `${rule.exclusiveMin === true ? '>' : '>='} ${rule.min}${rule.max === undefined ? '' : ` and <= ${rule.max}`}`;
    throw new RangeError(`\`${name}\` must be ${kind} ${range}; received ${value}`);
  }
  return value;
}

function resolveOptions(options: AnomalyDetectorOptions): Resolved {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`\`options\` must be an object; received ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`Unknown option \`${key}\`; received ${String((options as Record<string, unknown>)[key])}`);
  }
  const pick = <K extends keyof Resolved>(key: K): unknown => (options[key] === undefined ? DEFAULTS[key] : options[key]);
  const int0 = { min: 0, integer: true } as const;
  const int1 = { min: 1, integer: true } as const;
  return Object.freeze({
    method: oneOf('method', pick('method'), METHODS),
    metric: oneOf('metric', pick('metric'), METRICS),
    warmupPoints: numberOption('warmupPoints', pick('warmupPoints'), int0),
    threshold: numberOption('threshold', pick('threshold'), { min: 0 }),
    rarity: numberOption('rarity', pick('rarity'), { min: 0, max: 1, exclusiveMin: true }),
    scaleWindowPoints: numberOption('scaleWindowPoints', pick('scaleWindowPoints'), int1),
    rarityWindowPoints: numberOption('rarityWindowPoints', pick('rarityWindowPoints'), { min: 2, integer: true }),
    cooldownPoints: numberOption('cooldownPoints', pick('cooldownPoints'), int0),
    shiftWindowPoints: numberOption('shiftWindowPoints', pick('shiftWindowPoints'), int1),
    levelWindowPoints: numberOption('levelWindowPoints', pick('levelWindowPoints'), int1),
    historySize: numberOption('historySize', pick('historySize'), int1),
    sigmas: numberOption('sigmas', pick('sigmas'), { min: 0 }),
    ratio: numberOption('ratio', pick('ratio'), { min: 0 }),
  });
}

function buildRule(o: Resolved): PointDetector {
  if (o.method === 'seed-3sigma') {
    const ratio = o.metric === 'memory' || o.metric === 'cpu' ? o.ratio : undefined;
    return createSeedRule({ historySize: o.historySize, warmupPoints: o.warmupPoints, sigmas: o.sigmas, ratio });
  }
  return o.method === 'rare-change' ? createRareChangeRule(o) : createRareShiftRule(o);
}

/**
 * Creates a streaming anomaly detector for one metric: no look-ahead, constant work per point.
 * Options are validated once: an unknown method or option throws a `TypeError`, a negative,
 * non-finite or out-of-range number a `RangeError`, each naming the option and the value received.
 *
 * @example
 * ```ts
 * import { createAnomalyDetector } from 'llm-optimization-engine';
 *
 * const latency = createAnomalyDetector();                      // 'rare-shift', cross-validated defaults
 * const memory = createAnomalyDetector({ method: 'seed-3sigma', metric: 'memory' }); // the seed's 1.5× rule
 *
 * for (const ms of [820, 790, 845, 801, 9_400]) {
 *   const { isAnomaly, score } = latency.observe(ms, Date.now());
 *   if (isAnomaly) console.warn(`slow response: ${ms} ms (score ${score.toFixed(2)})`);
 * }
 * ```
 */
export function createAnomalyDetector(options: AnomalyDetectorOptions = {}): AnomalyDetector {
  const rule = buildRule(resolveOptions(options));
  return {
    observe(value: number, _timestampMs?: number): AnomalyObservation {
      if (typeof value !== 'number' || !Number.isFinite(value)) return QUIET;
      return rule.observe(value);
    },
    reset(): void {
      rule.reset();
    },
  };
}
