import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { raceSignal, withDeadline } from '../../src/internal/abort.js';
import { deferred } from '../helpers.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

function longLivedSignal(): AbortSignal {
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  return signal;
}

describe('raceSignal', () => {
  it('removes its listener when the promise resolves or rejects', async () => {
    const signal = longLivedSignal();
    await raceSignal(Promise.resolve(1), signal);
    await raceSignal(Promise.reject(new Error('no')), signal).catch(() => undefined);
    expect(listeners(signal)).toBe(0);
  });

  it('rejects with the reason and calls onAbort when the signal aborts first', async () => {
    const controller = new AbortController();
    let left = 0;
    const pending = raceSignal(new Promise(() => {}), controller.signal, () => left++);
    controller.abort(new Error('gone'));
    await expect(pending).rejects.toThrow('gone');
    expect(left).toBe(1);
    expect(listeners(controller.signal)).toBe(0);
  });
});

describe('optimizeAiCall: no listener is left on a long-lived caller signal', () => {
  it('after misses, hits, coalesced and bypass calls, retries, queued calls and errors', async () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const engine = new OptimizationEngine({ maxConcurrency: 1, retry: { random: () => 0 } });
    const signal = longLivedSignal();
    const gate = deferred<string>();
    let runs = 0;
    const slow = () => gate.promise;
    const calls = [
      engine.optimizeAiCall('a', 'm', slow, { signal }),
      engine.optimizeAiCall('a', 'm', slow, { signal }),
      engine.optimizeAiCall('b', 'm', async () => 'queued', { signal }),
      engine.optimizeAiCall('c', 'm', async () => (++runs === 1 ? Promise.reject(refused()) : 'retried'), { signal, cache: 'bypass' }),
      engine.optimizeAiCall('d', 'm', async () => Promise.reject(new Error('model error')), { signal }).catch((e: Error) => e.message),
    ];
    expect(listeners(signal)).toBeGreaterThan(0);
    gate.resolve('slow');
    expect(await Promise.all(calls)).toEqual(['slow', 'slow', 'queued', 'retried', 'model error']);
    expect(await engine.optimizeAiCall('a', 'm', slow, { signal })).toBe('slow');
    expect(listeners(signal)).toBe(0);
    await engine.close();
  });
});

describe('withDeadline', () => {
  it('passes the answer through, rejects with the given error at the deadline, and clears its timer', async () => {
    vi.useFakeTimers();
    try {
      expect(await withDeadline(Promise.resolve('v'), 100, () => new Error('late'))).toBe('v');
      expect(vi.getTimerCount()).toBe(0);
      const late = withDeadline(new Promise(() => undefined), 100, () => new Error('late'));
      const seen = late.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(100);
      expect(await seen).toMatchObject({ message: 'late' });
    } finally {
      vi.useRealTimers();
    }
  });
});
