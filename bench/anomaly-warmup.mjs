// Warm-up behaviour of the default anomaly detector on the BUILT package (run `npx tsup` first):
//   - share of 200 noisy stable series (Gaussian, sd 1) on which a spike of 8/15/30 sd at point i is flagged;
//   - false alerts in the first 300 points of 1000 series of pure noise, light- and heavy-tailed.
// Standalone: `node bench/anomaly-warmup.mjs [options-json]`, e.g. '{"warmupPoints":60}'.
import { createAnomalyDetector } from '../dist/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');

/** Deterministic uniform generator (mulberry32), as in the tests. */
function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (u) => () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

const NOISES = {
  gaussian: (u) => { const g = normal(u); return () => 100 + g(); },
  poisson20: (u) => () => { const l = Math.exp(-20); let k = 0, p = 1; do { k++; p *= u(); } while (p > l); return k - 1; },
  laplace: (u) => () => { const v = u() - 0.5; return 100 - Math.sign(v) * Math.log(1 - 2 * Math.abs(v)); },
  lognormal_0_5: (u) => { const g = normal(u); return () => 800 * Math.exp(0.5 * g()); },
  lognormal_1: (u) => { const g = normal(u); return () => 800 * Math.exp(g()); },
  normal_ratio: (u) => { const g = normal(u); return () => 100 + g() / Math.max(0.05, Math.abs(g())); },
};

function spikeDetection(at, sd, seeds = 200) {
  let hits = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const g = normal(uniform(seed));
    const d = createAnomalyDetector(options);
    for (let i = 0; i <= at; i++) {
      const flagged = d.observe(100 + g() + (i === at ? sd : 0)).isAnomaly;
      if (i === at && flagged) hits++;
    }
  }
  return hits / seeds;
}

function earlyAlerts(make, points = 300, seeds = 1000) {
  let alerts = 0, series = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const next = make(uniform(seed));
    const d = createAnomalyDetector(options);
    let n = 0;
    for (let i = 0; i < points; i++) if (d.observe(next()).isAnomaly) n++;
    alerts += n;
    if (n > 0) series++;
  }
  return { alerts, series };
}

console.log(`spike flagged, share of 200 series (options ${JSON.stringify(options)})`);
console.log(`  point    8 sd   15 sd   30 sd`);
for (const at of [40, 60, 100, 200, 300, 400, 500]) {
  const row = [8, 15, 30].map((sd) => spikeDetection(at, sd).toFixed(3).padStart(7)).join(' ');
  console.log(`  ${String(at).padStart(5)} ${row}`);
}
console.log('alerts in the first 300 points of 1000 noise series (alerts / series with any)');
for (const [name, make] of Object.entries(NOISES)) {
  const { alerts, series } = earlyAlerts(make);
  console.log(`  ${name.padEnd(14)} ${String(alerts).padStart(4)} / ${series}`);
}
