// Monitor benchmarks on the BUILT package (`npx tsup` first; `npm run bench` builds):
//   - ns per `monitor.recordCall()` (hit samples, and miss samples with token usage);
//   - µs per detectAnomalies / getTrends / getRecommendations / getOptimizationReport with full 1000-sample histories.
// Standalone: `node bench/monitor.mjs`. bench/run.mjs imports benchMonitor().
import { OptimizationEngine, PerformanceMonitor } from '../dist/index.js';

const N = 1_000_000;
const ROUNDS = 7;

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function nsPer(n, fn) {
  const start = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - start) / n;
}

/**
 * ns per recordCall with a freshly built sample per call (as the engine's #end builds one), against
 * the same loop calling a target that only reads the sample: the difference is the monitor's share.
 */
function recordCallNs() {
  const monitor = new PerformanceMonitor({ sampleIntervalMs: false });
  const baseline = { recordCall: (s) => s.durationMs };
  const hitOutcomes = ['hit', 'hit', 'hit', 'coalesced'];
  const usage = { outputTokens: 120, generationMs: 800, loadMs: 3 };
  const hits = (target) => nsPer(N, (n) => {
    for (let i = 0; i < n; i++) target.recordCall({ model: 'm', scope: '', outcome: hitOutcomes[i & 3], durationMs: 0.002, timestampMs: i * 0.0005, usage: undefined, inFlight: 0 });
  });
  const misses = (target) => nsPer(N, (n) => {
    for (let i = 0; i < n; i++) target.recordCall({ model: 'm', scope: '', outcome: 'miss', durationMs: 900, timestampMs: i * 0.0005, usage, inFlight: 2 });
  });
  const runs = { hit: [], hitBase: [], miss: [], missBase: [] };
  for (let r = 0; r < ROUNDS; r++) {
    runs.hit.push(hits(monitor));
    runs.hitBase.push(hits(baseline));
    runs.miss.push(misses(monitor));
    runs.missBase.push(misses(baseline));
  }
  monitor.close();
  const [hit, hitBase, miss, missBase] = [runs.hit, runs.hitBase, runs.miss, runs.missBase].map(median);
  return {
    record_call_hit_ns: round(hit), baseline_hit_ns: round(hitBase), monitor_share_hit_ns: round(hit - hitBase),
    record_call_miss_with_usage_ns: round(miss), baseline_miss_ns: round(missBase), monitor_share_miss_ns: round(miss - missBase),
  };
}

function analysisUs() {
  let t = 0;
  const clock = { now: () => t };
  const engine = new OptimizationEngine({ clock, monitor: { sampleIntervalMs: false } });
  for (let i = 0; i < 2000; i++) {
    t += 1000;
    engine.monitor.recordCall({ model: 'm', scope: '', outcome: i % 3 === 0 ? 'miss' : 'hit', durationMs: 800 + (i % 13), timestampMs: t, usage: { outputTokens: 100 + (i % 7), generationMs: 700 }, inFlight: i % 4 });
    engine.monitor.recordMetric({ responseTimeMs: 800 + (i % 11), memoryBytes: 1e8 + (i % 5) * 1e5, cpuPercent: 20 + (i % 9), timestampMs: t });
  }
  const us = (fn) => {
    const runs = [];
    for (let r = 0; r < 50; r++) {
      const start = process.hrtime.bigint();
      fn();
      runs.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    return round(median(runs));
  };
  const out = {
    detect_anomalies_us: us(() => engine.monitor.detectAnomalies()),
    get_trends_us: us(() => engine.monitor.getTrends()),
    get_recommendations_us: us(() => engine.monitor.getRecommendations()),
    optimization_report_us: us(() => engine.getOptimizationReport()),
    auto_optimize_us: us(() => engine.autoOptimize()),
  };
  void engine.close();
  return out;
}

export async function benchMonitor() {
  return { ...recordCallNs(), ...analysisUs() };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchMonitor(), null, 2));
