import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { fakeClock } from '../helpers.js';

const answer = (prompt: unknown): string => `answer to ${String(prompt)}`;

async function round(engine: OptimizationEngine, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await engine.optimizeAiCall(`p${i}`, 'm', answer);
}

/** Traffic whose repeats come 1.5 s apart: a 1 s TTL has expired by then, a 2 s one has not. */
async function traffic(engine: OptimizationEngine, clock: { advance(ms: number): void }, rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    await round(engine, 40);
    clock.advance(1500);
  }
}

describe('auto-optimizer trials: a TTL proposal tried on a slice before it is adopted', () => {
  it('starts a trial instead of changing the TTL, and adopts it once the proposed arm hits more', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, optimizer: { trialShare: 1, cooldownMs: 1 } });
    await traffic(engine, clock, 2);
    const started = engine.autoOptimize();
    expect(started.optimizations[0]).toMatchObject({ type: 'cache_ttl', after: { ttl_ms: 2000 } });
    expect(started.optimizations[0]?.action).toMatch(/^start a trial on 100 % of requests: raise the cache TTL/);
    expect(engine.cache.getStats().ttlMs).toBe(1000);
    expect(engine.getOptimizationReport().experiments?.['optimizer:cache_ttl']).toBeDefined();
    await traffic(engine, clock, 10);
    const adopted = engine.autoOptimize();
    expect(adopted.optimizations[0]).toMatchObject({ type: 'cache_ttl', after: { ttl_ms: 2000 }, evidence: { p_value: expect.any(Number) } });
    expect(adopted.optimizations[0]?.evidence['hit_rate_difference']).toBeGreaterThan(0);
    expect(engine.cache.getStats().ttlMs).toBe(2000);
    expect(engine.getOptimizationReport().experiments).toBeUndefined();
    await engine.close();
  });

  it('drops a proposal whose trial brings no difference within trialCalls', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock, cache: { ttlMs: 1000 }, optimizer: { trialShare: 0.5, trialCalls: 40, cooldownMs: 60_000 } });
    await traffic(engine, clock, 2);
    expect(engine.autoOptimize().optimizations[0]?.action).toMatch(/^start a trial on 50 %/);
    // New prompts only from now on: no arm can hit, so no verdict, and the trial ends at 40 calls per arm.
    for (let i = 0; i < 200; i++) await engine.optimizeAiCall(`fresh${i}`, 'm', answer);
    const result = engine.autoOptimize();
    expect(result.optimizations).toEqual([]);
    expect(engine.cache.getStats().ttlMs).toBe(1000);
    expect(engine.getOptimizationReport().experiments).toBeUndefined();
    await engine.close();
  });

  it('rejects a bad trialShare naming the option', () => {
    expect(() => new OptimizationEngine({ optimizer: { trialShare: 2 } })).toThrow(/`optimizer\.trialShare` must be at most 1/);
  });
});
