import { afterEach } from 'vitest';
import { PerformanceMonitor, type CacheStats, type PerformanceMonitorOptions } from '../../src/index.js';

/** A clock the test moves by hand. */
export interface TestClock {
  t: number;
  now(): number;
  advance(ms: number): void;
}

export function testClock(start = 1_700_000_000_000): TestClock {
  return {
    t: start,
    now() {
      return this.t;
    },
    advance(ms: number) {
      this.t += ms;
    },
  };
}

/** Deterministic small noise in [-6, 6]: a fixed permutation, no randomness in tests. */
export function noise(i: number): number {
  return ((i * 7919) % 13) - 6;
}

/** Cache statistics as `ResponseCache.getStats()` returns them, with the given overrides. */
export function cacheStats(overrides: Partial<CacheStats> = {}): CacheStats {
  return {
    size: 100, bytes: 10_000, maxEntries: 1000, maxBytes: Infinity, ttlMs: 3_600_000, hits: 10, misses: 90, hitRate: 0.1,
    writes: 90, evictions: 0, missCauses: { new: 10, expired: 0, evicted: 0, rejected: 0 }, timeSavedMs: 0, tokensSaved: 0,
    ...overrides,
  };
}

/** Monitors with process sampling off, closed after each test of the file that calls this. */
export function monitorFactory(defaults: PerformanceMonitorOptions = {}): (clock: TestClock, options?: PerformanceMonitorOptions) => PerformanceMonitor {
  const monitors: PerformanceMonitor[] = [];
  afterEach(() => {
    for (const m of monitors.splice(0)) m.close();
  });
  return (clock, options = {}) => {
    const m = new PerformanceMonitor({ clock, sampleIntervalMs: false, ...defaults, ...options });
    monitors.push(m);
    return m;
  };
}
