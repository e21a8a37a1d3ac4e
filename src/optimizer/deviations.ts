import type { OptimizationType, ResolvedOptimizerOptions } from './optimizer-options.js';
import { CALM, isEmptyWindow, type Knob, type Observation, type Settings } from './rules.js';

/** A setting the optimizer moved away from the value it had before (the user's). */
export interface Deviation {
  readonly configured: Settings;
  /** What the optimizer last set: anything else means someone else changed the setting, who then owns it. */
  current: Settings;
  readonly causes: Set<OptimizationType>;
  /** Calm evaluations in a row. */
  calm: number;
}

/**
 * The settings the optimizer changed, each with its value before the first change and the rules
 * that changed it: what `calmEvaluations` calm windows in a row put back (ADR 0022).
 */
export class Deviations {
  readonly #byKnob = new Map<Knob, Deviation>();

  /** The optimizer set `knob` from `before` to `after` because of `causes`; the first change remembers `before`. */
  changed(knob: Knob, before: Settings, after: Settings, causes: readonly OptimizationType[]): void {
    if (knob === 'none') return;
    const deviation = this.#byKnob.get(knob) ?? { configured: before, current: after, causes: new Set(), calm: 0 };
    deviation.current = after;
    for (const cause of causes) deviation.causes.add(cause);
    deviation.calm = 0;
    if (sameSettings(after, deviation.configured)) this.#byKnob.delete(knob);
    else this.#byKnob.set(knob, deviation);
  }

  /** The optimizer put `knob` back to `now` (a revert): forgotten once that is the configured value. */
  reverted(knob: Knob, now: Settings): void {
    const deviation = this.#byKnob.get(knob);
    if (deviation === undefined) return;
    deviation.current = now;
    if (sameSettings(now, deviation.configured)) this.#byKnob.delete(knob);
  }

  /**
   * Counts one evaluation window for every changed setting and returns (and forgets) those whose
   * causes have all been calm for `calmEvaluations` windows in a row. A setting someone else
   * changed since (`current` says so) is theirs: forgotten, never put back. An empty window counts
   * neither way.
   */
  due(obs: Observation, o: ResolvedOptimizerOptions, current: (knob: Knob) => Settings): Array<[Knob, Deviation]> {
    const due: Array<[Knob, Deviation]> = [];
    for (const [knob, deviation] of this.#byKnob) {
      if (!sameSettings(current(knob), deviation.current)) {
        this.#byKnob.delete(knob);
        continue;
      }
      if (isEmptyWindow(obs)) continue;
      const calm = [...deviation.causes].every((type) => CALM[type](obs, o, deviation.configured));
      deviation.calm = calm ? deviation.calm + 1 : 0;
      if (deviation.calm < o.calmEvaluations) continue;
      this.#byKnob.delete(knob);
      due.push([knob, deviation]);
    }
    return due;
  }
}

export function sameSettings(a: Settings, b: Settings): boolean {
  return (Object.keys(b) as (keyof Settings)[]).every((k) => a[k] === b[k]);
}

export function describeSettings(s: Settings): string {
  return Object.entries(s).map(([k, v]) => `${k} ${String(v)}`).join(', ');
}
