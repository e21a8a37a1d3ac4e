// The cache policies replayed over traces, side by side with Belady's offline optimum: hit ratios
// in percent for several cache sizes, through the real ResponseCache (`policy` option) built in dist/.
// `node bench/policy-sim.mjs` prints the table; bench/run.mjs records it in results.json.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ResponseCache } from '../dist/index.js';
import { beladyHits } from './belady.mjs';
import { P3_SAMPLE_RATE } from './traces/sampling.mjs';
import { llmTrace, loopTrace, recencyTrace, scanTrace, zipfTrace } from './traces/synthetic.mjs';

export const POLICIES = ['w-tinylfu', 's3-fifo', 'sieve', 'lru'];

/** Keys of a stored trace (one difference from the previous key a line, gzip). */
function stored(name) {
  const text = gunzipSync(readFileSync(new URL(`./traces/${name}`, import.meta.url))).toString('latin1');
  const keys = new Int32Array(text.length >> 1);
  let n = 0;
  let key = 0;
  let at = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; at = nl + 1, nl = text.indexOf('\n', at)) keys[n++] = key += Number(text.slice(at, nl));
  return keys.subarray(0, n);
}

/**
 * The traces and the cache sizes (entries) each is replayed with. P3 is stored spatially sampled
 * (1 key in 8), so its sizes are 1/8 of the full trace's 8 192, 32 768 and 131 072.
 */
export function traces() {
  const zipfSizes = [100, 1_000, 10_000]; // 0.1 %, 1 %, 10 % of the 100 000 keys
  return [
    { name: 'OLTP (ARC)', trace: () => stored('oltp.keys.gz'), sizes: [1_000, 2_000, 5_000] },
    { name: 'P3 (ARC, 1/8 sample)', trace: () => stored('p3-sampled.keys.gz'), sizes: [8_192, 32_768, 131_072].map((s) => s * P3_SAMPLE_RATE) },
    ...[0.6, 0.8, 0.99, 1.2].map((alpha) => ({ name: `Zipf ${alpha}`, trace: () => zipfTrace({ alpha }), sizes: zipfSizes })),
    { name: 'Zipf 0.99 + 30 % one-hit wonders', trace: () => zipfTrace({ alpha: 0.99, oneHitWonders: 0.3, seed: 5 }), sizes: zipfSizes },
    { name: 'Zipf 0.8 + scans', trace: () => scanTrace({}), sizes: zipfSizes },
    { name: 'Zipf 0.9 + loop of 6 000', trace: () => loopTrace({}), sizes: [1_000, 5_000, 10_000] },
    { name: 'Recency: each key twice, soon', trace: () => recencyTrace({}), sizes: [500, 2_000, 4_000] },
    { name: 'LLM service, one week', trace: () => llmTrace({}), sizes: [500, 2_000, 10_000] },
  ];
}

/** Hits of `policy` over `trace` with `size` entries: a get, and on a miss a set, per request. */
export function policyHits(trace, size, policy) {
  const cache = new ResponseCache({ maxEntries: size, policy, ttlMs: 1e15 });
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const prompt = String(trace[i]);
    if (cache.get(prompt, 'sim') === undefined) cache.set(prompt, 'sim', 1);
    else hits++;
  }
  return hits;
}

/**
 * How W-TinyLFU's hill climber adapts to recency-heavy traffic given time: hit ratio per 300 000
 * requests of a 1.5 M-request recency trace, 2 000 entries, against LRU.
 */
export function recencyWarmup({ requests = 1_500_000, size = 2_000, segment = 300_000 } = {}) {
  const trace = recencyTrace({ requests });
  const out = {};
  for (const policy of ['w-tinylfu', 'lru']) {
    const cache = new ResponseCache({ maxEntries: size, policy, ttlMs: 1e15 });
    const segments = [];
    let hits = 0;
    for (let i = 0; i < trace.length; i++) {
      const prompt = String(trace[i]);
      if (cache.get(prompt, 'sim') === undefined) cache.set(prompt, 'sim', 1);
      else hits++;
      if ((i + 1) % segment === 0) {
        segments.push(pct(hits, segment));
        hits = 0;
      }
    }
    out[policy] = segments;
  }
  return out;
}

/** Overhead per entry (memory bench) of each policy at 100 000 entries, fresh and after as many evictions (ghost list full). */
export async function policyMemory() {
  const { benchMemory } = await import('./core.mjs');
  const out = {};
  for (const policy of POLICIES) {
    const fresh = await benchMemory(100_000, policy);
    const churned = await benchMemory(100_000, policy, 100_000);
    out[policy] = { overhead_bytes_per_entry: fresh.overhead_bytes_per_entry, after_100k_evictions: churned.overhead_bytes_per_entry };
  }
  return out;
}

const pct = (hits, n) => Math.round((hits / n) * 10_000) / 100;

/** Every trace × size × policy, plus Belady; with what the targets ask of the default policy. */
export function simulate({ only } = {}) {
  const defaultPolicy = new ResponseCache().options.policy;
  const rows = [];
  for (const t of traces()) {
    if (only !== undefined && !t.name.startsWith(only)) continue;
    const trace = t.trace();
    for (const size of t.sizes) {
      const hit = Object.fromEntries(POLICIES.map((p) => [p, pct(policyHits(trace, size, p), trace.length)]));
      rows.push({ trace: t.name, requests: trace.length, size, ...hit, belady: pct(beladyHits(trace, size), trace.length) });
    }
  }
  return { default_policy: defaultPolicy, rows, targets: targets(rows) };
}

/** Per policy: its worst margin over LRU, its margin on Zipf 0.99 at 0.1 %, its mean share of Belady. */
function targets(rows) {
  return Object.fromEntries(POLICIES.filter((p) => p !== 'lru').map((p) => {
    const worst = Math.min(...rows.map((r) => r[p] - r.lru));
    const zipf = rows.find((r) => r.trace === 'Zipf 0.99' && r.size === 100);
    const share = rows.reduce((s, r) => s + (r.belady === 0 ? 1 : r[p] / r.belady), 0) / rows.length;
    return [p, {
      worst_points_vs_lru: round2(worst),
      zipf_099_small_points_vs_lru: zipf === undefined ? null : round2(zipf[p] - zipf.lru),
      mean_share_of_belady_percent: round2(share * 100),
      meets_targets: worst >= -1 && (zipf === undefined || zipf[p] - zipf.lru >= 8),
    }];
  }));
}

const round2 = (x) => Math.round(x * 100) / 100;

/** The rows as a Markdown table: hit ratio %, and each policy's share of Belady's in parentheses. */
export function table(rows) {
  const head = `| trace | size | ${POLICIES.join(' | ')} | Belady |\n| --- | ---: | ${POLICIES.map(() => '---:').join(' | ')} | ---: |`;
  const cell = (r, p) => `${r[p].toFixed(2)} (${r.belady === 0 ? '–' : Math.round((r[p] / r.belady) * 100)} %)`;
  return [head, ...rows.map((r) => `| ${r.trace} | ${r.size} | ${POLICIES.map((p) => cell(r, p)).join(' | ')} | ${r.belady.toFixed(2)} |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--recency-warmup') {
  console.log(recencyWarmup());
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const result = simulate({ only: process.argv[2] });
  console.log(table(result.rows));
  console.log(JSON.stringify(result.targets, null, 2));
  console.log(`default policy: ${result.default_policy}; ${Math.round((Date.now() - started) / 1000)} s`);
}
