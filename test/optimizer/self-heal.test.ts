import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createManualClock } from '../../src/testing.js';

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
  it('runs calls to 10^4 distinct models, one circuit and one statistics entry each up to the bound, the rest pooled', async () => {
    const stateFile = join(dir, 'many-models.json');
    const engine = new OptimizationEngine({ retry: false });
    await engine.startAutonomous({ stateFile, timers: idleTimers });
    for (let i = 0; i < 10_000; i++) expect(await engine.optimizeAiCall('p', `model-${i}`, () => i)).toBe(i);
    const circuits = engine.getCircuitStates();
    expect(circuits).toHaveLength(256);
    expect(circuits.at(-1)?.model).toBe('(other)');
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
