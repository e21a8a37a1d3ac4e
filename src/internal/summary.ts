/** Small statistics over plain arrays, used off the hot path (trends, reports, the optimizer). */

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The largest value; NaN when empty. A loop, not `Math.max(...values)`, which overflows the stack on a long history. */
export function maximum(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return Number.NaN;
    if (v > max || (v === 0 && Object.is(max, -0))) max = v;
  }
  return max;
}

/** Sample variance (n − 1); 0 for fewer than two values. */
export function variance(values: readonly number[], m = mean(values)): number {
  if (values.length < 2) return 0;
  let sum = 0;
  for (const v of values) sum += (v - m) * (v - m);
  return sum / (values.length - 1);
}

/** Welch's t statistic of `b` against `a` (positive when b's mean is larger). ±Infinity when both are constant and differ. */
export function welchT(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  const se = Math.sqrt(variance(a, ma) / a.length + variance(b, mb) / b.length);
  if (se === 0) return mb === ma ? 0 : (mb > ma ? Infinity : -Infinity);
  return (mb - ma) / se;
}

/** Pearson correlation of paired values; NaN when either side is constant. */
export function correlation(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  const mx = mean(x.slice(0, n));
  const my = mean(y.slice(0, n));
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** The q-quantile (0..1) by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
