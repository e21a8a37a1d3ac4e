import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/testing.js';

/** One event-loop turn: lets settled promises run their continuations (no wall-clock wait). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createManualClock', () => {
  it('starts at the given time and only moves when told to', () => {
    const clock = createManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    clock.set(5_000);
    expect(clock.now()).toBe(5_000);
  });

  it('resolves a sleep only once the clock reaches its deadline', async () => {
    const clock = createManualClock();
    let woke = false;
    const slept = clock.sleep(100).then(() => { woke = true; });
    clock.advance(99);
    await flush();
    expect(woke).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1);
    await slept;
    expect(woke).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires timers in deadline order, ties in the order they were started', async () => {
    const clock = createManualClock();
    const order: string[] = [];
    const all = Promise.all([
      clock.sleep(30).then(() => order.push('c@30')),
      clock.sleep(10).then(() => order.push('a@10')),
      clock.sleep(20).then(() => order.push('b1@20')),
      clock.sleep(20).then(() => order.push('b2@20')),
    ]);
    clock.advance(100);
    await all;
    expect(order).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
  });

  it('fires due timers when set forward and none when set back', async () => {
    const clock = createManualClock(100);
    let woke = false;
    const slept = clock.sleep(50).then(() => { woke = true; });
    clock.set(10);
    await flush();
    expect(woke).toBe(false);
    clock.set(200);
    await slept;
    expect(woke).toBe(true);
  });

  it('resolves a zero-length sleep at once', async () => {
    const clock = createManualClock();
    await expect(clock.sleep(0)).resolves.toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a sleep with the signal reason on abort and forgets its timer', async () => {
    const clock = createManualClock();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const slept = clock.sleep(1_000, controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await expect(clock.sleep(10, controller.signal)).rejects.toBe(reason);
  });

  it('fires chains of sleeps started inside the window with advanceAsync', async () => {
    const clock = createManualClock();
    const wakeTimes: number[] = [];
    const chain = (async () => {
      for (let step = 0; step < 3; step++) {
        await clock.sleep(10);
        wakeTimes.push(clock.now());
      }
    })();
    await clock.advanceAsync(35);
    await chain;
    expect(wakeTimes).toEqual([10, 20, 30]);
    expect(clock.now()).toBe(35);
  });

  it('rejects bad arguments with a RangeError naming them', () => {
    expect(() => createManualClock(Number.NaN)).toThrow(/`startMs`.*NaN/);
    const clock = createManualClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(/`ms`.*-1/);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
