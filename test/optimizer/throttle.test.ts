import { describe, expect, it } from 'vitest';
import { Throttle } from '../../src/optimizer/throttle.js';
import { deferred, flush } from '../helpers.js';

describe('Throttle', () => {
  it('runs at most `limit` at once, in FIFO order, and starts queued work when the limit rises', async () => {
    const throttle = new Throttle(1);
    const order: number[] = [];
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
    const never = new AbortController().signal;
    const runs = gates.map((g, i) => throttle.run(async () => (order.push(i), g.promise), never));
    await flush();
    expect(order).toEqual([0]);
    expect(throttle.queued).toBe(2);
    throttle.limit = 3;
    await flush();
    expect(order).toEqual([0, 1, 2]);
    gates.forEach((g) => g.resolve());
    await Promise.all(runs);
    expect(throttle.active).toBe(0);
  });

  it('lets a queued caller leave with its signal reason', async () => {
    const throttle = new Throttle(1);
    const gate = deferred<void>();
    const never = new AbortController().signal;
    const first = throttle.run(() => gate.promise, never);
    const controller = new AbortController();
    const second = throttle.run(() => 'never runs', controller.signal);
    controller.abort(new Error('gave up'));
    await expect(second).rejects.toThrow('gave up');
    expect(throttle.queued).toBe(0);
    gate.resolve();
    await first;
    expect(() => (throttle.limit = 0)).toThrow(RangeError);
  });
});
