import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, type CallStatus, type ExecContext } from '../../src/index.js';
import { fakeClock } from '../helpers.js';

const SMALL = 'llama3.1:8b';
const LARGE = 'llama3.1:70b';

/** An exec that answers `<model>:<prompt>`, reports the given log-probabilities and records which tiers ran. */
function tiers(options: { logprobs?: (model: string, prompt: string) => number[]; fail?: (model: string) => Error | undefined } = {}) {
  const ran: string[] = [];
  const exec = (prompt: string, model: string, context: ExecContext): string => {
    ran.push(model);
    const failure = options.fail?.(model);
    if (failure !== undefined) throw failure;
    if (context.wantsLogprobs && options.logprobs) context.reportLogprobs(options.logprobs(model, prompt));
    context.reportUsage({ promptTokens: 10, outputTokens: 5 });
    return `${model}:${prompt}`;
  };
  return { ran, exec };
}

function rulesEngine(extra: Record<string, unknown> = {}) {
  return new OptimizationEngine({
    clock: fakeClock(), retry: false,
    routes: { assistant: { tiers: [SMALL, LARGE], strategy: 'rules', threshold: 0.3, ...extra } },
  });
}

const HARD = `Prove step by step that the integral of x^2 from 0 to 3 equals 9:
1. First state the antiderivative.
2. Then evaluate it at 3 and 0.
3. Finally subtract. \`\`\`python
def f(x): return x ** 2
\`\`\``;

describe('routing by rules: a complexity score picks the tier', () => {
  it('sends a short question to the small tier and a multi-step math and code task to the large one, scores in status', async () => {
    const engine = rulesEngine();
    const { ran, exec } = tiers();
    const easy: CallStatus = {};
    const hard: CallStatus = {};
    expect(await engine.optimizeAiCall('What is the capital of France?', 'assistant', exec, { status: easy })).toBe(`${SMALL}:What is the capital of France?`);
    expect(await engine.optimizeAiCall(HARD, 'assistant', exec, { status: hard })).toBe(`${LARGE}:${HARD}`);
    expect(ran).toEqual([SMALL, LARGE]);
    expect(easy.route).toMatchObject({ route: 'assistant', strategy: 'rules', tier: SMALL, reason: 'score', threshold: 0.3, escalated: false });
    expect(easy.route?.score).toBeLessThanOrEqual(0.3);
    expect(hard.route?.score).toBeGreaterThan(0.3);
    expect(hard.route?.features).toMatchObject({ math: expect.any(Number), steps: 1, code: expect.any(Number) });
  });

  it('keys the logical request: a repeat is a hit whatever tier answered, and never calls exec again', async () => {
    const engine = rulesEngine();
    const { ran, exec } = tiers();
    await engine.optimizeAiCall(HARD, 'assistant', exec);
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall(HARD, 'assistant', exec, { status })).toBe(`${LARGE}:${HARD}`);
    expect(status.outcome).toBe('hit');
    expect(ran).toEqual([LARGE]);
    // The tier's own name is a different request (not routed, not shared with the logical one).
    await engine.optimizeAiCall(HARD, LARGE, exec);
    expect(ran).toEqual([LARGE, LARGE]);
  });

  it('takes the weights and the threshold from the route', async () => {
    const onlyTools = rulesEngine({ weights: { length: 0, depth: 0, code: 0, math: 0, steps: 0, output: 0, tools: 1 }, threshold: 0.2 });
    const { ran, exec } = tiers();
    await onlyTools.optimizeAiCall(HARD, 'assistant', exec);
    await onlyTools.optimizeAiCall('hi', 'assistant', exec, { params: { tools: [{ name: 'a' }, { name: 'b' }] } });
    expect(ran).toEqual([SMALL, LARGE]);
  });

  it('degrades to the small tier when the large one is down (its circuit open), instead of failing', async () => {
    const engine = new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: { failureThreshold: 1 },
      routes: { assistant: { tiers: [SMALL, LARGE], threshold: 0.3 } },
    });
    const down = new Error('70b out of memory');
    const { ran, exec } = tiers({ fail: (model) => (model === LARGE ? down : undefined) });
    const first: CallStatus = {};
    // The large tier fails: the call falls back to the small one at once.
    expect(await engine.optimizeAiCall(HARD, 'assistant', exec, { status: first })).toBe(`${SMALL}:${HARD}`);
    expect(first.route).toMatchObject({ tier: SMALL, degraded: true });
    expect(engine.getCircuitStates()).toContainEqual(expect.objectContaining({ model: LARGE, state: 'open' }));
    // Now the circuit is open: the large tier is not even tried.
    const second: CallStatus = {};
    expect(await engine.optimizeAiCall(`${HARD} again`, 'assistant', exec, { status: second })).toBe(`${SMALL}:${HARD} again`);
    expect(ran).toEqual([LARGE, SMALL, SMALL]);
    expect(second.route).toMatchObject({ tier: SMALL, degraded: true });
    expect(engine.getRoutingReport()['assistant']).toMatchObject({ degraded: 2, tiers: { [LARGE]: { calls: 1, errors: 1 }, [SMALL]: { calls: 2, errors: 0 } } });
  });

  it('degrades to the large tier when the small one is down, and fails when both are', async () => {
    const engine = new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: { failureThreshold: 1 },
      routes: { assistant: { tiers: [SMALL, LARGE] } },
    });
    const smallDown = new Error('8b crashed');
    let largeDown = false;
    const { exec } = tiers({ fail: (model) => (model === SMALL ? smallDown : largeDown ? new Error('70b crashed') : undefined) });
    expect(await engine.optimizeAiCall('hi', 'assistant', exec)).toBe(`${LARGE}:hi`);
    largeDown = true;
    // The small circuit is open: the large tier is asked, and its own error is the call's.
    await expect(engine.optimizeAiCall('hello', 'assistant', exec)).rejects.toThrow('70b crashed');
    // Both circuits open: the chosen tier's circuit fails the call fast.
    await expect(engine.optimizeAiCall('hey', 'assistant', exec)).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
  });

  it('does not fall back on a client error (4xx): the other tier would refuse it too', async () => {
    const engine = rulesEngine();
    const bad = Object.assign(new Error('bad request'), { status: 400 });
    const { ran, exec } = tiers({ fail: () => bad });
    await expect(engine.optimizeAiCall('hi', 'assistant', exec)).rejects.toBe(bad);
    expect(ran).toEqual([SMALL]);
  });
});

describe('routing by cascade: the small tier first, the large one when its answer is not good enough', () => {
  function cascadeEngine(extra: Record<string, unknown> = {}) {
    return new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: { failureThreshold: 1 },
      routes: { assistant: { tiers: [SMALL, LARGE], strategy: 'cascade', minMeanLogprob: -0.5, ...extra } },
    });
  }

  it('keeps a confident small answer and escalates a low-confidence one; the escalated answer is what is cached', async () => {
    const engine = cascadeEngine();
    const { ran, exec } = tiers({ logprobs: (_m, prompt) => (prompt.startsWith('hard') ? [-0.1, -2, -1.5] : [-0.1, -0.2]) });
    const events: unknown[] = [];
    engine.on('route-escalate', (e) => events.push(e));
    const easy: CallStatus = {};
    const hard: CallStatus = {};
    expect(await engine.optimizeAiCall('easy', 'assistant', exec, { status: easy })).toBe(`${SMALL}:easy`);
    expect(await engine.optimizeAiCall('hard one', 'assistant', exec, { status: hard })).toBe(`${LARGE}:hard one`);
    expect(ran).toEqual([SMALL, SMALL, LARGE]);
    expect(easy.route).toMatchObject({ tier: SMALL, reason: 'confident', escalated: false, confidence: { tokens: 2 } });
    expect(easy.route?.confidence?.meanLogprob).toBeCloseTo(-0.15);
    expect(hard.route).toMatchObject({ tier: LARGE, reason: 'low-confidence', escalated: true, confidence: { minLogprob: -2 } });
    expect(events).toEqual([{ route: 'assistant', from: SMALL, to: LARGE, reason: 'low-confidence' }]);
    expect(await engine.optimizeAiCall('hard one', 'assistant', exec)).toBe(`${LARGE}:hard one`);
    expect(ran).toHaveLength(3);
    const report = engine.getOptimizationReport().routing?.['assistant'];
    expect(report).toMatchObject({ calls: 2, large_share_percent: 50, escalations: { 'low-confidence': 1 }, tiers: { [LARGE]: { escalations: 1, prompt_tokens: 10 } } });
  });

  it('escalates when any token is below `minTokenLogprob`', async () => {
    const engine = cascadeEngine({ minMeanLogprob: -3, minTokenLogprob: -4 });
    const { ran, exec } = tiers({ logprobs: () => [-0.1, -0.1, -5] });
    expect(await engine.optimizeAiCall('p', 'assistant', exec)).toBe(`${LARGE}:p`);
    expect(ran).toEqual([SMALL, LARGE]);
  });

  it('escalates on a check that returns false, rejects or throws, and never fails the call for it', async () => {
    const verdicts: (() => boolean | Promise<boolean>)[] = [
      () => true, () => false, () => Promise.reject(new Error('check broke')), () => { throw new Error('check threw'); },
    ];
    let n = 0;
    const engine = cascadeEngine({ check: () => (verdicts[n++] as () => boolean)() });
    const { ran, exec } = tiers();
    const reasons: unknown[] = [];
    for (const prompt of ['a', 'b', 'c', 'd']) {
      const status: CallStatus = {};
      await engine.optimizeAiCall(prompt, 'assistant', exec, { status });
      reasons.push([status.route?.tier, status.route?.reason]);
    }
    expect(reasons).toEqual([[SMALL, 'confident'], [LARGE, 'check'], [LARGE, 'check'], [LARGE, 'check']]);
    expect(ran).toEqual([SMALL, SMALL, LARGE, SMALL, LARGE, SMALL, LARGE]);
  });

  it('escalates when the small tier errors or truncates, never caching the truncated answer', async () => {
    const engine = cascadeEngine();
    const calls: string[] = [];
    const exec = (prompt: string, model: string): { text: string; complete: boolean } => {
      calls.push(model);
      if (model === SMALL && prompt === 'err') throw new Error('8b failed');
      return { text: `${model}:${prompt}`, complete: !(model === SMALL && prompt === 'long') };
    };
    const isComplete = (v: unknown): boolean => (v as { complete: boolean }).complete;
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('long', 'assistant', exec, { isComplete, status })).toEqual({ text: `${LARGE}:long`, complete: true });
    expect(status.route?.reason).toBe('truncated');
    expect(status.stored).toBe(true);
    const failed: CallStatus = {};
    expect((await engine.optimizeAiCall('err', 'assistant', exec, { isComplete, status: failed })).text).toBe(`${LARGE}:err`);
    expect(failed.route?.reason).toBe('error');
  });

  it('keeps the small answer, uncached, when the large tier is down; the repeat asks again', async () => {
    const engine = cascadeEngine();
    const { ran, exec } = tiers({ logprobs: () => [-3], fail: (model) => (model === LARGE ? new Error('70b down') : undefined) });
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('p', 'assistant', exec, { status })).toBe(`${SMALL}:p`);
    expect(status.route).toMatchObject({ tier: SMALL, reason: 'low-confidence', degraded: true });
    expect(status.stored).toBeUndefined();
    expect(await engine.optimizeAiCall('p', 'assistant', exec)).toBe(`${SMALL}:p`);
    // The second call did not try the large tier: its circuit is open.
    expect(ran).toEqual([SMALL, LARGE, SMALL]);
  });

  it('goes straight to the large tier when the small one is down', async () => {
    const engine = cascadeEngine();
    const { ran, exec } = tiers({ fail: (model) => (model === SMALL ? new Error('8b down') : undefined) });
    await engine.optimizeAiCall('a', 'assistant', exec);
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall('b', 'assistant', exec, { status })).toBe(`${LARGE}:b`);
    expect(status.route).toMatchObject({ tier: LARGE, degraded: true, escalated: false });
    expect(ran).toEqual([SMALL, LARGE, LARGE]);
  });

  it('emits route-decide with the decision, and the caller\'s own abort is never escalated', async () => {
    const engine = cascadeEngine();
    const decided: unknown[] = [];
    engine.on('route-decide', (d) => decided.push(d.tier));
    const controller = new AbortController();
    const exec = (_p: string, model: string, { signal }: ExecContext): Promise<string> => new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason));
      if (model === SMALL) controller.abort(new Error('caller left'));
    });
    await expect(engine.optimizeAiCall('p', 'assistant', exec, { signal: controller.signal })).rejects.toThrow('caller left');
    expect(decided).toEqual([]);
  });
});

describe('routing calibrated to a target share of large-tier calls', () => {
  it('rules: about the target share of calls go large, whatever the configured threshold', async () => {
    const engine = rulesEngine({ threshold: 0.99, targetLargeShare: 0.25 });
    const { ran, exec } = tiers();
    const rnd = mulberry(7);
    for (let i = 0; i < 2000; i++) await engine.optimizeAiCall('word '.repeat(1 + Math.floor(rnd() * 400)) + i, 'assistant', exec, { cache: 'bypass' });
    const late = ran.slice(1000).filter((m) => m === LARGE).length / 1000;
    expect(late).toBeGreaterThan(0.21);
    expect(late).toBeLessThan(0.29);
  });

  it('cascade: escalations from confidence, errors and checks together stay near the target', async () => {
    const engine = new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: false,
      routes: { assistant: { tiers: [SMALL, LARGE], strategy: 'cascade', targetLargeShare: 0.2 } },
    });
    const rnd = mulberry(11);
    const { ran, exec } = tiers({
      logprobs: () => [-rnd() * 2, -rnd()],
      fail: (model) => (model === SMALL && rnd() < 0.05 ? new Error('8b hiccup') : undefined),
    });
    for (let i = 0; i < 3000; i++) await engine.optimizeAiCall(`q${i}`, 'assistant', exec);
    const report = engine.getRoutingReport()['assistant'];
    expect(report?.target_large_share_percent).toBe(20);
    const lastLarge = ran.slice(-1500).filter((m) => m === LARGE).length;
    const lastCalls = ran.slice(-1500).filter((m) => m === SMALL).length;
    expect(lastLarge / lastCalls).toBeGreaterThan(0.17);
    expect(lastLarge / lastCalls).toBeLessThan(0.23);
  });
});

describe('routing calibration across a restart', () => {
  it('restores the calibrated threshold from the learned-state file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmoe-routing-'));
    const stateFile = join(dir, 'state.json');
    const timers = { setTimeout: () => 0, clearTimeout: () => undefined };
    const routes = { assistant: { tiers: [SMALL, LARGE] as [string, string], targetLargeShare: 0.3 } };
    const first = new OptimizationEngine({ retry: false, routes });
    await first.startAutonomous({ stateFile, timers });
    const { exec } = tiers();
    for (let i = 0; i < 300; i++) await first.optimizeAiCall('word '.repeat(1 + (i % 97) * 3), 'assistant', exec, { cache: 'bypass' });
    const threshold = first.getRoutingReport()['assistant']?.threshold;
    await first.close();
    const second = new OptimizationEngine({ retry: false, routes });
    const status = await second.startAutonomous({ stateFile, timers });
    expect(status.last_actions).toContain('learn: restored the calibration of 1 route(s)');
    expect(second.getRoutingReport()['assistant']?.threshold).toBeCloseTo(threshold as number, 2);
    await second.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('routes option', () => {
  it('rejects bad routes with an error naming the option', () => {
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['x'] as unknown as [string, string] } } })).toThrow(/`routes\.a\.tiers` must be two different model names/);
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['x', 'y'], targetLargeShare: 2 } } })).toThrow(/`routes\.a\.targetLargeShare` must be a finite number in \[0, 1\]/);
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['x', 'y'], weights: { lenght: 1 } as never } } })).toThrow(/Unknown option `routes\.a\.weights\.lenght`/);
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['x', 'y'], strategy: 'magic' as never } } })).toThrow(/`routes\.a\.strategy`/);
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['x', 'y'], check: 1 as never } } })).toThrow(/`routes\.a\.check` must be a function/);
    expect(() => new OptimizationEngine({ routes: { a: { tiers: ['b', 'y'] }, b: { tiers: ['x', 'z'] } } })).toThrow(/must name models, not other routes/);
  });
});

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('routing: defects found by review', () => {
  function cascadeEngine(extra: Record<string, unknown> = {}) {
    return new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: { failureThreshold: 1 },
      routes: { assistant: { tiers: [SMALL, LARGE], strategy: 'cascade', minMeanLogprob: -0.5, ...extra } },
    });
  }

  it('escalates on a check that never settles, at its deadline, and a later identical call is not stuck behind it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const engine = cascadeEngine({ check: () => new Promise<boolean>(() => undefined) });
      const { ran, exec } = tiers();
      const status: CallStatus = {};
      const first = engine.optimizeAiCall('p', 'assistant', exec, { status });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await first).toBe(`${LARGE}:p`);
      expect(status.route).toMatchObject({ tier: LARGE, reason: 'check' });
      expect(await engine.optimizeAiCall('p', 'assistant', exec)).toBe(`${LARGE}:p`);
      expect(ran).toEqual([SMALL, LARGE]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts a token of log-probability -Infinity as the least confident (it was dropped and the answer cached as confident)', async () => {
    const engine = cascadeEngine();
    const { ran, exec } = tiers({ logprobs: () => [Number.NEGATIVE_INFINITY, -0.1] });
    expect(await engine.optimizeAiCall('p', 'assistant', exec)).toBe(`${LARGE}:p`);
    const positive = tiers({ logprobs: () => [1e308, 1e308, -50] });
    expect(await engine.optimizeAiCall('q', 'assistant', positive.exec)).toBe(`${LARGE}:q`);
    expect(ran).toEqual([SMALL, LARGE]);
  });

  it('does not cache a rules route\'s small answer served because the large tier was down', async () => {
    let largeDown = true;
    const engine = new OptimizationEngine({
      clock: fakeClock(), retry: false, breaker: false,
      routes: { assistant: { tiers: [SMALL, LARGE], strategy: 'rules', threshold: 0 } },
    });
    const { exec } = tiers({ fail: (model) => (model === LARGE && largeDown ? new Error('large down') : undefined) });
    const status: CallStatus = {};
    expect(await engine.optimizeAiCall(HARD, 'assistant', exec, { status })).toBe(`${SMALL}:${HARD}`);
    expect(status.route).toMatchObject({ degraded: true });
    expect(status.stored).not.toBe(true);
    largeDown = false;
    expect(await engine.optimizeAiCall(HARD, 'assistant', exec)).toBe(`${LARGE}:${HARD}`);
  });
});
