// Forecast benchmark on the BUILT package (run `npx tsup` first): one-step-ahead error of the call-rate
// forecaster against the seasonal-naive forecast (the value one day earlier), as a ratio of mean
// absolute errors over the same points (MASE with the seasonal-naive error as the scale; < 1 beats it):
//   - the count series of the NAB development split (tweet volumes, taxi demand, road traffic) when
//     NAB_HOME names the folder holding `data/nab-dev/` (not part of this repository);
//   - a generated service: 4 weeks of 5-minute call counts (daily and weekly rhythm, growth, bursts).
// Points are scored from the 8th day on (both forecasts have a week of history).
// Standalone: `NAB_HOME=/path/to/shared node bench/forecast.mjs`. bench/run.mjs imports benchForecast().
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSeasonalForecaster } from '../dist/index.js';
import { DAY_MS, START_MS, poisson, serviceRatePerMinute, uniform, weeklyBursts } from './forecast-data.mjs';

const NAB_COUNT_SERIES = [
  'realTweets/Twitter_volume_AAPL.csv', 'realTweets/Twitter_volume_AMZN.csv', 'realTweets/Twitter_volume_IBM.csv',
  'realTweets/Twitter_volume_PFE.csv', 'realTweets/Twitter_volume_UPS.csv', 'realKnownCause/nyc_taxi.csv',
  'realTraffic/occupancy_6005.csv', 'realTraffic/speed_6005.csv', 'realTraffic/speed_t4013.csv',
];

function readCsv(file) {
  const rows = readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1);
  return rows.map((line) => {
    const [ts, value] = line.split(',');
    return [Date.parse(`${ts.trim().replace(' ', 'T')}Z`), Number(value)];
  });
}

/** Most common interval between points, in ms (the bucket width). */
function bucketOf(points) {
  const counts = new Map();
  for (let i = 1; i < Math.min(points.length, 500); i++) {
    const d = points[i][0] - points[i - 1][0];
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

/** MAE of the forecaster and of the seasonal-naive forecast over the points from day 8 on. */
export function scoreSeries(points, bucketMs) {
  const f = createSeasonalForecaster({ bucketMs });
  const byTime = new Map(points.map(([t, v]) => [t, v]));
  const from = points[0][0] + 7 * DAY_MS;
  let ours = 0;
  let naive = 0;
  let n = 0;
  for (const [t, v] of points) {
    const before = byTime.get(t - DAY_MS);
    if (t >= from && before !== undefined && f.observed > 0) {
      ours += Math.abs(f.forecast(t) - v);
      naive += Math.abs(before - v);
      n++;
    }
    f.observe(v, t);
  }
  return { points: n, mae: ours / n, naive_mae: naive / n, mase: ours / naive };
}

/** 4 weeks of 5-minute call counts of the generated service. */
export function serviceSeries(seed = 7) {
  const u = uniform(seed);
  const bursts = weeklyBursts(4, seed + 1);
  const out = [];
  for (let t = START_MS; t < START_MS + 28 * DAY_MS; t += 300_000) out.push([t, poisson(u, 5 * serviceRatePerMinute(t, bursts))]);
  return out;
}

export async function benchForecast() {
  const result = {};
  const service = serviceSeries();
  result.generated_service = scoreSeries(service, 300_000);
  const home = process.env.NAB_HOME;
  if (home === undefined || home === '') return { ...result, nab_dev: 'not scored: set NAB_HOME to the folder holding data/nab-dev' };
  const nab = {};
  let sum = 0;
  for (const name of NAB_COUNT_SERIES) {
    const points = readCsv(path.join(path.resolve(home), 'data', 'nab-dev', name));
    nab[name] = scoreSeries(points, bucketOf(points));
    sum += Math.log(nab[name].mase);
  }
  result.nab_dev = nab;
  result.nab_dev_geometric_mean_mase = Math.exp(sum / NAB_COUNT_SERIES.length);
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await benchForecast();
  const line = (name, s) => console.log(`  ${name.padEnd(40)} MASE ${s.mase.toFixed(3)}  (MAE ${s.mae.toFixed(2)} vs seasonal-naive ${s.naive_mae.toFixed(2)}, ${s.points} points)`);
  console.log('one-step-ahead forecast vs seasonal-naive (value one day earlier), from day 8 on');
  line('generated service (4 weeks, 5 min)', r.generated_service);
  if (typeof r.nab_dev === 'string') console.log(`  NAB dev ${r.nab_dev}`);
  else {
    for (const [name, s] of Object.entries(r.nab_dev)) line(name, s);
    console.log(`  NAB dev count series, geometric mean MASE ${r.nab_dev_geometric_mean_mase.toFixed(3)}`);
  }
}
