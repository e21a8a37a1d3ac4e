import { RollingMoments } from '../../internal/rolling-moments.js';
import type { PointDetector, PointVerdict } from './types.js';

export interface SeedRuleSettings {
  readonly historySize: number;
  readonly warmupPoints: number;
  readonly sigmas: number;
  /** Set for memory / CPU metrics: flag `x > ratio × mean` instead of the 3σ band. */
  readonly ratio: number | undefined;
}

/** Maps a distance `d` to [0, 1) so that `d === limit` scores 0.5. */
function squash(d: number, limit: number): number {
  if (!(d > 0)) return 0;
  return limit > 0 ? d / (d + limit) : 1;
}

/**
 * The original service's rules, kept exactly: the last `historySize` values (every value enters,
 * anomalous or not), judged only after `warmupPoints`, against the history *before* the value.
 * No debouncing: a long excursion is flagged on every point, which is why it alerts in bursts.
 */
export function createSeedRule(settings: SeedRuleSettings): PointDetector {
  let history = new RollingMoments(settings.historySize);
  const judge = (x: number): PointVerdict => {
    const mean = history.mean();
    if (settings.ratio !== undefined) {
      const limit = settings.ratio * mean;
      return { isAnomaly: x > limit, score: squash(x - mean, limit - mean) };
    }
    const limit = settings.sigmas * history.std();
    const d = Math.abs(x - mean);
    return { isAnomaly: d > limit, score: squash(d, limit) };
  };
  return {
    observe(x) {
      const verdict = history.count >= settings.warmupPoints && history.count > 0 ? judge(x) : undefined;
      history.push(x);
      return verdict ?? { isAnomaly: false, score: 0 };
    },
    reset() {
      history = new RollingMoments(settings.historySize);
    },
  };
}
