import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../../src/cache/response-cache.js';
import { WTinyLfuPolicy } from '../../../src/cache/policy/w-tinylfu.js';
import { OptimizationEngine, type CallStatus } from '../../../src/index.js';

/** Nine keys asked for five times each in a cache of ten: popular, by the sketch's count. */
function warmed(cache: ResponseCache): void {
  for (let i = 0; i < 9; i++) {
    cache.get(`hot${i}`, 'm');
    cache.set(`hot${i}`, 'm', i);
  }
  for (let r = 0; r < 5; r++) for (let i = 0; i < 9; i++) cache.get(`hot${i}`, 'm');
}

describe('W-TinyLFU', () => {
  it('refuses a one-off key the place of a popular one, and counts its next miss as rejected', () => {
    const cache = new ResponseCache({ maxEntries: 10, policy: 'w-tinylfu' });
    warmed(cache);
    expect(cache.get('once', 'm')).toBeUndefined();
    cache.set('once', 'm', 'x');
    cache.get('twice', 'm');
    cache.set('twice', 'm', 'y');
    expect(cache.get('once', 'm')).toBeUndefined();
    const { missCauses, size, evictions } = cache.getStats();
    expect(missCauses).toEqual({ new: 11, expired: 0, evicted: 0, rejected: 1 });
    expect(size).toBe(10);
    expect(evictions).toBe(1);
    for (let i = 0; i < 9; i++) expect(cache.get(`hot${i}`, 'm')).toBe(i);
    expect(cache.get('twice', 'm')).toBe('y');
  });

  it("says 'rejected' in a call's status and cache-miss event", async () => {
    const engine = new OptimizationEngine({ cache: { maxEntries: 10, policy: 'w-tinylfu' } });
    const causes: string[] = [];
    engine.on('cache-miss', (e) => causes.push(e.cause));
    const exec = async (p: unknown) => `answer ${String(p)}`;
    for (let i = 0; i < 9; i++) await engine.optimizeAiCall(`hot${i}`, 'm', exec);
    for (let r = 0; r < 5; r++) for (let i = 0; i < 9; i++) await engine.optimizeAiCall(`hot${i}`, 'm', exec);
    await engine.optimizeAiCall('once', 'm', exec);
    await engine.optimizeAiCall('twice', 'm', exec);
    const status: CallStatus = {};
    await engine.optimizeAiCall('once', 'm', exec, { status });
    expect(status).toMatchObject({ outcome: 'miss', missCause: 'rejected' });
    expect(causes.at(-1)).toBe('rejected');
    await engine.close();
  });

  it('admits a newcomer asked for more often than the entry it displaces', () => {
    const cache = new ResponseCache({ maxEntries: 10, policy: 'w-tinylfu' });
    warmed(cache);
    for (let r = 0; r < 8; r++) cache.get('rising', 'm');
    cache.set('rising', 'm', 'r');
    cache.set('next', 'm', 'n');
    expect(cache.get('rising', 'm')).toBe('r');
    expect(cache.getStats().missCauses.rejected).toBe(0);
  });

  it('moves its window by the hill climber, within 0 and the whole cache', () => {
    const slots = 101;
    const fps = new Int32Array(slots);
    const policy = new WTinyLfuPolicy(slots, (s) => fps[s] as number);
    policy.resize(100);
    const start = policy.windowShare;
    // A sample of 1 000 accesses (ten per entry), twice: the climber moves after each.
    for (let i = 0; i < 2000; i++) policy.miss(i);
    expect(policy.windowShare).not.toBe(start);
    expect(policy.windowShare).toBeGreaterThanOrEqual(0);
    expect(policy.windowShare).toBeLessThanOrEqual(1);
  });
});

describe('the policy option', () => {
  it('names the option and the choices when given something else', () => {
    expect(() => new ResponseCache({ policy: 'fifo' as never })).toThrow(TypeError);
    expect(() => new ResponseCache({ policy: 'fifo' as never })).toThrow(/`policy` must be one of 'w-tinylfu', 's3-fifo', 'sieve', 'lru', received/);
    expect(() => new OptimizationEngine({ cache: { policy: 1 as never } })).toThrow(/policy` must be one of/);
  });

  it("keeps 'lru' available and reports the policy in use", () => {
    expect(new ResponseCache({ policy: 'lru' }).options.policy).toBe('lru');
    expect(new ResponseCache().options.policy).toBe('w-tinylfu');
  });
});
