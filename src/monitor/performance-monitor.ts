import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { CallOutcome, TokenUsage } from '../types.js';

/** One call as the engine records it. */
export interface CallSample {
  model: string;
  scope: string;
  outcome: CallOutcome;
  durationMs: number;
  timestampMs: number;
  usage?: TokenUsage | undefined;
}

/** Options of {@link PerformanceMonitor}. */
export interface PerformanceMonitorOptions {
  /** Samples kept per metric. @default 1000 */
  historySize?: number;
  /** Source of time in ms. @default a monotonic `Date.now()` */
  clock?: Clock;
}

/** Counts of calls by outcome. */
export type OutcomeCounts = Record<CallOutcome, number>;

/**
 * Records every call of the engine (duration, outcome, model, tokens). Minimal for now: counts and
 * a bounded history of durations.
 */
export class PerformanceMonitor {
  readonly #clock: Clock;
  readonly #historySize: number;
  readonly #durations: number[] = [];
  readonly #outcomes: OutcomeCounts = { hit: 0, miss: 0, coalesced: 0, bypass: 0, error: 0 };

  constructor(options: PerformanceMonitorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#historySize = options.historySize ?? 1000;
  }

  recordCall(sample: CallSample): void {
    this.#outcomes[sample.outcome]++;
    this.#durations.push(sample.durationMs);
    if (this.#durations.length > this.#historySize) this.#durations.shift();
  }

  get outcomes(): Readonly<OutcomeCounts> {
    return this.#outcomes;
  }

  get now(): number {
    return this.#clock.now();
  }

  close(): void {}
}
