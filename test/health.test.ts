import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../src/index.js';
import { HealthRegistry } from '../src/health.js';
import { runNode } from './node-child.js';

function fakeTimers() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    pending,
    setTimeout: (callback: () => void) => (pending.set(++next, callback), next),
    clearTimeout: (handle: unknown) => void pending.delete(handle as number),
    fireAll: () => [...pending.values()].forEach((f) => f()),
  };
}

describe('engine.health()', () => {
  it('is ok with nothing wrong, and takes the worst status of its sources with their reasons', async () => {
    const engine = new OptimizationEngine();
    expect(await engine.health()).toEqual({ status: 'ok', reasons: [], checks: { model: { status: 'ok' } } });
    const removeStore = engine.addHealthSource('store', () => ({ status: 'degraded', reason: 'store unreachable' }));
    engine.addHealthSource('disk', async () => ({ status: 'ok' }));
    expect(await engine.health()).toMatchObject({ status: 'degraded', reasons: ['store: store unreachable'] });
    engine.addHealthSource('gpu', () => ({ status: 'down', reason: 'x'.repeat(500) }));
    const report = await engine.health();
    expect(report.status).toBe('down');
    expect(report.checks.gpu?.reason).toHaveLength(200);
    removeStore();
    expect(Object.keys((await engine.health()).checks)).toEqual(['model', 'disk', 'gpu']);
    await engine.close();
    expect(await engine.health()).toMatchObject({ status: 'down', reasons: ['engine: closed'] });
  });

  it('counts a throwing, rejecting or malformed source as degraded, never rejecting', async () => {
    const engine = new OptimizationEngine();
    engine.addHealthSource('throws', () => { throw new Error('secret connection string'); });
    engine.addHealthSource('rejects', () => Promise.reject(new Error('nope')));
    engine.addHealthSource('malformed', () => ({ status: 'fine' }) as never);
    const report = await engine.health();
    expect(report.status).toBe('degraded');
    expect(report.reasons).toEqual([
      'throws: the health check failed', 'rejects: the health check failed', 'malformed: the health check gave no valid status',
    ]);
    expect(JSON.stringify(report)).not.toContain('secret');
    await engine.close();
  });

  it('gives a source that does not answer in time up as degraded', async () => {
    const registry = new HealthRegistry();
    let signal: AbortSignal | undefined;
    registry.add('slow', (s) => ((signal = s), new Promise(() => undefined)));
    const timers = fakeTimers();
    const pending = registry.check(250, timers);
    timers.fireAll();
    expect(await pending).toEqual({ status: 'degraded', reasons: ['slow: no answer within 250 ms'], checks: { slow: { status: 'degraded', reason: 'no answer within 250 ms' } } });
    expect(signal?.aborted).toBe(true);
    expect(timers.pending.size).toBe(0);
  });

  it('rejects a bad timeoutMs instead of throwing', async () => {
    const engine = new OptimizationEngine();
    await expect(engine.health({ timeoutMs: -1 })).rejects.toThrow(RangeError);
    await engine.close();
  });

  it('keeps network addresses out of every reason, whatever the source puts in it', async () => {
    const engine = new OptimizationEngine();
    const addresses = ['10.0.0.5:6379', 'redis://user:secret@cache.internal:6379/0', '[::1]:6379', 'fe80::1ff:fe23:4567', 'localhost:11434', 'db.example.com:5432', '192.168.1.20'];
    engine.addHealthSource('upstream', () => ({ status: 'degraded', reason: `failed: ${addresses.join(', ')} (model llama3.1:8b)` }));
    const report = await engine.health();
    for (const address of addresses) expect(report.reasons[0]).not.toContain(address);
    expect(report.reasons[0]).toBe('upstream: failed: <address>, <address>, <address>, <address>, <address>, <address>, <address> (model llama3.1:8b)');
  });

  it('rejects bad sources', () => {
    const registry = new HealthRegistry();
    expect(() => registry.add('', () => ({ status: 'ok' }))).toThrow(TypeError);
    expect(() => registry.add('x', 'nope' as never)).toThrow(/must be a function/);
  });
});

describe('engine.health(): deadlines keep the process alive', () => {
  it('answers degraded for a source that never settles, in a process that has nothing else to do', async () => {
    const child = await runNode(`
      import { OptimizationEngine } from './src/index.ts';
      const engine = new OptimizationEngine();
      engine.addHealthSource('stuck', () => new Promise(() => {}));
      const report = await engine.health({ timeoutMs: 200 });
      console.log(report.status, report.reasons.join(';'));
    `);
    expect(child).toMatchObject({ code: 0, stdout: 'degraded stuck: no answer within 200 ms\n', stderr: '' });
  });
});

describe('health sources with names like object keys', () => {
  it.each(['__proto__', 'constructor', 'toString'])('counts a source named %s that is down', async (name) => {
    const engine = new OptimizationEngine();
    engine.addHealthSource(name, () => ({ status: 'down', reason: 'gone' }));
    const report = await engine.health();
    expect(report.status).toBe('down');
    expect(Object.hasOwn(report.checks, name)).toBe(true);
    expect(report.reasons).toEqual([`${name}: gone`]);
    expect(JSON.parse(JSON.stringify(report)).checks[name]).toEqual({ status: 'down', reason: 'gone' });
    await engine.close();
  });
});
