import { systemTimers } from '../../src/optimizer/self-heal.js';
import { runNode } from '../node-child.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createManualClock } from '../../src/testing.js';

describe('systemTimers: only the wait between autonomous runs is unref\'d', () => {
  it('keeps the process alive for a deadline and lets a housekeeping timer go', () => {
    const deadline = systemTimers.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    const housekeeping = systemTimers.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    systemTimers.unref?.(housekeeping);
    expect(deadline.hasRef()).toBe(true);
    expect(housekeeping.hasRef()).toBe(false);
    systemTimers.clearTimeout(deadline);
    systemTimers.clearTimeout(housekeeping);
  });

  it('lets a process with autonomous mode on exit once its own work is done', async () => {
    // An hour between runs: were that wait ref'd, the child would live until runNode's bound (20 s) and be killed.
    const child = await runNode(`
      import { OptimizationEngine } from './src/index.ts';
      const engine = new OptimizationEngine();
      const status = await engine.startAutonomous({ intervalMs: 3_600_000 });
      console.log('enabled', status.enabled);
    `);
    expect(child).toMatchObject({ code: 0, stdout: 'enabled true\n', stderr: '' });
  });

  it('settles stopAutonomous() while a run waits for a health probe that never answers', async () => {
    // The run starts after 50 ms and probes (a circuit is open); stop waits for that run, which
    // ends only through the 300 ms probe deadline: the one timer left in the process.
    const child = await runNode(`
      import { OptimizationEngine } from './src/index.ts';
      const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 }, healthProbe: () => new Promise(() => {}) });
      await engine.optimizeAiCall('p', 'm', async () => { throw new Error('model down'); }).catch(() => undefined);
      await engine.startAutonomous({ intervalMs: 50, probeTimeoutMs: 300 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const status = await engine.stopAutonomous();
      console.log(status.runs, status.last_actions.filter((a) => a.startsWith('heal: health probe')).join(';'));
    `);
    expect(child).toMatchObject({ code: 0, stdout: '1 heal: health probe failed, circuits stay open\n', stderr: '' });
  });
});

/** Timers that never fire: the loop's first run is never due during these tests. */
const idleTimers = { setTimeout: () => 0, clearTimeout: () => undefined };

type Saved = { data: { models: Record<string, { runs: number; failures: number; exec_ms_total: number }> } };

const totals = (models: Saved['data']['models']) =>
  Object.values(models).reduce((t, s) => ({ runs: t.runs + s.runs, failures: t.failures + s.failures }), { runs: 0, failures: 0 });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmoe-self-heal-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('per-model run statistics and circuits (high cardinality)', () => {
  it('runs calls to 10^4 distinct models, 256 circuits kept (recycled), one statistics entry each up to the bound, the rest pooled', async () => {
    const stateFile = join(dir, 'many-models.json');
    const engine = new OptimizationEngine({ retry: false });
    await engine.startAutonomous({ stateFile, timers: idleTimers });
    for (let i = 0; i < 10_000; i++) expect(await engine.optimizeAiCall('p', `model-${i}`, () => i)).toBe(i);
    const circuits = engine.getCircuitStates();
    // Circuits are recycled (the least recently used healthy ones), never pooled: the last 256 models are kept.
    expect(circuits).toHaveLength(256);
    expect(circuits.at(-1)?.model).toBe('model-9999');
    await engine.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as Saved;
    expect(Object.keys(saved.data.models)).toHaveLength(256);
    expect(saved.data.models['(other)']?.runs).toBe(10_000 - 255);
    expect(totals(saved.data.models)).toEqual({ runs: 10_000, failures: 0 });
  });

  it('restores a state file holding statistics of 10^4 models, pooled past the bound, totals kept', async () => {
    const stateFile = join(dir, 'restore-many.json');
    const first = new OptimizationEngine();
    await first.startAutonomous({ stateFile, timers: idleTimers });
    await first.close();
    const envelope = JSON.parse(await readFile(stateFile, 'utf8')) as Saved & { sha256: string };
    envelope.data.models = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`model-${i}`, { runs: 2, failures: 1, exec_ms_total: 10 }]));
    envelope.sha256 = createHash('sha256').update(JSON.stringify(envelope.data)).digest('hex');
    await writeFile(stateFile, JSON.stringify(envelope));

    const second = new OptimizationEngine();
    const status = await second.startAutonomous({ stateFile, timers: idleTimers });
    expect(status.last_actions).toContain('learn: restored statistics of 10000 model(s)');
    await second.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as Saved;
    expect(Object.keys(saved.data.models)).toHaveLength(256);
    expect(totals(saved.data.models)).toEqual({ runs: 20_000, failures: 10_000 });
  });
});

describe('per-model run statistics when the clock jumps back', () => {
  it('adds 0 ms, not minus the jump, for a run timed across it', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 10));
    const stateFile = join(dir, 'clock-back.json');
    const engine = new OptimizationEngine({ clock, retry: false, monitor: { sampleIntervalMs: false } });
    await engine.startAutonomous({ stateFile, timers: idleTimers });
    await engine.optimizeAiCall('p', 'm', () => (clock.set(clock.now() - 86_400_000), 'v'));
    await engine.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as Saved;
    expect(saved.data.models['m']).toEqual({ runs: 1, failures: 0, exec_ms_total: 0 });
  });
});
