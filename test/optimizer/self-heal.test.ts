import { describe, expect, it } from 'vitest';
import { systemTimers } from '../../src/optimizer/self-heal.js';
import { runNode } from '../node-child.js';

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
