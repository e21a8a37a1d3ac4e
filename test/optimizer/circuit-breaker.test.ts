import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine, isOptimizerError } from '../../src/index.js';
import { CircuitBreaker, CircuitBreakers, resolveBreakerOptions } from '../../src/optimizer/circuit-breaker.js';

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const boom = () => Promise.reject(new Error('model down'));
const ok = () => Promise.resolve('ok');
const live = new AbortController().signal;

function breaker(clock = manualClock(), options = {}) {
  const b = new CircuitBreaker(resolveBreakerOptions({ failureThreshold: 3, resetTimeoutMs: 1000, probeTimeoutMs: 500, ...options })!, clock, 'm');
  return { b, clock };
}

async function failTimes(b: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) await b.run(boom, live).catch(() => undefined);
}

describe('CircuitBreaker', () => {
  it('opens after the configured number of consecutive failures and fails fast with ERR_CIRCUIT_OPEN', async () => {
    const { b } = breaker();
    await failTimes(b, 2);
    expect(b.state).toBe('closed');
    await failTimes(b, 1);
    expect(b.state).toBe('open');
    let ran = false;
    const error = await b.run(() => ((ran = true), ok()), live).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(isOptimizerError(error) && error.code).toBe('ERR_CIRCUIT_OPEN');
    expect((error as Error).message).toContain('"m"');
  });

  it('a clock set back while open or probing does not stretch the reset or probe timeout by the jump', async () => {
    let now = 1_000_000_000;
    const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
    const { b } = breaker(clock);
    await failTimes(b, 3);
    now -= 86_400_000; // a day back
    expect(await b.run(ok, live).catch((e: unknown) => (e as { code: string }).code)).toBe('ERR_CIRCUIT_OPEN');
    now += 1000;
    let release!: (v: string) => void;
    const probe = b.run(() => new Promise<string>((r) => (release = r)), live);
    expect(b.state).toBe('half-open');
    now -= 86_400_000;
    expect(b.state).toBe('half-open');
    now += 500; // the probe's own deadline, counted from when the jump was seen
    expect(b.state).toBe('open');
    release('late');
    await probe;
  });

  it('a success resets the count of consecutive failures', async () => {
    const { b } = breaker();
    await failTimes(b, 2);
    await b.run(ok, live);
    await failTimes(b, 2);
    expect(b.state).toBe('closed');
    expect(b.failures).toBe(2);
  });

  it('after the reset timeout lets exactly one probe through; others fail fast while it runs', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 3);
    clock.advance(999);
    expect(await b.run(ok, live).catch((e: unknown) => (e as { code: string }).code)).toBe('ERR_CIRCUIT_OPEN');
    clock.advance(1);
    let release!: (v: string) => void;
    const probe = b.run(() => new Promise<string>((r) => (release = r)), live);
    expect(b.state).toBe('half-open');
    expect(await b.run(ok, live).catch((e: unknown) => (e as { code: string }).code)).toBe('ERR_CIRCUIT_OPEN');
    release('fine');
    expect(await probe).toBe('fine');
    expect(b.state).toBe('closed');
    expect(await b.run(ok, live)).toBe('ok');
  });

  it('a failed probe opens the circuit again for a full reset timeout', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 3);
    clock.advance(1000);
    await failTimes(b, 1);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(clock.now());
    clock.advance(999);
    expect(await b.run(ok, live).catch((e: unknown) => (e as { code: string }).code)).toBe('ERR_CIRCUIT_OPEN');
    clock.advance(1);
    expect(await b.run(ok, live)).toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('a hung probe counts as failed at its own deadline, so the circuit is never stuck half-open', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 3);
    clock.advance(1000);
    let release!: (v: string) => void;
    const hung = b.run(() => new Promise<string>((r) => (release = r)), live);
    clock.advance(499);
    expect(b.state).toBe('half-open');
    clock.advance(1);
    expect(b.state).toBe('open');
    // The deadline re-armed the reset timeout from the moment the probe was declared failed.
    clock.advance(1000);
    expect(await b.run(ok, live)).toBe('ok');
    expect(b.state).toBe('closed');
    // The late answer of the hung probe changes nothing, but its caller still gets it.
    release('late');
    expect(await hung).toBe('late');
    expect(b.state).toBe('closed');
  });

  it('caller aborts are not failures, and an aborted probe gives its slot back at once', async () => {
    const { b, clock } = breaker();
    const aborted = AbortSignal.abort();
    for (let i = 0; i < 10; i++) await b.run(() => Promise.reject(new DOMException('gone', 'AbortError')), aborted).catch(() => undefined);
    expect(b.state).toBe('closed');
    expect(b.failures).toBe(0);
    await failTimes(b, 3);
    clock.advance(1000);
    await b.run(() => Promise.reject(new Error('x')), aborted).catch(() => undefined);
    expect(b.state).toBe('open');
    expect(await b.run(ok, live)).toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('isFailure decides which errors count', async () => {
    const { b } = breaker(manualClock(), { isFailure: (e: unknown) => (e as Error).message !== 'bad request' });
    for (let i = 0; i < 5; i++) await b.run(() => Promise.reject(new Error('bad request')), live).catch(() => undefined);
    expect(b.state).toBe('closed');
  });

  it('late failures of calls admitted before the circuit opened do not re-arm it or count after a probe closed it', async () => {
    const { b, clock } = breaker();
    const rejects: Array<(e: Error) => void> = [];
    const slow = Array.from({ length: 5 }, () => b.run(() => new Promise<string>((_, reject) => rejects.push(reject)), live).catch(() => undefined));
    await failTimes(b, 3);
    expect(b.state).toBe('open');
    clock.advance(1000);
    await b.run(ok, live);
    expect(b.state).toBe('closed');
    for (const reject of rejects) reject(new Error('late'));
    await Promise.all(slow);
    expect(b.state).toBe('closed');
    expect(b.failures).toBe(0);
  });

  it('close() and open() force the state (used by the health probe)', () => {
    const { b, clock } = breaker();
    b.open();
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(clock.now());
    b.close();
    expect(b.state).toBe('closed');
    expect(b.openedAt).toBeUndefined();
  });

  it('model-based: never more than one probe at a time, never half-open past the probe deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(
          fc.record({ kind: fc.constant('call' as const), outcome: fc.constantFrom('ok', 'fail', 'abort', 'hang') }),
          fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
          fc.record({ kind: fc.constant('settle' as const), outcome: fc.constantFrom('ok', 'fail') }),
        ), { maxLength: 60 }),
        async (commands) => {
          const clock = manualClock();
          const { b } = breaker(clock);
          const pending: Array<{ resolve: (v: string) => void; reject: (e: Error) => void; done: Promise<unknown> }> = [];
          let probeStartedAt = -1;
          for (const c of commands) {
            if (c.kind === 'advance') clock.advance(c.ms);
            else if (c.kind === 'settle') {
              const p = pending.shift();
              if (p !== undefined) {
                if (c.outcome === 'ok') p.resolve('v'); else p.reject(new Error('f'));
                await p.done;
              }
            } else {
              const before = b.state;
              const signal = c.outcome === 'abort' ? AbortSignal.abort() : live;
              let started = false;
              let handle!: { resolve: (v: string) => void; reject: (e: Error) => void };
              const done = b.run(() => {
                started = true;
                if (c.outcome === 'hang') return new Promise<string>((resolve, reject) => (handle = { resolve, reject }));
                return c.outcome === 'ok' ? ok() : boom();
              }, signal).catch(() => undefined);
              if (before === 'half-open') expect(started).toBe(false);
              if (before === 'open' && started) probeStartedAt = clock.now();
              if (c.outcome === 'hang' && started) pending.push({ ...handle, done });
              else await done;
            }
            if (b.state === 'half-open') expect(clock.now() - probeStartedAt).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CircuitBreakers (one per model)', () => {
  it('a failing model does not stop calls to another', async () => {
    const set = new CircuitBreakers(resolveBreakerOptions({ failureThreshold: 1 })!, manualClock());
    await set.for('a').run(boom, live).catch(() => undefined);
    expect(set.for('a').state).toBe('open');
    expect(await set.for('b').run(ok, live)).toBe('ok');
    expect(set.statuses(false).map((s) => s.model)).toEqual(['a']);
    expect(set.closeAll()).toEqual(['a']);
    expect(set.statuses(false)).toEqual([]);
  });

  it('keeps 256 circuits, recycling the least recently used healthy one: models are never pooled', () => {
    const set = new CircuitBreakers(resolveBreakerOptions({})!, manualClock());
    for (let i = 0; i < 300; i++) set.for(`m${i}`);
    expect(set.statuses().length).toBe(256);
    expect(set.statuses().map((s) => s.model)).toEqual(Array.from({ length: 256 }, (_, i) => `m${i + 44}`));
    expect(set.for('m299')).not.toBe(set.for('m298'));
  });

  it('past 300 models, one failing model opens its own circuit only, and junk names do not evict it', async () => {
    const set = new CircuitBreakers(resolveBreakerOptions({ failureThreshold: 2 })!, manualClock());
    for (let i = 0; i < 300; i++) await set.for(`model-${i}`).run(ok, live);
    for (let i = 0; i < 2; i++) await set.for('model-280').run(boom, live).catch(() => undefined);
    expect(set.for('model-280').state).toBe('open');
    expect(await set.for('model-290').run(ok, live)).toBe('ok');
    for (let i = 0; i < 10_000; i++) await set.for(`junk-${i}`).run(ok, live);
    expect(set.for('model-280').state).toBe('open');
    expect(set.statuses(false).map((s) => s.model)).toEqual(['model-280']);
    expect(set.statuses().length).toBe(256);
  });

  it('serves a new model with an unkept circuit when every kept circuit is failing or open', async () => {
    const set = new CircuitBreakers(resolveBreakerOptions({ failureThreshold: 1 })!, manualClock());
    for (let i = 0; i < 256; i++) await set.for(`down-${i}`).run(boom, live).catch(() => undefined);
    expect(set.statuses(false).length).toBe(256);
    for (let i = 0; i < 3; i++) await set.for('fresh').run(boom, live).catch(() => undefined);
    expect(await set.for('fresh').run(ok, live)).toBe('ok');
    expect(set.statuses().length).toBe(256);
  });
});

describe('breaker options', () => {
  it('rejects bad values naming the option', () => {
    expect(() => resolveBreakerOptions({ failureThreshold: 0 })).toThrow(/`breaker.failureThreshold`/);
    expect(() => resolveBreakerOptions({ resetTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => resolveBreakerOptions({ isFailure: 3 as never })).toThrow(/`breaker.isFailure`/);
    expect(() => resolveBreakerOptions({ nope: 1 } as never)).toThrow(/breaker.nope/);
    expect(resolveBreakerOptions(false)).toBeUndefined();
  });
});

describe('engine with a breaker', () => {
  function engineWith(clock: ReturnType<typeof manualClock>) {
    return new OptimizationEngine({ clock, breaker: { failureThreshold: 2, resetTimeoutMs: 1000 }, retry: false, cache: { ttlMs: 100 } });
  }

  it('fails fast with ERR_CIRCUIT_OPEN without running exec once the circuit is open', async () => {
    const clock = manualClock();
    const engine = engineWith(clock);
    let runs = 0;
    const failing = async () => { runs++; throw new Error('down'); };
    for (let i = 0; i < 2; i++) await engine.optimizeAiCall(`p${i}`, 'm', failing).catch(() => undefined);
    const error = await engine.optimizeAiCall('p9', 'm', failing).catch((e: unknown) => e);
    expect(runs).toBe(2);
    expect(isOptimizerError(error) && error.code).toBe('ERR_CIRCUIT_OPEN');
    expect(engine.getCircuitStates()).toEqual([{ model: 'm', state: 'open', consecutive_failures: 2, opened_at: clock.now() }]);
    expect((await engine.health()).status).toBe('degraded');
    await engine.close();
  });

  it('serves an expired entry while the circuit is open when the call allows staleIfError', async () => {
    const clock = manualClock();
    const engine = engineWith(clock);
    expect(await engine.optimizeAiCall('q', 'm', () => 'cached answer')).toBe('cached answer');
    clock.advance(200);
    for (let i = 0; i < 2; i++) await engine.optimizeAiCall(`p${i}`, 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    const status: Record<string, unknown> = {};
    let ran = false;
    const value = await engine.optimizeAiCall('q', 'm', () => ((ran = true), 'fresh'), { staleIfError: true, status });
    expect(value).toBe('cached answer');
    expect(ran).toBe(false);
    expect(status.stale).toBe(true);
    await expect(engine.optimizeAiCall('q', 'm', () => 'fresh')).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    await engine.close();
  });

  it('breaker: false never fails fast', async () => {
    const engine = new OptimizationEngine({ breaker: false, retry: false });
    for (let i = 0; i < 20; i++) await engine.optimizeAiCall(`p${i}`, 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(await engine.optimizeAiCall('x', 'm', () => 'ok')).toBe('ok');
    expect(engine.getCircuitStates()).toEqual([]);
    await engine.close();
  });
});

describe('default failure rule', () => {
  it('does not open the circuit on client errors (HTTP 4xx), only on other failures', async () => {
    const { OptimizationEngine } = await import('../../src/index.js');
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 2 } });
    const badRequest = Object.assign(new Error('invalid format'), { status_code: 400 });
    for (let i = 0; i < 5; i++) await expect(engine.optimizeAiCall(`bad${i}`, 'm', () => Promise.reject(badRequest))).rejects.toBe(badRequest);
    expect(await engine.optimizeAiCall('good', 'm', () => 'ok')).toBe('ok');
    const down = new Error('model crashed');
    for (let i = 0; i < 2; i++) await expect(engine.optimizeAiCall(`down${i}`, 'm', () => Promise.reject(down))).rejects.toBe(down);
    await expect(engine.optimizeAiCall('after', 'm', () => 'ok')).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
  });
});
