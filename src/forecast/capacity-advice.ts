import type { Recommendation } from '../monitor/types.js';
import type { CapacityForecast } from './warm-up.js';

/** A model is "active" in a bucket when at least one call there is at least this likely. */
const ACTIVE_PROBABILITY = 0.5;
/** Parallel slots are sized so that at the forecast peak, calls find a free slot this often. */
const SERVED_WITHOUT_QUEUE = 0.95;
/** Ollama's usual `OLLAMA_NUM_PARALLEL` (4, or 1 on small memory): one replica's share of slots. */
const SLOTS_PER_REPLICA = 4;

/** Smallest c with P(N ≤ c) ≥ q for N ~ Poisson(mean): calls in service at once at the peak. */
function poissonQuantile(mean: number, q: number): number {
  // exp(-mean) underflows past ~745: use the normal approximation there (it is close by then).
  if (mean > 100) return Math.ceil(mean + normalQuantile(q) * Math.sqrt(mean));
  let c = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  while (cdf < q && c < 10_000) {
    c++;
    p *= mean / c;
    cdf += p;
  }
  return c;
}

/** Quantile of the standard normal for the few levels used here (Acklam's rational approximation is overkill). */
function normalQuantile(q: number): number {
  return q >= 0.99 ? 2.326 : q >= 0.975 ? 1.96 : q >= 0.95 ? 1.645 : q >= 0.9 ? 1.2816 : 0;
}

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/**
 * Turns the forecast of the next 24 hours into settings, with the numbers behind them: by Little's
 * law, calls in service at once = arrival rate × mean service time; `OLLAMA_NUM_PARALLEL` covers
 * that at the forecast peak 95 % of the time (Poisson arrivals); `OLLAMA_MAX_LOADED_MODELS` is the
 * most models forecast active in the same bucket; `keep_alive` covers the forecast busy hours;
 * replicas behind the shared store when one server's slots would not do.
 */
export function capacityAdvice(forecast: CapacityForecast | undefined, meanServiceMs: number): Recommendation[] {
  if (forecast === undefined) return [];
  const names = Object.keys(forecast.models);
  if (names.length === 0 || !(meanServiceMs > 0)) return [];
  const minutes = forecast.bucketMs / 60_000;
  const out: Recommendation[] = [];
  let mostActive = 0;
  let mostActiveAt = forecast.firstBucketMs;
  const buckets = forecast.models[names[0] ?? '']?.length ?? 0;
  for (let i = 0; i < buckets; i++) {
    const active = names.filter((n) => 1 - Math.exp(-(forecast.models[n]?.[i] ?? 0)) >= ACTIVE_PROBABILITY).length;
    if (active > mostActive) [mostActive, mostActiveAt] = [active, forecast.firstBucketMs + i * forecast.bucketMs];
  }
  for (const model of names) {
    const ahead = forecast.models[model] ?? [];
    const peak = Math.max(0, ...ahead);
    const peakAt = forecast.firstBucketMs + ahead.indexOf(peak) * forecast.bucketMs;
    const inService = (peak / (forecast.bucketMs / 1000)) * (meanServiceMs / 1000);
    const slots = Math.max(1, poissonQuantile(inService, SERVED_WITHOUT_QUEUE));
    const busy = ahead.map((y, i) => [y, i] as const).filter(([y]) => 1 - Math.exp(-y) >= ACTIVE_PROBABILITY);
    const replicas = Math.ceil(slots / SLOTS_PER_REPLICA);
    const first = busy[0];
    const last = busy.at(-1);
    const hours = first === undefined || last === undefined ? 'none forecast'
      : `${hhmm(forecast.firstBucketMs + first[1] * forecast.bucketMs)}–${hhmm(forecast.firstBucketMs + (last[1] + 1) * forecast.bucketMs)} UTC`;
    out.push({
      type: 'capacity_plan', priority: replicas > 1 ? 'medium' : 'low',
      evidence: {
        model, peak_calls_per_minute: round(peak / minutes), peak_at: new Date(peakAt).toISOString(), mean_service_ms: round(meanServiceMs),
        peak_calls_in_service: round(inService), ollama_num_parallel: slots, ollama_max_loaded_models: Math.max(1, mostActive),
        busy_hours: hours, replicas,
      },
      message: `${model}: the forecast peak is ${round(peak / minutes)} calls/min around ${hhmm(peakAt)} UTC; at ${round(meanServiceMs)} ms a call that is ${round(inService)} calls in service at once`,
      action: `Set OLLAMA_NUM_PARALLEL=${slots} (no queueing 95 % of the peak), OLLAMA_MAX_LOADED_MODELS=${Math.max(1, mostActive)} `
        + `(${mostActive} model(s) forecast busy at once, around ${hhmm(mostActiveAt)} UTC), keep_alive of at least ${Math.ceil(forecast.keepAliveMs / 60_000)}m during ${hours}`
        + (replicas > 1 ? `, and ${replicas} replicas behind the shared Redis store (${SLOTS_PER_REPLICA} slots each)` : '; one replica is enough'),
    });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
