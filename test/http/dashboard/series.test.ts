import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../../src/index.js';
import { createOptimizationHandler } from '../../../src/http.js';
import { createManualClock } from '../../../src/testing.js';
import { binOf, binValue, BUCKET_MS, DashboardSeries, quantileOf } from '../../../src/http/dashboard/series.js';

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

describe('the dashboard latency histogram', () => {
  it('puts every duration in a bin whose centre is within 9 % of it (above 0.1 ms)', () => {
    fc.assert(fc.property(fc.double({ min: 0.11, max: 3_600_000, noNaN: true }), (ms) => {
      expect(Math.abs(binValue(binOf(ms)) - ms) / ms).toBeLessThan(0.091);
    }));
  });

  it('answers p50 and p95 within 9 % of the exact nearest-rank quantile (plus its rounding to 0.01 ms)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0.2, max: 120_000, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.constantFrom(0.5, 0.95), (values, q) => {
      const bins = new Map<number, number>();
      for (const v of values) bins.set(binOf(v), (bins.get(binOf(v)) ?? 0) + 1);
      const exact = exactQuantile(values, q);
      expect(Math.abs(quantileOf(bins, values.length, q) - exact)).toBeLessThanOrEqual(exact * 0.0906 + 0.005);
    }));
  });
});

describe('DashboardSeries', () => {
  it('counts calls per minute by outcome, latency and tokens/s per model over model calls only, and keeps the last hour', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const engine = new OptimizationEngine({ clock, retry: false, breaker: false });
    const series = new DashboardSeries(engine);
    const exec = (ms: number) => (_p: string, _m: string, { reportUsage }: { reportUsage: (u: object) => void }) => {
      clock.advance(ms);
      reportUsage({ outputTokens: 50, generationMs: 500 });
      return 'v';
    };
    await engine.optimizeAiCall('a', 'm', exec(400));
    await engine.optimizeAiCall('a', 'm', exec(400));
    await engine.optimizeAiCall('b', 'm', () => Promise.reject(new Error('x'))).catch(() => undefined);
    const [point] = series.points();
    expect(point?.calls).toEqual({ hit: 1, coalesced: 0, miss: 1, bypass: 0, error: 1 });
    expect(point?.models.m).toMatchObject({ calls: 1, tokens_per_second: 100 });
    expect(Math.abs((point?.models.m?.p50_ms ?? 0) - 400) / 400).toBeLessThan(0.09);
    for (let m = 0; m < 70; m++) {
      clock.advance(BUCKET_MS);
      await engine.optimizeAiCall(`p${m}`, 'm', () => 'v');
    }
    const points = series.points();
    expect(points).toHaveLength(60);
    expect(points.every((p, i) => i === 0 || p.t > (points[i - 1]?.t ?? 0))).toBe(true);
    await engine.close();
  });
});

describe('the dashboard option', () => {
  it('dashboard: false serves neither route; a non-boolean is refused naming the option', async () => {
    const engine = new OptimizationEngine();
    const off = createOptimizationHandler(engine, { authorize: 'allow-all', dashboard: false });
    expect((await off(new Request('http://x/optimization/dashboard'))).status).toBe(404);
    expect((await off(new Request('http://x/optimization/dashboard/data'))).status).toBe(404);
    expect(() => createOptimizationHandler(engine, { authorize: 'allow-all', dashboard: 'yes' as never })).toThrow(/`dashboard`/);
    const on = createOptimizationHandler(engine, { authorize: 'allow-all' });
    const page = await on(new Request('http://x/optimization/dashboard'));
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[^']+'/);
    const data = (await (await on(new Request('http://x/optimization/dashboard/data'))).json()) as { has_data: boolean; errors: string[] };
    expect(data).toMatchObject({ has_data: false, errors: [] });
    await engine.close();
  });
});
