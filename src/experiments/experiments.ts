import { describe } from '../internal/validate.js';
import type { CallStatus } from '../types.js';
import { Experiment, type ArmObservation, type ExperimentResults, type SavedExperiment } from './experiment.js';
import { resolveExperiment, type ExperimentOptions, type VariantSettings } from './experiment-options.js';
import type { Moments } from './sequential-test.js';

/** Keys remembered for `feedback(key)`: the most recent ones. */
const MAX_KEYS = 10_000;
/** Saved experiments kept while waiting for `engine.experiment()` to name them again. */
const MAX_PENDING = 20;

/** One call's place in an experiment. */
export interface Assignment {
  readonly experiment: Experiment;
  readonly variant: string;
  readonly settings: Readonly<VariantSettings>;
}

/** The engine's running experiments: assignment of calls, their records, feedback, persistence. */
export class Experiments {
  #running: Experiment[] = [];
  readonly #pending = new Map<string, SavedExperiment>();
  readonly #keys = new Map<string, Assignment>();
  readonly #emitAssign: (experiment: string, variant: string, scope: string) => void;

  constructor(emitAssign: (experiment: string, variant: string, scope: string) => void) {
    this.#emitAssign = emitAssign;
  }

  get size(): number {
    return this.#running.length;
  }

  start(options: ExperimentOptions): Experiment {
    const resolved = resolveExperiment(options);
    if (this.#running.some((e) => e.name === resolved.name)) {
      throw new TypeError(`\`experiment.name\` ${describe(resolved.name)} is already running; stop it first`);
    }
    const experiment = new Experiment(resolved, (e) => (this.#running = this.#running.filter((r) => r !== e)));
    const saved = this.#pending.get(resolved.name);
    if (saved !== undefined && saved.fingerprint === resolved.fingerprint) experiment.restore(saved);
    this.#pending.delete(resolved.name);
    this.#running.push(experiment);
    return experiment;
  }

  /** The arm of a call: the first running experiment that takes it (one experiment per call, so overrides never mix). */
  assign(model: string, scope: string, keyText: () => string): Assignment | undefined {
    for (const experiment of this.#running) {
      const { models, by } = experiment.options;
      if (models !== undefined && !models.has(model)) continue;
      const arm = experiment.assign(by === 'scope' ? scope : keyText());
      if (arm === undefined) continue;
      this.#emitAssign(experiment.name, arm.variant, scope);
      return { experiment, ...arm };
    }
    return undefined;
  }

  record(assignment: Assignment, observation: ArmObservation, key: string | undefined): void {
    assignment.experiment.record(assignment.variant, observation);
    if (key === undefined) return;
    this.#keys.delete(key);
    this.#keys.set(key, assignment);
    if (this.#keys.size > MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value as string);
  }

  /** Attributes a quality score to the arm that served `keyOrStatus`; false when it was in no experiment (or is no longer remembered). */
  feedback(keyOrStatus: string | CallStatus, score: number): boolean {
    if (typeof score !== 'number' || !Number.isFinite(score)) throw new TypeError(`\`score\` must be a finite number, received ${describe(score)}`);
    let assignment: Assignment | undefined;
    if (typeof keyOrStatus === 'string') {
      assignment = this.#keys.get(keyOrStatus);
    } else if (typeof keyOrStatus === 'object' && keyOrStatus !== null) {
      const named = keyOrStatus.experiment;
      const experiment = named === undefined ? undefined : this.#running.find((e) => e.name === named.name);
      if (experiment !== undefined && named !== undefined) return experiment.feedback(named.variant, score);
      if (typeof keyOrStatus.key === 'string') assignment = this.#keys.get(keyOrStatus.key);
    } else {
      throw new TypeError(`\`keyOrStatus\` must be a cache key or a call's status object, received ${describe(keyOrStatus)}`);
    }
    if (assignment === undefined || assignment.experiment.stopped) return false;
    return assignment.experiment.feedback(assignment.variant, score);
  }

  report(): Record<string, ExperimentResults> {
    return Object.fromEntries(this.#running.map((e) => [e.name, e.results()]));
  }

  export(): SavedExperiment[] {
    return [...this.#running.map((e) => e.export()), ...this.#pending.values()];
  }

  /** Restores saved experiments: into a running one of the same name and configuration, or kept until it starts. */
  restore(data: unknown): string[] {
    if (!Array.isArray(data)) return [];
    const actions: string[] = [];
    for (const raw of data.slice(0, MAX_PENDING)) {
      const saved = validSaved(raw);
      if (saved === undefined) continue;
      const running = this.#running.find((e) => e.name === saved.name);
      if (running === undefined) {
        this.#pending.set(saved.name, saved);
        actions.push(`learn: kept the state of experiment ${JSON.stringify(saved.name)} until it starts`);
      } else if (running.options.fingerprint === saved.fingerprint) {
        running.restore(saved);
        actions.push(`learn: restored experiment ${JSON.stringify(saved.name)}`);
      } else {
        actions.push(`learn: dropped the state of experiment ${JSON.stringify(saved.name)}: its variants or split changed`);
      }
    }
    return actions;
  }

  /** Stops assigning; used when the engine closes. */
  stopAll(): void {
    for (const e of [...this.#running]) e.stop();
  }

  /** Experiments that ran before a restart, saved, and not yet started again. */
  get pendingNames(): string[] {
    return [...this.#pending.keys()];
  }
}

function isMoments(value: unknown): value is Moments {
  const m = value as Partial<Moments> | null;
  return typeof m === 'object' && m !== null && Number.isInteger(m.n) && (m.n as number) >= 0
    && Number.isFinite(m.mean) && Number.isFinite(m.m2) && (m.m2 as number) >= 0;
}

/** A saved experiment read back from the state file: outside data, checked field by field. */
function validSaved(raw: unknown): SavedExperiment | undefined {
  const s = raw as Partial<SavedExperiment> | null;
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || typeof s.fingerprint !== 'string') return undefined;
  if (typeof s.arms !== 'object' || s.arms === null || typeof s.p_values !== 'object' || s.p_values === null) return undefined;
  const arms: SavedExperiment['arms'] = {};
  for (const [v, arm] of Object.entries(s.arms)) {
    const a = arm as Partial<SavedExperiment['arms'][string]> | null;
    if (typeof a !== 'object' || a === null || typeof a.metrics !== 'object' || a.metrics === null || !Array.isArray(a.latencies)) return undefined;
    const metrics: Record<string, Moments> = {};
    for (const [m, moments] of Object.entries(a.metrics)) {
      if (!isMoments(moments)) return undefined;
      metrics[m] = { n: moments.n, mean: moments.mean, m2: moments.m2 };
    }
    arms[v] = { metrics, latencies: a.latencies.filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0) };
  }
  const pValues: SavedExperiment['p_values'] = {};
  for (const [v, ps] of Object.entries(s.p_values)) {
    if (typeof ps !== 'object' || ps === null) return undefined;
    pValues[v] = {};
    for (const [m, p] of Object.entries(ps as Record<string, unknown>)) {
      if (typeof p === 'number' && p >= 0 && p <= 1) (pValues[v])[m] = p;
    }
  }
  return { name: s.name, fingerprint: s.fingerprint, arms, p_values: pValues };
}
