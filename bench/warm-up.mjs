// Predictive warm-up benchmark on the BUILT package (run `npx tsup` first): a simulated month of a
// service with idle gaps (nights, lunch, evenings, weekends; bench/forecast-data.mjs), run through the
// real engine on a manual clock, against a model that behaves like Ollama's scheduler: loaded until
// `keep_alive` (5 min) after its last request, a cold load for a request that finds it unloaded, and a
// warm-up (the engine's `warmUp.run` hook) that loads it with the keep_alive the engine chose.
// Weeks 1–3 teach the forecaster; week 4 is measured, once without warm-up and once with it.
// Standalone: `node bench/warm-up.mjs`. bench/run.mjs imports benchWarmUp().
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptimizationEngine } from '../dist/index.js';
import { createManualClock } from '../dist/testing.js';
import { DAY_MS, START_MS, poisson, serviceRatePerMinute, uniform, weeklyBursts } from './forecast-data.mjs';

const KEEP_ALIVE_MS = 300_000;
const CHECK_MS = 15_000;
const WEEKS = 4;

/** Call times (ms) of the simulated service, sorted. */
function callTimes(seed) {
  const u = uniform(seed);
  const bursts = weeklyBursts(WEEKS, seed + 1);
  const times = [];
  for (let t = START_MS; t < START_MS + WEEKS * 7 * DAY_MS; t += 60_000) {
    const n = poisson(u, serviceRatePerMinute(t, bursts));
    const inMinute = Array.from({ length: n }, () => t + Math.floor(u() * 60_000)).sort((a, b) => a - b);
    times.push(...inMinute);
  }
  return times;
}

async function simulate(times, warm, options = {}) {
  const clock = createManualClock(START_MS);
  let loadedUntil = Number.NEGATIVE_INFINITY;
  const measureFrom = START_MS + (WEEKS - 1) * 7 * DAY_MS;
  const measured = { calls: 0, cold: 0, warmUps: 0, warmUpsThatLoaded: 0 };
  const warmUp = warm ? {
    checkIntervalMs: false,
    serverKeepAliveMs: KEEP_ALIVE_MS,
    ...options,
    run: async (_model, { keepAliveMs }) => {
      const now = clock.now();
      if (now >= measureFrom) {
        measured.warmUps++;
        if (now >= loadedUntil) measured.warmUpsThatLoaded++;
      }
      loadedUntil = Math.max(loadedUntil, now + keepAliveMs);
    },
  } : undefined;
  const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false }, ...(warmUp ? { warmUp } : {}) });
  const exec = async () => {
    const now = clock.now();
    if (now >= measureFrom) {
      measured.calls++;
      if (now >= loadedUntil) measured.cold++;
    }
    loadedUntil = now + KEEP_ALIVE_MS;
    return 'answer';
  };
  let i = 0;
  for (let t = START_MS; t < START_MS + WEEKS * 7 * DAY_MS; t += CHECK_MS) {
    while (i < times.length && times[i] < t + CHECK_MS) {
      clock.set(Math.max(clock.now(), times[i]));
      await engine.optimizeAiCall(`call ${i}`, 'llama3.1:8b', exec);
      i++;
    }
    clock.set(t + CHECK_MS);
    engine.checkWarmUps();
    await Promise.resolve();
  }
  await engine.close();
  return measured;
}

export async function benchWarmUp(seed = 11, options = {}) {
  const times = callTimes(seed);
  const without = await simulate(times, false);
  const withWarmUp = await simulate(times, true, options);
  const avoided = without.cold - withWarmUp.cold;
  return {
    calls_measured_week: without.calls,
    cold_share_without_percent: (100 * without.cold) / without.calls,
    cold_share_with_percent: (100 * withWarmUp.cold) / withWarmUp.calls,
    cold_loads_without: without.cold,
    cold_loads_with: withWarmUp.cold,
    fewer_cold_loads_percent: (100 * avoided) / without.cold,
    warm_ups: withWarmUp.warmUps,
    warm_ups_per_avoided_cold_load: avoided > 0 ? withWarmUp.warmUps / avoided : null,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await benchWarmUp();
  console.log(`simulated week 4 of a service with idle gaps: ${r.calls_measured_week} calls`);
  console.log(`  cold loads paid by users: without warm-up ${r.cold_loads_without} (${r.cold_share_without_percent.toFixed(1)} %), with ${r.cold_loads_with} (${r.cold_share_with_percent.toFixed(1)} %): ${r.fewer_cold_loads_percent.toFixed(0)} % fewer`);
  console.log(`  warm-ups spent: ${r.warm_ups} (${r.warm_ups_per_avoided_cold_load?.toFixed(2)} per avoided cold load)`);
}
