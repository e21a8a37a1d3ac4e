import { describe, knownKeys, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { ResolvedWarmUpOptions, WarmUpOptions } from './warm-up.js';

const KEYS = ['run', 'serverKeepAliveMs', 'leadMs', 'bucketMs', 'keepAliveMs', 'maxPerDay', 'minProbability', 'checkIntervalMs'] as const;

/** Validates `warmUp` once (errors name `warmUp.<option>`); `undefined`: no warm-up. */
export function resolveWarmUpOptions(value: unknown): ResolvedWarmUpOptions | undefined {
  if (value === undefined) return undefined;
  const o = plainObject('warmUp', value);
  knownKeys('warmUp', o, KEYS);
  const options = (o ?? {}) as unknown as WarmUpOptions;
  if (typeof options.run !== 'function') throw new TypeError(`\`warmUp.run\` must be a function (model, { keepAliveMs, signal }) => Promise, received ${describe(options.run)}`);
  const bucketMs = positiveInteger('warmUp.bucketMs', options.bucketMs, 300_000);
  if (86_400_000 % bucketMs !== 0) throw new RangeError(`\`warmUp.bucketMs\` must divide a day (86 400 000 ms), received ${bucketMs}`);
  const leadMs = positiveNumber('warmUp.leadMs', options.leadMs, 60_000);
  const minProbability = positiveNumber('warmUp.minProbability', options.minProbability, 0.5);
  if (minProbability > 1) throw new RangeError(`\`warmUp.minProbability\` must be in (0, 1], received ${minProbability}`);
  const check = options.checkIntervalMs;
  return Object.freeze({
    run: options.run,
    serverKeepAliveMs: positiveNumber('warmUp.serverKeepAliveMs', options.serverKeepAliveMs, 300_000),
    leadMs,
    bucketMs,
    keepAliveMs: positiveNumber('warmUp.keepAliveMs', options.keepAliveMs, bucketMs + leadMs),
    maxPerDay: positiveInteger('warmUp.maxPerDay', options.maxPerDay, 96),
    minProbability,
    checkIntervalMs: check === false ? false : timerDelay('warmUp.checkIntervalMs', positiveNumber('warmUp.checkIntervalMs', check, 15_000)),
  });
}

/** A delay `setInterval` can keep: past 2^31 - 1 ms Node sets it to 1 ms (a check every millisecond). */
function timerDelay(name: string, ms: number): number {
  if (ms > 2_147_483_647) throw new RangeError(`\`${name}\` must be at most 2147483647 ms (about 24.8 days), received ${ms}`);
  return ms;
}
