import { Cooldown } from './cooldown.js';
import { SurpriseChannel } from './surprise-channel.js';
import type { ChannelSettings } from './surprise-channel.js';
import type { PointDetector } from './types.js';

export interface RareChangeSettings extends ChannelSettings {
  readonly threshold: number;
  readonly cooldownPoints: number;
}

/**
 * The `'rare-change'` detector (the default until 0.x, ADR 0003). Each point's one-step change is
 * measured against the series' own typical change (a slow RMS), then gated twice: it must exceed
 * `threshold` typical changes AND be rarer than `rarity` among the recent surprises (heavy-tailed
 * series such as tweet counts, and regular daily jumps, stop alerting once they are the norm).
 * After an alert the detector stays quiet for `cooldownPoints`.
 */
export function createRareChangeRule(settings: RareChangeSettings): PointDetector {
  const change = new SurpriseChannel(settings);
  const cooldown = new Cooldown(settings.cooldownPoints);
  let previous = Number.NaN;
  let seen = 0;

  return {
    observe(x) {
      seen++;
      const residual = x - previous;
      const surprise = change.surprise(residual, previous);
      const tail = change.tail(surprise);
      change.learn(surprise, residual);
      previous = x;
      const score = surprise > 0 ? Math.max(0, 1 - tail) : 0; // rounding can give −2e-16
      const candidate = seen > settings.warmupPoints && surprise > settings.threshold && tail < settings.rarity;
      return { isAnomaly: candidate && cooldown.fire(seen), score };
    },
    reset() {
      change.reset();
      cooldown.reset();
      previous = Number.NaN;
      seen = 0;
    },
  };
}
