// `npm run bench`: builds, then prints every figure and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import { benchCoalescing, benchHitPath, benchMemory, benchMissOverhead } from './core.mjs';

const results = { node: process.version, date: new Date().toISOString() };
let failed = 0;
const section = async (name, run) => {
  process.stdout.write(`${name}… `);
  try {
    results[name] = await run();
  } catch (error) {
    // One section failing must not lose the others' figures: it is recorded, and the run exits non-zero.
    failed++;
    results[name] = { error: String(error?.stack ?? error) };
  }
  console.log(JSON.stringify(results[name]));
};

await section('hit_200_chars', () => benchHitPath(200));
await section('hit_2000_chars', () => benchHitPath(2000));
await section('hit_2000_chars_worst_case', () => benchHitPath(2000, true));
await section('miss_overhead', benchMissOverhead);
await section('coalescing_1000_concurrent', benchCoalescing);
await section('memory_100k_entries', () => benchMemory(100_000));
await section('in_process_store_choice', async () => (await import('./lru-choice.mjs')).benchLruChoice());
await section('stream_path_200_chunks', async () => (await import('./stream.mjs')).benchStreamPath());
await section('stream_50_shared_loopback', async () => (await import('./stream.mjs')).benchSharedStreams());
await section('ai_sdk_hit_200_chars', async () => (await import('./ai-sdk.mjs')).benchAiSdkHit());
await section('ai_sdk_generate_text', async () => (await import('./ai-sdk.mjs')).benchAiSdkGenerateText());
await section('healing_miss_overhead', async () => (await import('./healing.mjs')).benchHealing());
await section('redis_l2_hit', async () => (await import('./redis.mjs')).benchRedis());
await section('redis_outage', async () => (await import('./redis-outage.mjs')).benchRedisOutage());
await section('anomaly_detector', async () => (await import('./anomaly.mjs')).benchAnomaly());
await section('monitor', async () => (await import('./monitor.mjs')).benchMonitor());
await section('observability_hit_path', async () => (await import('./observability.mjs')).benchObservability());
await section('routing_cost_per_miss', async () => (await import('./routing.mjs')).benchRoutingCost());
await section('routing_cascade_calibrated', async () => (await import('./routing.mjs')).benchCascade());
await section('experiments_sequential_test', async () => (await import('./routing.mjs')).benchExperiments());
await section('routing_real_ollama', async () => (await import('./routing.mjs')).benchRealTiers());
await section('anomaly_cross_validation', async () => (await import('./nab-cv.mjs')).benchNabCvFromEnv());
await section('forecast_mase', async () => (await import('./forecast.mjs')).benchForecast());
await section('warm_up_simulated_week', async () => (await import('./warm-up.mjs')).benchWarmUp());
await section('langchain_hit_path_200_chars', async () => (await import('./langchain.mjs')).benchLangChainHits());
await section('langchain_miss_overhead', async () => (await import('./langchain.mjs')).benchLangChainMisses());
await section('adapters_hit_200_chars', async () => (await import('./adapters-hit.mjs')).benchAdapterHits());
await section('adapters_first_hit_after_miss', async () => (await import('./adapters-hit.mjs')).benchFirstHit());
await section('openai_hit_200_chars', async () => (await import('./openai.mjs')).benchOpenAiHits());
await section('openai_miss_overhead', async () => (await import('./openai.mjs')).benchOpenAiMiss());
await section('cache_policy_hit_ratios', async () => (await import('./policy-sim.mjs')).simulate());
await section('cache_policy_recency_warmup', async () => (await import('./policy-sim.mjs')).recencyWarmup());
await section('cache_policy_memory_100k_entries', async () => (await import('./policy-sim.mjs')).policyMemory());
await section('cache_policy_hit_200_chars_lru', () => benchHitPath(200, false, { cache: { policy: 'lru' } }));
await section('hit_200_chars_freshness_on', async () => (await import('./freshness.mjs')).benchFreshnessHitPath());

writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log('\nwritten to bench/results.json');
if (failed > 0) {
  console.error(`${failed} section(s) failed`);
  process.exitCode = 1;
}
