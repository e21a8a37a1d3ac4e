import { Cooldown } from './cooldown.js';
import { SurpriseChannel } from './surprise-channel.js';
import type { ChannelSettings } from './surprise-channel.js';
import type { PointDetector } from './types.js';

export interface RareShiftSettings extends ChannelSettings {
  readonly threshold: number;
  readonly cooldownPoints: number;
  readonly shiftWindowPoints: number;
  readonly levelWindowPoints: number;
}

/** Exponential moving average with smoothing `1 / min(n, window)`: a plain mean at first, no start-up bias. */
class MovingAverage {
  readonly #window: number;
  #value = Number.NaN;
  #count = 0;

  constructor(window: number) {
    this.#window = window;
  }

  get value(): number {
    return this.#value;
  }

  add(x: number): void {
    this.#count++;
    this.#value = this.#count === 1 ? x : this.#value + (x - this.#value) / Math.min(this.#count, this.#window);
  }

  reset(): void {
    this.#value = Number.NaN;
    this.#count = 0;
  }
}

/**
 * The default detector: two diverse views of the series, each calibrated on the series itself
 * ({@link SurpriseChannel}), and an alert when either view sees something both large (over
 * `threshold` of its own typical size) and rare (rarer than `rarity` in its recent history).
 *
 * - *change*: the one-step change `x − previous`. Spikes and abrupt level shifts are one huge
 *   step; daily cycles and slow drifts are many small ones.
 * - *shift*: the mean of the last few points (`shiftWindowPoints`) against the level before this
 *   point (a moving average over `levelWindowPoints`). Averaging cancels the noise, so a shift
 *   buried in noise too heavy for any single step to stand out still shows, within a few points.
 *
 * After an alert the detector keeps quiet for `cooldownPoints`: one event, one alert.
 */
export function createRareShiftRule(settings: RareShiftSettings): PointDetector {
  const change = new SurpriseChannel(settings, true);
  const shift = new SurpriseChannel(settings, true);
  const recent = new MovingAverage(settings.shiftWindowPoints);
  const level = new MovingAverage(settings.levelWindowPoints);
  const cooldown = new Cooldown(settings.cooldownPoints);
  let previous = Number.NaN;
  let seen = 0;

  const loud = (surprise: number, tail: number): boolean => surprise > settings.threshold && tail < settings.rarity;

  return {
    observe(x) {
      seen++;
      recent.add(x);
      const stepResidual = x - previous;
      const shiftResidual = recent.value - level.value; // NaN on the first point: nothing to compare with
      const stepSurprise = change.surprise(stepResidual, previous);
      const shiftSurprise = shift.surprise(shiftResidual, level.value);
      const stepTail = change.tail(stepSurprise);
      const shiftTail = shift.tail(shiftSurprise);
      change.learn(stepSurprise, stepResidual);
      shift.learn(shiftSurprise, shiftResidual);
      previous = x;
      level.add(x);
      const tail = Math.min(stepSurprise > 0 ? stepTail : 1, shiftSurprise > 0 ? shiftTail : 1);
      const score = Math.max(0, 1 - tail); // rounding can give −2e-16
      const candidate = seen > settings.warmupPoints && (loud(stepSurprise, stepTail) || loud(shiftSurprise, shiftTail));
      return { isAnomaly: candidate && cooldown.fire(seen), score };
    },
    reset() {
      for (const part of [change, shift, recent, level, cooldown]) part.reset();
      previous = Number.NaN;
      seen = 0;
    },
  };
}
