import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { fakeClock } from '../helpers.js';

/** Timers that never fire on their own: autonomous mode starts and stops without a run. */
const idleTimers = { setTimeout: () => 0, clearTimeout: () => undefined };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmoe-experiments-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const echo = (prompt: string, model: string): string => `${model}:${prompt}`;

describe('engine.experiment(): deterministic assignment', () => {
  it('keeps a scope in one arm, splits scopes by the weights, and says the arm in status', async () => {
    const engine = new OptimizationEngine({ clock: fakeClock() });
    engine.experiment({ name: 'split', variants: { a: {}, b: {} }, split: { a: 3, b: 1 } });
    const arms = new Map<string, Set<string>>();
    for (let i = 0; i < 2000; i++) {
      const scope = `user-${i % 400}`;
      const status: CallStatus = {};
      await engine.optimizeAiCall(`p${i}`, 'm', echo, { scope, status });
      const set = arms.get(scope) ?? new Set<string>();
      set.add(status.experiment?.variant ?? 'none');
      arms.set(scope, set);
    }
    expect([...arms.values()].every((s) => s.size === 1)).toBe(true);
    const inA = [...arms.values()].filter((s) => s.has('a')).length / arms.size;
    expect(inA).toBeGreaterThan(0.68);
    expect(inA).toBeLessThan(0.82);
    // The same assignment in another engine (another process): it depends only on the name and the scope.
    const other = new OptimizationEngine();
    other.experiment({ name: 'split', variants: { a: {}, b: {} }, split: { a: 3, b: 1 } });
    const status: CallStatus = {};
    await other.optimizeAiCall('x', 'm', echo, { scope: 'user-7', status });
    expect(arms.get('user-7')?.has(status.experiment?.variant ?? '')).toBe(true);
  });

  it('assigns by key: the same request always lands in the same arm; a slice leaves the rest alone', async () => {
    const engine = new OptimizationEngine();
    engine.experiment({ name: 'by-key', variants: { a: {}, b: {} }, by: 'key', share: 0.5, models: ['m'] });
    const seen = new Map<string, string>();
    let outside = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200; i++) {
        const status: CallStatus = {};
        await engine.optimizeAiCall(`q${i}`, 'm', echo, { status, cache: 'bypass' });
        const v = status.experiment?.variant ?? 'outside';
        if (round === 0) seen.set(`q${i}`, v);
        else expect(v).toBe(seen.get(`q${i}`));
        if (v === 'outside') outside++;
      }
    }
    expect(outside / 400).toBeGreaterThan(0.4);
    expect(outside / 400).toBeLessThan(0.6);
    const status: CallStatus = {};
    await engine.optimizeAiCall('q1', 'other-model', echo, { status });
    expect(status.experiment).toBeUndefined();
  });
});

describe('engine.experiment(): variants override settings, arms are measured and compared', () => {
  it('measures a no-cache arm\'s lower hit rate, and the always-valid test finds it', async () => {
    const engine = new OptimizationEngine({ clock: fakeClock() });
    const experiment = engine.experiment({ name: 'cache', variants: { cached: {}, uncached: { cache: 'bypass' } } });
    for (let i = 0; i < 4000; i++) await engine.optimizeAiCall(`p${Math.floor(i / 40) % 10}`, 'm', echo, { scope: `u${i % 40}` });
    const { variants, comparisons } = experiment.results();
    expect(variants['cached']?.hit_rate).toBeGreaterThan(0.4);
    expect(variants['uncached']?.hit_rate).toBe(0);
    const hit = comparisons['uncached']?.hitRate;
    expect(hit?.significant).toBe(true);
    expect(hit?.p_value).toBeLessThan(0.05);
    expect(hit?.ci[1]).toBeLessThan(0);
    expect(hit?.ci[0]).toBeLessThan(hit?.difference as number);
    expect(variants['uncached']).toMatchObject({ error_rate: 0, feedback_count: 0 });
    expect(engine.getOptimizationReport().experiments?.['cache']?.calls).toBe(4000);
  });

  it('applies a variant TTL, and a call\'s own explicit option wins over the variant', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock });
    engine.experiment({ name: 'ttl', variants: { a: { ttlMs: 1000 }, b: { ttlMs: 1000 } } });
    let runs = 0;
    const exec = (): string => String(++runs);
    await engine.optimizeAiCall('p', 'm', exec);
    await engine.optimizeAiCall('q', 'm', exec, { ttlMs: 60_000 });
    clock.advance(2000);
    await engine.optimizeAiCall('p', 'm', exec);
    await engine.optimizeAiCall('q', 'm', exec);
    expect(runs).toBe(3);
  });

  it('overrides routing: an arm that always asks the large tier, escalations per arm', async () => {
    const engine = new OptimizationEngine({ routes: { assistant: { tiers: ['8b', '70b'], threshold: 0.9 } } });
    const experiment = engine.experiment({ name: 'tier', variants: { rules: {}, large: { route: { tier: 'large' } } } });
    const byArm: Record<string, Set<string>> = { rules: new Set(), large: new Set() };
    for (let i = 0; i < 100; i++) {
      const status: CallStatus = {};
      const answer = await engine.optimizeAiCall(`p${i}`, 'assistant', echo, { scope: `s${i}`, status });
      byArm[status.experiment?.variant as string]?.add(answer.split(':')[0] as string);
    }
    expect(byArm).toEqual({ rules: new Set(['8b']), large: new Set(['70b']) });
    expect(experiment.results().variants['large']?.escalation_rate).toBe(0);
  });

  it('takes feedback by status or key, and ignores calls outside any experiment', async () => {
    const engine = new OptimizationEngine();
    const experiment = engine.experiment({ name: 'fb', variants: { a: {}, b: {} }, models: ['m'] });
    const status: CallStatus = {};
    await engine.optimizeAiCall('p', 'm', echo, { status });
    expect(engine.feedback(status, 1)).toBe(true);
    expect(engine.feedback(status.key as string, 0)).toBe(true);
    const outside: CallStatus = {};
    await engine.optimizeAiCall('p', 'n', echo, { status: outside });
    expect(engine.feedback(outside, 1)).toBe(false);
    expect(engine.feedback('v1:unknown', 1)).toBe(false);
    expect(() => engine.feedback(status, Number.NaN)).toThrow(/`score` must be a finite number/);
    const arm = experiment.results().variants[status.experiment?.variant as string];
    expect(arm).toMatchObject({ feedback_count: 2, feedback_mean: 0.5 });
    experiment.stop();
    expect(engine.feedback(status.key as string, 1)).toBe(false);
    expect(experiment.results().status).toBe('stopped');
  });

  it('rejects bad experiments with an error naming the option', () => {
    const engine = new OptimizationEngine();
    expect(() => engine.experiment({ name: '', variants: { a: {}, b: {} } })).toThrow(/`experiment\.name`/);
    expect(() => engine.experiment({ name: 'x', variants: { a: {} } })).toThrow(/at least two variants/);
    expect(() => engine.experiment({ name: 'x', variants: { a: { maxEntries: 5 } as never, b: {} } })).toThrow(/Unknown option `experiment\.variants\.a\.maxEntries`/);
    expect(() => engine.experiment({ name: 'x', variants: { a: {}, b: {} }, split: { a: 1, c: 1 } })).toThrow(/Unknown option `experiment\.split\.c`/);
    expect(() => engine.experiment({ name: 'x', variants: { a: {}, b: { route: { tier: 'huge' as never } } } })).toThrow(/`experiment\.variants\.b\.route\.tier`/);
    expect(() => engine.experiment({ name: 'x', variants: { a: {}, b: {} }, metrics: ['speed' as never] })).toThrow(/`experiment\.metrics`/);
    engine.experiment({ name: 'x', variants: { a: {}, b: {} } });
    expect(() => engine.experiment({ name: 'x', variants: { a: {}, b: {} } })).toThrow(/already running/);
  });
});

describe('an experiment across a restart (learned-state file)', () => {
  it('keeps its figures and p-values: a second engine with the same experiment goes on from them', async () => {
    const stateFile = join(dir, 'experiment.json');
    const options = { name: 'restart', variants: { a: {}, b: { cache: 'bypass' as const } } };
    const first = new OptimizationEngine();
    await first.startAutonomous({ stateFile, timers: idleTimers });
    first.experiment(options);
    for (let i = 0; i < 300; i++) await first.optimizeAiCall(`p${i % 10}`, 'm', echo, { scope: `u${i % 31}` });
    const before = first.getOptimizationReport().experiments?.['restart'];
    await first.stopAutonomous();
    await first.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { data: { experiments: { name: string }[] } };
    expect(saved.data.experiments.map((e) => e.name)).toEqual(['restart']);

    const second = new OptimizationEngine();
    const status = await second.startAutonomous({ stateFile, timers: idleTimers });
    expect(status.last_actions).toContain('learn: kept the state of experiment "restart" until it starts');
    const experiment = second.experiment(options);
    expect(experiment.results().calls).toBe(300);
    expect(experiment.results().variants).toEqual(before?.variants);
    await second.optimizeAiCall('p0', 'm', echo, { scope: 'u0' });
    expect(experiment.results().calls).toBe(301);
    await second.close();
  });

  it('drops a saved state whose variants changed, saying so', async () => {
    const stateFile = join(dir, 'changed.json');
    const first = new OptimizationEngine();
    await first.startAutonomous({ stateFile, timers: idleTimers });
    first.experiment({ name: 'e', variants: { a: {}, b: {} } });
    await first.optimizeAiCall('p', 'm', echo);
    await first.close();
    const second = new OptimizationEngine();
    second.experiment({ name: 'e', variants: { a: {}, c: {} } });
    const status = await second.startAutonomous({ stateFile, timers: idleTimers });
    expect(status.last_actions).toContain('learn: dropped the state of experiment "e": its variants or split changed');
    await second.close();
  });

  it('drops a saved state whose variant settings changed (it merged the old figures into the new settings)', async () => {
    const stateFile = join(dir, 'changed-settings.json');
    const first = new OptimizationEngine();
    await first.startAutonomous({ stateFile, timers: idleTimers });
    first.experiment({ name: 'e', variants: { a: {}, long: { ttlMs: 1000 } } });
    await first.optimizeAiCall('p', 'm', echo);
    await first.close();
    const second = new OptimizationEngine();
    const experiment = second.experiment({ name: 'e', variants: { a: {}, long: { ttlMs: 5_000_000 } } });
    const status = await second.startAutonomous({ stateFile, timers: idleTimers });
    expect(status.last_actions).toContain('learn: dropped the state of experiment "e": its variants or split changed');
    expect(experiment.results().calls).toBe(0);
    await second.close();
  });
});
