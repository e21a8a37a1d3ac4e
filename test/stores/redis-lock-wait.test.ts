import { afterEach, describe, expect, it, vi } from 'vitest';
import { pollDelayMs, waitForLockRelease } from '../../src/stores/redis-lock-wait.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A lock whose `isFree` answers are driven by the test. */
function driven(): { isFree: () => Promise<boolean>; answer(free: boolean): void; asked: () => number } {
  const pending: ((free: boolean) => void)[] = [];
  let asked = 0;
  return {
    isFree: () => {
      asked++;
      return new Promise((resolve) => pending.push(resolve));
    },
    answer: (free) => pending.shift()?.(free),
    asked: () => asked,
  };
}

describe('waitForLockRelease', () => {
  it('asks again at a notification without waiting for the next poll', async () => {
    vi.useFakeTimers();
    const lock = driven();
    let wake = (): void => undefined;
    const unlisten = vi.fn();
    const waiting = waitForLockRelease(lock.isFree, { timeoutMs: 60_000 }, (w) => ((wake = w), unlisten));
    lock.answer(false);
    await vi.waitFor(() => expect(lock.asked()).toBe(1));
    await Promise.resolve();
    wake();
    expect(lock.asked()).toBe(2);
    lock.answer(true);
    expect(await waiting).toBe(true);
    expect(unlisten).toHaveBeenCalledTimes(1);
  });

  it('asks once more when notified while a check is in flight', async () => {
    vi.useFakeTimers();
    const lock = driven();
    let wake = (): void => undefined;
    const waiting = waitForLockRelease(lock.isFree, { timeoutMs: 60_000 }, (w) => ((wake = w), () => undefined));
    wake();
    expect(lock.asked()).toBe(1);
    lock.answer(false);
    await vi.waitFor(() => expect(lock.asked()).toBe(2));
    lock.answer(true);
    expect(await waiting).toBe(true);
  });

  it('polls with backoff when no notification comes, and answers false at its timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const isFree = vi.fn(async () => false);
    const waiting = waitForLockRelease(isFree, { timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await waiting).toBe(false);
    expect(isFree.mock.calls.length).toBeGreaterThan(3);
  });

  it('rejects with the error of a failed check, and with the reason of its signal', async () => {
    const error = new Error('redis down');
    await expect(waitForLockRelease(() => Promise.reject(error), { timeoutMs: 1000 })).rejects.toBe(error);
    const reason = new Error('left');
    await expect(waitForLockRelease(async () => false, { timeoutMs: 1000, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const waiting = waitForLockRelease(async () => false, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('spreads polls between 5 and 250 ms with ±25 % jitter', () => {
    expect(pollDelayMs(0, () => 0.5)).toBe(5);
    expect(pollDelayMs(3, () => 0.5)).toBe(40);
    expect(pollDelayMs(20, () => 0.5)).toBe(250);
    expect(pollDelayMs(20, () => 0)).toBe(188);
    expect(pollDelayMs(20, () => 1)).toBe(313);
  });
});
