import { describe, expect, it } from 'vitest';
import { writeThrough } from '../../src/internal/status-guard.js';
import type { CallStatus } from '../../src/types.js';

describe('writeThrough', () => {
  it('leaves a blank {} as it is: no write to it can fail', () => {
    const status: CallStatus = {};
    expect(writeThrough(status, () => undefined)).toBe(status);
  });

  it.each([
    ['frozen', () => Object.freeze({}) as CallStatus],
    ['prefilled with a read-only field', () => Object.defineProperty({}, 'outcome', { value: 'hit', enumerable: false }) as CallStatus],
    ['a proxy that looks blank and throws on write', () => new Proxy({}, { set: () => { throw new Error('no'); } }) as CallStatus],
    ['a class instance', () => new (class Status {})() as CallStatus],
  ])('guards a status object that is %s: a failed write is reported, never thrown', (_kind, make) => {
    const reported: unknown[] = [];
    const guarded = writeThrough(make(), (error) => reported.push(error));
    expect(() => { guarded.outcome = 'miss'; }).not.toThrow();
    expect(reported.length).toBeLessThanOrEqual(1);
  });
});

describe('a call with a status object whose field is read-only and non-configurable', () => {
  it('still answers (the guard used to break a proxy invariant and throw)', async () => {
    const { OptimizationEngine } = await import('../../src/index.js');
    const engine = new OptimizationEngine();
    const status = Object.defineProperty({}, 'outcome', { value: 'hit', writable: false, configurable: false }) as CallStatus;
    await expect(engine.optimizeAiCall('p', 'm', () => 'v', { status })).resolves.toBe('v');
    await engine.close();
  });
});
