import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSeasonalForecaster } from '../../src/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const BUCKET = 300_000;
const MONDAY = Date.UTC(2026, 10, 2);

/** A rhythm of calls per 5 minutes: 40 during office hours on weekdays, 2 otherwise. */
const rhythm = (t: number): number => {
  const hour = ((t % DAY) + DAY) % DAY / HOUR;
  const weekday = Math.floor((t - MONDAY) / DAY) % 7;
  return weekday < 5 && hour >= 9 && hour < 17 ? 40 : 2;
};

function feed(days: number, value: (t: number) => number = rhythm): ReturnType<typeof createSeasonalForecaster> {
  const f = createSeasonalForecaster({ bucketMs: BUCKET });
  for (let t = MONDAY; t < MONDAY + days * DAY; t += BUCKET) f.observe(value(t), t);
  return f;
}

describe('createSeasonalForecaster', () => {
  it('learns the daily rhythm: busy at 10:00, quiet at 03:00', () => {
    const f = feed(21);
    const next = MONDAY + 21 * DAY; // a Monday
    expect(f.forecast(next + 10 * HOUR)).toBeGreaterThan(30);
    expect(f.forecast(next + 3 * HOUR)).toBeLessThan(8);
  });

  it('learns the weekly rhythm: a Saturday morning stays quiet', () => {
    const f = feed(26); // ends on a Saturday 00:00
    const saturday = MONDAY + 26 * DAY;
    expect(f.forecast(saturday + 10 * HOUR)).toBeLessThan(12);
    expect(createSeasonalForecaster({ weekly: false }).forecast(saturday)).toBeNaN();
  });

  it('is moved little by a burst: one bucket of 50× traffic shifts tomorrow by under a tenth of it', () => {
    const calm = feed(14);
    const burst = feed(14, (t) => (t === MONDAY + 13 * DAY + 10 * HOUR ? 2000 : rhythm(t)));
    const tomorrow = MONDAY + 14 * DAY + 10 * HOUR;
    expect(Math.abs(burst.forecast(tomorrow) - calm.forecast(tomorrow))).toBeLessThan(200);
  });

  it('follows growth, lagging it by a few days (10 % a week: within 15 %)', () => {
    const grow = (t: number): number => 10 * 1.1 ** ((t - MONDAY) / (7 * DAY));
    const twoWeeks = feed(14, grow).forecast(MONDAY + 14 * DAY);
    const threeWeeks = feed(21, grow).forecast(MONDAY + 21 * DAY);
    expect(threeWeeks).toBeGreaterThan(twoWeeks * 1.05);
    expect(threeWeeks).toBeGreaterThan(0.85 * grow(MONDAY + 21 * DAY));
  });

  it('ignores earlier buckets, repeats, negative and non-finite values', () => {
    const f = createSeasonalForecaster();
    f.observe(10, MONDAY + BUCKET);
    f.observe(999, MONDAY);
    f.observe(999, MONDAY + BUCKET + 1);
    f.observe(-5, MONDAY + 2 * BUCKET);
    f.observe(Number.NaN, MONDAY + 3 * BUCKET);
    expect(f.observed).toBe(1);
    expect(f.forecast(MONDAY + 4 * BUCKET)).toBe(10);
  });

  it('never forecasts a negative or non-finite count', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.integer({ min: 1, max: 500 })), { maxLength: 200 }), (steps) => {
        const f = createSeasonalForecaster();
        let t = MONDAY;
        for (const [v, gap] of steps) {
          t += gap * BUCKET;
          f.observe(v, t);
          const y = f.forecast(t + BUCKET);
          expect(Number.isFinite(y) && y >= 0).toBe(true);
        }
      }),
    );
  });

  it('rejects a bucket that does not divide a day, and a non-boolean weekly, naming the option', () => {
    expect(() => createSeasonalForecaster({ bucketMs: 7 * 60_000 })).toThrow(/`bucketMs`.*received 420000/);
    expect(() => createSeasonalForecaster({ bucketMs: 0 })).toThrow(RangeError);
    expect(() => createSeasonalForecaster({ weekly: 'yes' as never })).toThrow(/`weekly` must be a boolean/);
  });
});

describe('createSeasonalForecaster: hostile input', () => {
  it('stays finite after counts of 1e200 and 1e300 (it turned NaN for good)', () => {
    const f = createSeasonalForecaster();
    const start = Date.UTC(2026, 10, 2);
    let t = start;
    for (let i = 0; i < 2 * 2016; i++, t += 300_000) f.observe(i % 2 === 0 ? 0 : i % 4 === 1 ? 1e200 : 1e300, t);
    for (let i = 0; i < 4 * 2016; i++, t += 300_000) f.observe(3, t);
    const next = f.forecast(t);
    expect(Number.isFinite(next)).toBe(true);
    expect(next).toBeGreaterThanOrEqual(0);
  });

  it('refuses unknown options and a null options object, naming them', () => {
    expect(() => createSeasonalForecaster({ bucketMz: 1 } as never)).toThrow(/Unknown forecaster option `bucketMz`/);
    expect(() => createSeasonalForecaster(null as never)).toThrow(/must be an object/);
  });
});
