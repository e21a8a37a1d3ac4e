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
await section('healing_miss_overhead', async () => (await import('./healing.mjs')).benchHealing());
await section('redis_l2_hit', async () => (await import('./redis.mjs')).benchRedis());
await section('redis_outage', async () => (await import('./redis-outage.mjs')).benchRedisOutage());
await section('anomaly_detector', async () => (await import('./anomaly.mjs')).benchAnomaly());
await section('monitor', async () => (await import('./monitor.mjs')).benchMonitor());
await section('hit_200_chars_freshness_on', async () => (await import('./freshness.mjs')).benchFreshnessHitPath());

writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log('\nwritten to bench/results.json');
if (failed > 0) {
  console.error(`${failed} section(s) failed`);
  process.exitCode = 1;
}
