/**
 * The mixture sequential probability ratio test (mSPRT) of Johari, Pekelis and Walsh, "Always Valid
 * Inference: Bringing Sequential Analysis to A/B Testing" (2017, the test behind Optimizely's stats
 * engine), in its large-sample form for a difference of two means (ADR 0062).
 *
 * The difference of the arms' means `delta` is taken as normal with variance `v` (the sum of each
 * arm's variance of its mean). Against H0 "no difference", a normal prior N(0, tau²) on the true
 * difference gives the likelihood ratio
 *
 *   Λ = sqrt(v / (v + tau²)) · exp(delta² · tau² / (2 v (v + tau²)))
 *
 * which is a martingale under H0, so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α: the p-value
 * `min over looks of 1/Λ` stays valid however often and whenever someone looks.
 */

/** The likelihood ratio Λ of the mixture against "no difference"; 1 when there is no information yet. */
export function mixtureLikelihoodRatio(delta: number, variance: number, tau2: number): number {
  if (!(variance > 0) || !(tau2 > 0) || !Number.isFinite(delta)) return 1;
  const log = 0.5 * Math.log(variance / (variance + tau2)) + (delta * delta * tau2) / (2 * variance * (variance + tau2));
  return Math.exp(Math.min(log, 700));
}

/** The always-valid p-value after this look: the smaller of the previous one and 1/Λ. */
export function alwaysValidPValue(previous: number, delta: number, variance: number, tau2: number): number {
  const p = Math.min(1, 1 / mixtureLikelihoodRatio(delta, variance, tau2));
  return Math.min(previous, p);
}

/**
 * The always-valid (1 − α) confidence interval for the difference: every θ whose own mixture ratio
 * stays below 1/α. Its half-width is sqrt(v (v + tau²) / tau² · (ln((v + tau²) / v) + 2 ln(1/α))).
 */
export function alwaysValidInterval(delta: number, variance: number, tau2: number, alpha: number): [number, number] {
  if (!(variance > 0) || !(tau2 > 0)) return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const half = Math.sqrt(((variance * (variance + tau2)) / tau2) * (Math.log((variance + tau2) / variance) + 2 * Math.log(1 / alpha)));
  return [delta - half, delta + half];
}

/** Running count, mean and variance of one metric in one arm (Welford's update, exact to merge). */
export interface Moments {
  n: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
}

export function emptyMoments(): Moments {
  return { n: 0, mean: 0, m2: 0 };
}

export function addValue(m: Moments, x: number): void {
  m.n++;
  const d = x - m.mean;
  m.mean += d / m.n;
  m.m2 += d * (x - m.mean);
}

/** Merges `b` into `a` (Chan et al.'s parallel formula): restoring saved moments is the same as having seen their values. */
export function mergeMoments(a: Moments, b: Moments): void {
  if (b.n === 0) return;
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  a.m2 += b.m2 + (d * d * a.n * b.n) / n;
  a.mean += (d * b.n) / n;
  a.n = n;
}

/** Sample variance (n − 1). */
export function variance(m: Moments): number {
  return m.n < 2 ? 0 : m.m2 / (m.n - 1);
}

/** One metric of a treatment arm against the control arm. */
export interface Comparison {
  /** Treatment mean − control mean. */
  difference: number;
  /** Always-valid (1 − alpha) interval of the difference. */
  ci: [number, number];
  /** Always-valid p-value (the running minimum over every look so far). */
  p_value: number;
  /** p_value < alpha: the difference is real, whenever you looked. */
  significant: boolean;
}

/** Observations each arm needs before its variance is trusted (the test's normal approximation). */
export const MIN_PER_ARM = 30;

/**
 * Compares `treatment` against `control`. The prior scale tau is `effect` standard deviations of
 * the pooled data (so one setting fits rates, latencies and scores alike): with the default 0.1, a
 * hit rate near 50 % is tuned to differences of about 5 points.
 */
export function compare(control: Moments, treatment: Moments, previousP: number, alpha: number, effect: number): Comparison {
  const difference = treatment.mean - control.mean;
  if (control.n < MIN_PER_ARM || treatment.n < MIN_PER_ARM) {
    return { difference, ci: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], p_value: previousP, significant: previousP < alpha };
  }
  const v = variance(control) / control.n + variance(treatment) / treatment.n;
  const pooled = (control.m2 + treatment.m2) / Math.max(1, control.n + treatment.n - 2);
  const tau2 = effect * effect * pooled;
  const p = alwaysValidPValue(previousP, difference, v, tau2);
  return { difference, ci: alwaysValidInterval(difference, v, tau2, alpha), p_value: p, significant: p < alpha };
}
