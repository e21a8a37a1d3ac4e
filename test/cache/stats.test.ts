import { describe, expect, it } from 'vitest';
import { OptimizationEngine, ResponseCache } from '../../src/index.js';

const sum = (counters: Record<string, { hits: number; misses: number }>) =>
  Object.values(counters).reduce((total, c) => ({ hits: total.hits + c.hits, misses: total.misses + c.misses }), { hits: 0, misses: 0 });

describe('per-model and per-scope counters (high cardinality)', () => {
  it('serves 10^5 distinct scopes and 10^4 distinct models, pooling the names past the bound under (other)', async () => {
    const engine = new OptimizationEngine();
    for (let i = 0; i < 100_000; i++) {
      await engine.optimizeAiCall('p', `model-${i % 10_000}`, () => 'v', { scope: `tenant-${i}` });
    }
    // The same scope twice: the second call is a hit, counted under (other) with the first.
    expect(await engine.optimizeAiCall('p', 'model-9999', () => 'w', { scope: 'tenant-99999' })).toBe('v');
    const { byScope, byModel } = engine.cache.analyzeAccessPatterns();
    expect(Object.keys(byScope)).toHaveLength(1000);
    expect(Object.keys(byModel)).toHaveLength(1000);
    expect(byScope['tenant-0']).toEqual({ hits: 0, misses: 1, hit_rate_percent: 0 });
    expect(byScope['(other)']).toMatchObject({ hits: 1, misses: 100_000 - 999 });
    expect(sum(byScope)).toEqual({ hits: 1, misses: 100_000 });
    expect(sum(byModel)).toEqual({ hits: 1, misses: 100_000 });
    await engine.close();
  });

  it('keeps a scope or model named __proto__ as a figure of its own, never as the prototype of the record', async () => {
    const engine = new OptimizationEngine();
    await engine.optimizeAiCall('p', '__proto__', () => 'v', { scope: '__proto__' });
    const { byScope, byModel } = engine.cache.analyzeAccessPatterns();
    expect(Object.getPrototypeOf(byScope)).toBe(Object.prototype);
    expect(Object.keys(byScope)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(byModel))).toEqual(JSON.parse('{"__proto__":{"hits":0,"misses":1,"hit_rate_percent":0}}'));
    await engine.close();
  });

  it('ResponseCache.get and set keep working for every new scope past the bound', () => {
    const cache = new ResponseCache();
    for (let i = 0; i < 5000; i++) {
      expect(cache.get('p', 'm', { scope: `s${i}` })).toBeUndefined();
      cache.set('p', 'm', i, { scope: `s${i}` });
      expect(cache.get('p', 'm', { scope: `s${i}` })).toBe(i);
    }
    expect(sum(cache.analyzeAccessPatterns().byScope)).toEqual({ hits: 5000, misses: 5000 });
  });
});
