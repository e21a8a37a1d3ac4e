// Hit path with the freshness machinery on: refresh-ahead reads one number and, far from expiry,
// compares one distance per hit; grace costs nothing on a fresh hit. Same baselines, same run.
import { benchHitPath } from './core.mjs';

export async function benchFreshnessHitPath() {
  const on = await benchHitPath(200, false, { freshness: { graceMs: 60_000, refreshAhead: true, softTimeoutMs: 1000 } });
  return { ...on, freshness: 'graceMs 60 s, refreshAhead, softTimeoutMs 1 s' };
}
