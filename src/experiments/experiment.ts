import type { CallOutcome } from '../types.js';
import { quantileOfSorted } from '../routing/calibration.js';
import type { ExperimentMetric, ResolvedExperiment, VariantSettings } from './experiment-options.js';
import { addValue, compare, emptyMoments, mergeMoments, type Comparison, type Moments } from './sequential-test.js';

/** Latencies kept per arm for its percentiles (the mean and the test use every call). */
const LATENCY_SAMPLES = 1024;
/** Characters of an assignment unit that are hashed (a long prompt's key text is cut: assignment only needs to be stable). */
const UNIT_CHARS = 4096;

/** One arm's figures in `results()` (wire shape). */
export interface VariantResults {
  calls: number;
  hit_rate: number | null;
  error_rate: number | null;
  latency_ms_mean: number | null;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  /** Share of routed model calls that escalated to the large tier. */
  escalation_rate: number | null;
  /** Prompt + output tokens per model call. */
  tokens_per_call: number | null;
  feedback_mean: number | null;
  feedback_count: number;
}

/** `experiment.results()`: per arm, and per treatment arm each metric against the control. */
export interface ExperimentResults {
  name: string;
  by: 'scope' | 'key';
  control: string;
  alpha: number;
  status: 'running' | 'stopped';
  /** Calls assigned, all arms (restored ones included). */
  calls: number;
  variants: Record<string, VariantResults>;
  /** Always-valid p-values and intervals (mSPRT): valid however often you look. */
  comparisons: Record<string, Partial<Record<ExperimentMetric, Comparison>>>;
}

class Arm {
  readonly metrics: Record<ExperimentMetric, Moments> = {
    hitRate: emptyMoments(), errorRate: emptyMoments(), latency: emptyMoments(),
    escalationRate: emptyMoments(), tokens: emptyMoments(), feedback: emptyMoments(),
  };
  readonly latencies: number[] = [];
  next = 0;

  addLatency(ms: number): void {
    addValue(this.metrics.latency, ms);
    if (this.latencies.length < LATENCY_SAMPLES) this.latencies.push(ms);
    else this.latencies[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_SAMPLES;
  }
}

/** What one call recorded in its arm. */
export interface ArmObservation {
  outcome: CallOutcome;
  durationMs: number;
  /** Tokens of the model call (misses only). */
  tokens: number | undefined;
  /** Whether a routed model call escalated (undefined: not routed). */
  escalated: boolean | undefined;
}

/** Saved form of an experiment (learned-state file). */
export interface SavedExperiment {
  name: string;
  fingerprint: string;
  arms: Record<string, { metrics: Record<string, Moments>; latencies: number[] }>;
  p_values: Record<string, Record<string, number>>;
}

/** A running A/B (or A/B/n) experiment over engine settings; see `engine.experiment()`. */
export class Experiment {
  readonly name: string;
  readonly #options: ResolvedExperiment;
  readonly #arms = new Map<string, Arm>();
  /** Running minimum of each treatment arm's p-value per metric: the always-valid p-value. */
  readonly #pValues = new Map<string, Map<ExperimentMetric, number>>();
  readonly #onStop: (experiment: Experiment) => void;
  #stopped = false;

  /** @internal built by `engine.experiment()` */
  constructor(options: ResolvedExperiment, onStop: (experiment: Experiment) => void) {
    this.name = options.name;
    this.#options = options;
    this.#onStop = onStop;
    for (const v of options.variants.keys()) {
      this.#arms.set(v, new Arm());
      if (v !== options.control) this.#pValues.set(v, new Map());
    }
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** @internal */
  get options(): ResolvedExperiment {
    return this.#options;
  }

  /** Stops assigning calls; `results()` stays readable (and is saved no more). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onStop(this);
  }

  /** @internal The arm of a unit (scope or key text), or undefined when it falls outside the experiment's slice. */
  assign(unit: string): { variant: string; settings: Readonly<VariantSettings> } | undefined {
    const u = unitHash(this.name, unit);
    const { share, cumulative, variants } = this.#options;
    if (u >= share) return undefined;
    const x = u / share;
    let i = 0;
    while (i < cumulative.length - 1 && x >= (cumulative[i] as number)) i++;
    const variant = [...variants.keys()][i] as string;
    return { variant, settings: variants.get(variant) as Readonly<VariantSettings> };
  }

  /** @internal */
  record(variant: string, o: ArmObservation): void {
    const arm = this.#arms.get(variant);
    if (arm === undefined) return;
    addValue(arm.metrics.hitRate, o.outcome === 'hit' ? 1 : 0);
    addValue(arm.metrics.errorRate, o.outcome === 'error' ? 1 : 0);
    arm.addLatency(Math.max(0, o.durationMs));
    if (o.escalated !== undefined) addValue(arm.metrics.escalationRate, o.escalated ? 1 : 0);
    if (o.tokens !== undefined) addValue(arm.metrics.tokens, o.tokens);
  }

  /** @internal */
  feedback(variant: string, score: number): boolean {
    const arm = this.#arms.get(variant);
    if (arm === undefined) return false;
    addValue(arm.metrics.feedback, score);
    return true;
  }

  /** Per arm figures and, per treatment arm, each metric against the control with always-valid p-values and intervals. */
  results(): ExperimentResults {
    const { control, alpha, effectSize, metrics, by } = this.#options;
    const variants: Record<string, VariantResults> = {};
    let calls = 0;
    for (const [v, arm] of this.#arms) {
      variants[v] = armResults(arm);
      calls += arm.metrics.hitRate.n;
    }
    const comparisons: ExperimentResults['comparisons'] = {};
    const base = this.#arms.get(control) as Arm;
    for (const [v, pValues] of this.#pValues) {
      const arm = this.#arms.get(v) as Arm;
      const out: Partial<Record<ExperimentMetric, Comparison>> = {};
      for (const m of metrics) {
        const c = compare(base.metrics[m], arm.metrics[m], pValues.get(m) ?? 1, alpha, effectSize);
        pValues.set(m, c.p_value);
        out[m] = c;
      }
      comparisons[v] = out;
    }
    return { name: this.name, by, control, alpha, status: this.#stopped ? 'stopped' : 'running', calls, variants, comparisons };
  }

  /** @internal */
  export(): SavedExperiment {
    this.results(); // a look: brings the running p-values up to date before they are saved
    const arms: SavedExperiment['arms'] = {};
    for (const [v, arm] of this.#arms) arms[v] = { metrics: { ...arm.metrics }, latencies: [...arm.latencies] };
    const pValues: SavedExperiment['p_values'] = {};
    for (const [v, ps] of this.#pValues) pValues[v] = Object.fromEntries(ps);
    return { name: this.name, fingerprint: this.#options.fingerprint, arms, p_values: pValues };
  }

  /** @internal Adds a saved state (same name and configuration): as if its calls had been seen here. */
  restore(saved: SavedExperiment): void {
    for (const [v, s] of Object.entries(saved.arms)) {
      const arm = this.#arms.get(v);
      if (arm === undefined) continue;
      for (const m of Object.keys(arm.metrics) as ExperimentMetric[]) {
        const moments = s.metrics[m];
        if (moments !== undefined) mergeMoments(arm.metrics[m], moments);
      }
      for (const ms of s.latencies.slice(-LATENCY_SAMPLES)) {
        if (arm.latencies.length < LATENCY_SAMPLES) arm.latencies.push(ms);
      }
    }
    for (const [v, ps] of Object.entries(saved.p_values)) {
      const mine = this.#pValues.get(v);
      if (mine === undefined) continue;
      for (const [m, p] of Object.entries(ps)) mine.set(m as ExperimentMetric, Math.min(mine.get(m as ExperimentMetric) ?? 1, p));
    }
  }
}

function armResults(arm: Arm): VariantResults {
  const m = arm.metrics;
  const mean = (x: Moments, digits = 4): number | null => (x.n === 0 ? null : round(x.mean, digits));
  const sorted = [...arm.latencies].sort((a, b) => a - b);
  return {
    calls: m.hitRate.n,
    hit_rate: mean(m.hitRate), error_rate: mean(m.errorRate),
    latency_ms_mean: mean(m.latency, 2),
    latency_ms_p50: sorted.length === 0 ? null : round(quantileOfSorted(sorted, 0.5), 2),
    latency_ms_p95: sorted.length === 0 ? null : round(quantileOfSorted(sorted, 0.95), 2),
    escalation_rate: mean(m.escalationRate), tokens_per_call: mean(m.tokens, 2),
    feedback_mean: mean(m.feedback), feedback_count: m.feedback.n,
  };
}

/** FNV-1a over the experiment's name and the unit, in [0, 1): stable across processes and versions. */
export function unitHash(name: string, unit: string): number {
  let h = 0x811c9dc5;
  const text = `${name}\u0000${unit.length > UNIT_CHARS ? `${unit.slice(0, UNIT_CHARS)}\u0000${unit.length}` : unit}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche (murmur3's), so that units differing in their last characters spread evenly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
