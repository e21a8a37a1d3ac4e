// Cross-validated estimate of how the anomaly detector's tuned options generalize, on the BUILT
// package (run `npx tsup` first) and the NAB development split (NAB_HOME: the folder holding
// `tools/nab/nab-eval.mjs` and `data/nab-dev/`, not part of this repository):
//   NAB_HOME=/path/to/shared node bench/nab-cv.mjs
// For each grid below, the setting with the best NAB standard score on all series but one (LOSO)
// or all categories but one (LOCO) is scored on the series (category) left out; the left-out
// results are pooled into one score. The `union` grid also chooses the method, so the choice
// between 'rare-change' and 'rare-shift' is cross-validated too. See docs/time-series.md.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDetector } from './nab-detector.mjs';
import { uniform } from './forecast-data.mjs'; // mulberry32: a reproducible bootstrap

const product = (spec) => Object.entries(spec).reduce((grid, [key, values]) => grid.flatMap((g) => values.map((v) => ({ ...g, [key]: v }))), [{}]);

export const GRIDS = {
  'rare-change': product({ method: ['rare-change'], threshold: [4, 5, 6], rarity: [0.002, 0.003, 0.005], scaleWindowPoints: [500, 1000, 2000], cooldownPoints: [100, 200, 400] }),
  'rare-shift': product({ method: ['rare-shift'], threshold: [4, 5, 6], rarity: [0.002, 0.003, 0.005], shiftWindowPoints: [4, 8, 16], levelWindowPoints: [100, 300, 1000] }),
};
export const DEFAULTS = { 'rare-change': { method: 'rare-change' }, 'rare-shift': {} };

function crossValidate(scorer, series, grid, perSetting, keyOf) {
  const score = (rows) => scorer.aggregate(rows).nab.standard;
  const pooled = [];
  const chosen = new Set();
  for (const key of new Set(series.map(keyOf))) {
    const inFold = series.map((s) => keyOf(s) === key);
    const trainScores = perSetting.map((rows) => score(rows.filter((_, i) => !inFold[i])));
    const best = trainScores.indexOf(Math.max(...trainScores));
    chosen.add(JSON.stringify(grid[best]));
    pooled.push(...perSetting[best].filter((_, i) => inFold[i]));
  }
  const { nab } = scorer.aggregate(pooled);
  return { standard: nab.standard, low_fp: nab.reward_low_FP_rate, low_fn: nab.reward_low_FN_rate, settings_chosen: chosen.size, standard_sd: bootstrapSd(scorer, pooled) };
}

/**
 * Spread of the score over another draw of as many series: the standard deviation of the NAB
 * standard score over 1000 resamples (with replacement) of the left-out per-series results.
 */
function bootstrapSd(scorer, rows) {
  const u = uniform(1);
  const scores = [];
  for (let b = 0; b < 1000; b++) {
    const draw = Array.from(rows, () => rows[Math.floor(u() * rows.length)]);
    const s = scorer.aggregate(draw).nab.standard;
    if (Number.isFinite(s)) scores.push(s);
  }
  const mean = scores.reduce((a, x) => a + x, 0) / scores.length;
  return Math.sqrt(scores.reduce((a, x) => a + (x - mean) ** 2, 0) / (scores.length - 1));
}

export async function benchNabCv(home) {
  const scorer = await import(pathToFileURL(path.join(home, 'tools', 'nab', 'nab-eval.mjs')).href);
  const { series } = scorer.loadSplit('dev', { devDir: path.join(home, 'data', 'nab-dev') });
  const run = (options) => scorer.evaluate({ createDetector }, series, options).perSeries;
  const grids = { ...GRIDS, union: [...GRIDS['rare-change'], ...GRIDS['rare-shift']] };
  const cache = new Map();
  const perSettingOf = (grid) => grid.map((g) => {
    const key = JSON.stringify(g);
    if (!cache.has(key)) cache.set(key, run(g));
    return cache.get(key);
  });
  const out = {};
  for (const [name, grid] of Object.entries(grids)) {
    const perSetting = perSettingOf(grid);
    const inSample = perSetting.map((rows) => scorer.aggregate(rows).nab.standard).sort((a, b) => a - b);
    const def = DEFAULTS[name] === undefined ? undefined : scorer.aggregate(run(DEFAULTS[name])).nab.standard;
    out[name] = {
      settings: grid.length,
      default_in_sample: def,
      best_in_sample: inSample.at(-1),
      median_in_sample: inSample[inSample.length >> 1],
      loso: crossValidate(scorer, series, grid, perSetting, (s) => s.name),
      loco: crossValidate(scorer, series, grid, perSetting, (s) => s.name.split('/')[0]),
    };
  }
  return out;
}

/** For bench/run.mjs: the estimate when NAB_HOME is set, else why it was not made. */
export async function benchNabCvFromEnv() {
  const home = process.env.NAB_HOME;
  if (home === undefined || home === '') return 'not run: set NAB_HOME to the folder holding tools/nab and data/nab-dev';
  return benchNabCv(path.resolve(home));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const home = process.env.NAB_HOME;
  if (home === undefined || home === '') throw new Error('set NAB_HOME to the folder holding tools/nab and data/nab-dev');
  const f = (x) => (typeof x === 'number' ? x.toFixed(1) : '  -  ');
  for (const [name, r] of Object.entries(await benchNabCv(path.resolve(home)))) {
    console.log(`${name.padEnd(12)} ${String(r.settings).padStart(3)} settings  default ${f(r.default_in_sample)}  best ${f(r.best_in_sample)}  median ${f(r.median_in_sample)}  | LOSO std ${f(r.loso.standard)} ± ${f(r.loso.standard_sd)} lowFP ${f(r.loso.low_fp)} lowFN ${f(r.loso.low_fn)}  | LOCO std ${f(r.loco.standard)} ± ${f(r.loco.standard_sd)} lowFP ${f(r.loco.low_fp)} lowFN ${f(r.loco.low_fn)}`);
  }
}
