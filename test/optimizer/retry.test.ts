import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { runNode } from '../node-child.js';
import { backoffMs, isTransientError, resolveRetryOptions, retry, sleep } from '../../src/optimizer/retry.js';

const live = new AbortController().signal;
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:11434'), { code: 'ECONNREFUSED' });

/** Records each backoff instead of waiting. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

describe('isTransientError', () => {
  it('recognises refused and reset connections, 5xx statuses, and the same inside cause or AggregateError', () => {
    expect(isTransientError(refused())).toBe(true);
    expect(isTransientError({ code: 'ECONNRESET' })).toBe(true);
    expect(isTransientError({ status: 503 })).toBe(true);
    expect(isTransientError({ status_code: 500 })).toBe(true);
    expect(isTransientError({ statusCode: 502 })).toBe(true);
    expect(isTransientError(new TypeError('fetch failed', { cause: refused() }))).toBe(true);
    expect(isTransientError(new AggregateError([new Error('x'), refused()]))).toBe(true);
  });

  it('rejects 4xx, plain errors, aborts and non-objects', () => {
    expect(isTransientError({ status: 404 })).toBe(false);
    expect(isTransientError({ status_code: 400 })).toBe(false);
    expect(isTransientError(new Error('model not found'))).toBe(false);
    expect(isTransientError(new DOMException('gone', 'AbortError'))).toBe(false);
    expect(isTransientError('ECONNREFUSED')).toBe(false);
    expect(isTransientError(null)).toBe(false);
  });

  it('stops following a cyclic cause chain', () => {
    const a: { cause?: unknown } = {};
    a.cause = a;
    expect(isTransientError(a)).toBe(false);
  });
});

describe('retry', () => {
  it('retries a transient error and returns the later success', async () => {
    const policy = resolveRetryOptions({ attempts: 3, random: () => 1 })!;
    const { waits, sleep } = recordingSleep();
    let runs = 0;
    const value = await retry(policy, async () => (++runs < 3 ? Promise.reject(refused()) : 'ok'), live, sleep);
    expect(value).toBe('ok');
    expect(runs).toBe(3);
    expect(waits).toEqual([250, 500]);
  });

  it('rethrows the last error unchanged once attempts run out', async () => {
    const policy = resolveRetryOptions({ attempts: 2 })!;
    const errors = [refused(), refused()];
    let runs = 0;
    const error = await retry(policy, () => Promise.reject(errors[runs++]), live, recordingSleep().sleep).catch((e: unknown) => e);
    expect(error).toBe(errors[1]);
    expect(runs).toBe(2);
  });

  it('does not retry an error that is not transient', async () => {
    const policy = resolveRetryOptions({ attempts: 5 })!;
    let runs = 0;
    const own = new Error('bad prompt');
    await expect(retry(policy, () => (runs++, Promise.reject(own)), live, recordingSleep().sleep)).rejects.toBe(own);
    expect(runs).toBe(1);
  });

  it('does not retry once the signal has aborted', async () => {
    const policy = resolveRetryOptions({ attempts: 5 })!;
    const controller = new AbortController();
    let runs = 0;
    await retry(policy, () => (runs++, controller.abort(), Promise.reject(refused())), controller.signal, recordingSleep().sleep).catch(() => undefined);
    expect(runs).toBe(1);
  });

  it('stops waiting as soon as the signal aborts during a backoff', async () => {
    const policy = resolveRetryOptions({ attempts: 3, baseDelayMs: 3_600_000, random: () => 1 })!;
    const controller = new AbortController();
    let runs = 0;
    const pending = retry(policy, () => (runs++, Promise.reject(refused())), controller.signal);
    await Promise.resolve();
    controller.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');
    expect(runs).toBe(1);
  });

  it('full jitter: every backoff lies in [0, min(max, base × 2^n)]', () => {
    fc.assert(fc.property(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }),
      (r, n, base, max) => {
        const policy = resolveRetryOptions({ attempts: 2, baseDelayMs: base, maxDelayMs: max, random: () => r })!;
        const ms = backoffMs(policy, n);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(Math.min(max, base * 2 ** (n - 1)));
      },
    ));
  });

  it('sleep rejects at once with an already aborted signal', async () => {
    await expect(sleep(10, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
  });
});

describe('retry options', () => {
  it('defaults to two attempts; attempts: 1 and false turn retries off', () => {
    expect(resolveRetryOptions(undefined)).toMatchObject({ attempts: 2, baseDelayMs: 250, maxDelayMs: 4000 });
    expect(resolveRetryOptions({ attempts: 1 })).toBeUndefined();
    expect(resolveRetryOptions(false)).toBeUndefined();
  });

  it('rejects bad values naming the option', () => {
    expect(() => resolveRetryOptions({ attempts: 1.5 })).toThrow(/`retry.attempts`/);
    expect(() => resolveRetryOptions({ baseDelayMs: -1 })).toThrow(RangeError);
    expect(() => resolveRetryOptions({ random: 'x' as never })).toThrow(/`retry.random`/);
    expect(() => resolveRetryOptions({ typo: 1 } as never)).toThrow(/retry.typo/);
  });
});

describe('engine with retries', () => {
  it('retries a refused connection once by default and caches the success', async () => {
    const engine = new OptimizationEngine({ retry: { random: () => 0 } });
    let runs = 0;
    const exec = async () => (++runs === 1 ? Promise.reject(refused()) : 'answer');
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('answer');
    expect(await engine.optimizeAiCall('p', 'm', exec)).toBe('answer');
    expect(runs).toBe(2);
    await engine.close();
  });

  it('one call after exhausted retries is one failure for the circuit', async () => {
    const engine = new OptimizationEngine({ retry: { attempts: 3, random: () => 0 }, breaker: { failureThreshold: 2 } });
    let runs = 0;
    await engine.optimizeAiCall('p', 'm', () => (runs++, Promise.reject(refused()))).catch(() => undefined);
    expect(runs).toBe(3);
    expect(engine.getCircuitStates()[0]).toMatchObject({ state: 'closed', consecutive_failures: 1 });
    await engine.close();
  });
});

describe('retry backoff: the process stays alive while a call waits', () => {
  it('answers a retried call in a process that has nothing else to do', async () => {
    // Only the 300 ms backoff timer is left between the first (refused) attempt and the second.
    const child = await runNode(`
      import { OptimizationEngine } from './src/index.ts';
      const engine = new OptimizationEngine({ retry: { baseDelayMs: 300, random: () => 0.999 } });
      let runs = 0;
      const exec = async () => {
        if (++runs === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return 'answer';
      };
      console.log(await engine.optimizeAiCall('p', 'm', exec), runs);
    `);
    expect(child).toMatchObject({ code: 0, stdout: 'answer 2\n', stderr: '' });
  });
});
