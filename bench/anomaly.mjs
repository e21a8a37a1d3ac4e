// Anomaly-detector benchmark on the BUILT package (run `npx tsup` first):
//   - NAB scores on the development split for the default method ('rare-shift'), 'rare-change' and the seed rule, when the NAB
//     tools are at hand: NAB_HOME names the folder holding `tools/nab/nab-eval.mjs` and
//     `data/nab-dev/` (they are not part of this repository);
//   - ns per observed point, over >= 1e6 points: the NAB dev series when NAB_HOME is set, else a
//     synthetic series (deterministic noise with level shifts and spikes).
// Standalone: `NAB_HOME=/path/to/shared node bench/anomaly.mjs`. bench/run.mjs imports benchAnomaly().
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createAnomalyDetector } from '../dist/index.js';
import { createDetector } from './nab-detector.mjs';

const nabHome = process.env.NAB_HOME === undefined || process.env.NAB_HOME === '' ? undefined : path.resolve(process.env.NAB_HOME);

const METHODS = { default: {}, rare_change: { method: 'rare-change' }, seed_3sigma: { method: 'seed-3sigma' } };
const POINTS = 1_000_000;
const RUNS = 5;

async function loadScorer(home) {
  return import(pathToFileURL(path.join(home, 'tools', 'nab', 'nab-eval.mjs')).href);
}

function nabScores(scorer, series, options) {
  const { nab } = scorer.evaluate({ createDetector }, series, options).total;
  return { standard: nab.standard, low_fp: nab.reward_low_FP_rate, low_fn: nab.reward_low_FN_rate };
}

/** Level 100 ± 1 with a level shift every 5000 points and a spike every 997: no NAB data needed. */
function syntheticSeries() {
  const out = new Float64Array(POINTS);
  for (let i = 0; i < POINTS; i++) {
    const noise = (Math.sin(i * 12.9898) * 43758.5453) % 1; // in (-1, 1), deterministic
    out[i] = 100 + 10 * (Math.floor(i / 5000) % 3) + noise + (i % 997 === 0 ? 25 : 0);
  }
  return out;
}

/** The dev series back to back, repeated until at least POINTS values: real operational data. */
function realisticSeries(series) {
  const out = new Float64Array(POINTS);
  for (let i = 0, k = 0; i < POINTS; k++) {
    for (const v of series[k % series.length].values) {
      if (i >= POINTS) break;
      out[i++] = v;
    }
  }
  return out;
}

function nsPerPoint(values, options) {
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < RUNS; run++) {
    const detector = createAnomalyDetector(options);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < values.length; i++) sink += detector.observe(values[i]).score;
    const ns = Number(process.hrtime.bigint() - t0) / values.length;
    if (ns < best) best = ns;
  }
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the loop observable');
  return best;
}

export async function benchAnomaly() {
  const ns_per_point = {};
  if (nabHome === undefined) {
    const values = syntheticSeries();
    for (const [name, options] of Object.entries(METHODS)) ns_per_point[name] = nsPerPoint(values, options);
    return { nab_dev: 'not scored: set NAB_HOME to the folder holding tools/nab and data/nab-dev', series: 'synthetic', ns_per_point };
  }
  const scorer = await loadScorer(nabHome);
  const { series } = scorer.loadSplit('dev', { devDir: path.join(nabHome, 'data', 'nab-dev') });
  const values = realisticSeries(series);
  const nab_dev = {};
  for (const [name, options] of Object.entries(METHODS)) {
    nab_dev[name] = nabScores(scorer, series, options);
    ns_per_point[name] = nsPerPoint(values, options);
  }
  return { nab_dev, series: 'nab-dev', ns_per_point };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { nab_dev, ns_per_point } = await benchAnomaly();
  if (typeof nab_dev === 'string') {
    console.log(`NAB dev split ${nab_dev}`);
    for (const [name, ns] of Object.entries(ns_per_point)) console.log(`  ${name.padEnd(12)} ${ns.toFixed(0).padStart(4)} ns/point (synthetic series)`);
    process.exit(0);
  }
  console.log('NAB dev split (normalised: never fire = 0, perfect = 100)');
  for (const [name, s] of Object.entries(nab_dev)) {
    console.log(`  ${name.padEnd(12)} standard ${s.standard.toFixed(1).padStart(6)}  low-FP ${s.low_fp.toFixed(1).padStart(6)}  low-FN ${s.low_fn.toFixed(1).padStart(6)}  ${ns_per_point[name].toFixed(0).padStart(4)} ns/point`);
  }
}
