// Shared by bench/forecast.mjs: deterministic generators of a service's call counts.

/** Deterministic uniform generator (mulberry32). */
export function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function poisson(u, lambda) {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do { k++; p *= u(); } while (p > l);
  return k - 1;
}

export const DAY_MS = 86_400_000;
export const START_MS = Date.UTC(2026, 10, 2); // a Monday

/**
 * Expected calls per minute of a business service at time t: nights idle, a morning ramp, a lunch
 * dip, an evening tail, weekends at a fifth, a 2 %-a-week growth. `bursts` (sorted [startMs, endMs,
 * factor]) multiply the rate.
 */
export function serviceRatePerMinute(t, bursts = []) {
  const hour = ((t - START_MS) % DAY_MS) / 3_600_000;
  const weekday = Math.floor((t - START_MS) / DAY_MS) % 7;
  let shape = 0;
  if (hour >= 7 && hour < 19) shape = Math.sin((Math.PI * (hour - 7)) / 12) * (hour >= 12 && hour < 13 ? 0.6 : 1);
  else if (hour >= 19 && hour < 22) shape = 0.15;
  const weekend = weekday >= 5 ? 0.2 : 1;
  const growth = 1 + (0.02 * (t - START_MS)) / (7 * DAY_MS);
  let burst = 1;
  for (const [a, b, f] of bursts) if (t >= a && t < b) burst = f;
  return 3 * shape * weekend * growth * burst;
}

/** Two 30-minute bursts (×5) a week at pseudo-random times of day. */
export function weeklyBursts(weeks, seed) {
  const u = uniform(seed);
  const out = [];
  for (let w = 0; w < weeks; w++) for (let k = 0; k < 2; k++) {
    const a = START_MS + w * 7 * DAY_MS + Math.floor(u() * 5) * DAY_MS + Math.floor(u() * 24 * 60) * 60_000;
    out.push([a, a + 30 * 60_000, 5]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}
