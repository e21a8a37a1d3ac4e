import type { Experiment } from '../experiments/experiment.js';
import type { ExperimentOptions } from '../experiments/experiment-options.js';
import type { Proposal } from './rules.js';

/** Starts an experiment (the engine's `experiment()`). */
export type StartExperiment = (options: ExperimentOptions) => Experiment;

interface Trial {
  readonly proposal: Proposal;
  readonly experiment: Experiment;
}

/** What a trial's verdict was. */
export type TrialVerdict = { proposal: Proposal; adopt: boolean; evidence: Record<string, number | string> };

/**
 * Proposed TTL changes tried on a slice of the traffic before they are adopted (ADR 0063): an
 * experiment `optimizer:<type>` with the current settings as control and the proposal as the other
 * arm, assigned by request key. Adopted when the proposal's hit rate is higher with an always-valid
 * p-value below alpha; dropped when it is lower, or when `maxCalls` calls per arm brought no verdict.
 */
export class Trials {
  readonly #start: StartExperiment;
  readonly #share: number;
  readonly #maxCalls: number;
  readonly #running: Trial[] = [];

  constructor(start: StartExperiment, share: number, maxCalls: number) {
    this.#start = start;
    this.#share = share;
    this.#maxCalls = maxCalls;
  }

  /** Whether a proposal on this knob runs as a trial (only TTL changes: the one setting an arm can hold per call). */
  accepts(proposal: Proposal): boolean {
    return proposal.knob === 'ttl' && typeof proposal.after['ttl_ms'] === 'number';
  }

  busy(knob: string): boolean {
    return this.#running.some((t) => t.proposal.knob === knob);
  }

  start(proposal: Proposal): string {
    const experiment = this.#start({
      name: `optimizer:${proposal.type}`,
      variants: { current: {}, proposed: { ttlMs: proposal.after['ttl_ms'] as number } },
      by: 'key', share: this.#share, metrics: ['hitRate'],
    });
    this.#running.push({ proposal, experiment });
    return `start a trial on ${Math.round(this.#share * 100)} % of requests: ${proposal.action}`;
  }

  /** Trials that reached a verdict (each stopped). */
  judge(): TrialVerdict[] {
    const verdicts: TrialVerdict[] = [];
    for (let i = this.#running.length - 1; i >= 0; i--) {
      const { proposal, experiment } = this.#running[i] as Trial;
      const results = experiment.results();
      const hit = results.comparisons['proposed']?.hitRate;
      const calls = Math.min(results.variants['current']?.calls ?? 0, results.variants['proposed']?.calls ?? 0);
      if (hit === undefined || (!hit.significant && calls < this.#maxCalls)) continue;
      experiment.stop();
      this.#running.splice(i, 1);
      verdicts.push({
        proposal, adopt: hit.significant && hit.difference > 0,
        evidence: { trial_calls_per_arm: calls, hit_rate_difference: round(hit.difference), p_value: round(hit.p_value) },
      });
    }
    return verdicts;
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
