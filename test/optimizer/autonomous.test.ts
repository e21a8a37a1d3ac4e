import { execFile, execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListResponse } from 'ollama';
import { OptimizationEngine, type AutonomousOptions, type EngineEvents } from '../../src/index.js';
import { createOllamaHealthProbe } from '../../src/ollama.js';

function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** Timers the test fires by hand: no sleeps, and it can see exactly what is scheduled. */
function fakeTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  return {
    pending,
    setTimeout(callback: () => void, ms: number) {
      pending.set(++next, { callback, ms });
      return next;
    },
    clearTimeout(handle: unknown) {
      pending.delete(handle as number);
    },
    /** Fires the timer scheduled with `ms` (the loop's interval, or a probe's deadline). */
    fire(ms: number) {
      const found = [...pending].find(([, t]) => t.ms === ms);
      if (found === undefined) throw new Error(`no timer of ${ms} ms is pending`);
      pending.delete(found[0]);
      found[1].callback();
    },
  };
}

/** Lets pending promise callbacks run (one macrotask turn; not a sleep). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function nextTick(engine: OptimizationEngine): Promise<EngineEvents['autonomous-tick']> {
  return new Promise((resolve) => engine.once('autonomous-tick', resolve));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmoe-autonomous-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('autonomous mode', () => {
  it('reports itself disabled before it starts', async () => {
    const engine = new OptimizationEngine();
    expect(engine.getAutonomousStatus()).toEqual({
      enabled: false, interval_seconds: 300, runs: 0, last_run_at: null, next_run_at: null, last_actions: [], health: null,
    });
    await engine.close();
  });

  it('runs monitor → optimize → heal every interval after the previous run, and says what it did', async () => {
    const clock = manualClock();
    const timers = fakeTimers();
    const engine = new OptimizationEngine({ clock });
    const status = await engine.startAutonomous({ intervalMs: 60_000, timers });
    expect(status).toMatchObject({ enabled: true, interval_seconds: 60, runs: 0, next_run_at: new Date(clock.now() + 60_000).toISOString() });
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([60_000]);
    await engine.optimizeAiCall('a', 'm', () => 'x');
    await engine.optimizeAiCall('a', 'm', () => 'x');
    clock.advance(60_000);
    const ticked = nextTick(engine);
    timers.fire(60_000);
    const tick = await ticked;
    expect(tick).toMatchObject({ runs: 1, durationMs: 0, timestamp: clock.now() });
    expect(tick.actions).toEqual([
      'monitor: 2 call(s), 0 error(s), hit rate 50 % since the last run',
      'optimize: no action needed',
      'heal: health ok',
    ]);
    const after = engine.getAutonomousStatus();
    expect(after).toMatchObject({ runs: 1, last_run_at: new Date(clock.now()).toISOString(), health: { status: 'ok', reasons: [] } });
    expect(after.last_actions).toEqual(tick.actions);
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([60_000]);
    await engine.close();
    expect(timers.pending.size).toBe(0);
    expect(engine.getAutonomousStatus().enabled).toBe(false);
  });

  it('never overlaps runs: the next is scheduled only when one ends, and stop waits for it', async () => {
    const timers = fakeTimers();
    const engine = new OptimizationEngine();
    let release!: () => void;
    let optimizing = 0;
    Object.assign(engine, { autoOptimize: () => (optimizing++, new Promise<object>((resolve) => (release = () => resolve({ optimizations: [] })))) });
    await engine.startAutonomous({ intervalMs: 1000, timers });
    timers.fire(1000);
    await settle();
    expect(optimizing).toBe(1);
    expect(timers.pending.size).toBe(0);
    let stopped = false;
    const stopping = engine.stopAutonomous().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(engine.getAutonomousStatus()).toMatchObject({ enabled: false, runs: 1 });
    expect(timers.pending.size).toBe(0);
    await engine.close();
  });

  it('self-monitors with the monitor\'s sampling, anomaly check and trends when it has them', async () => {
    const timers = fakeTimers();
    const engine = new OptimizationEngine();
    let samples = 0;
    Object.assign(engine.monitor, {
      sample: () => void samples++,
      detectAnomalies: () => [{ type: 'slow_response' }, { type: 'high_memory' }],
      getTrends: () => ({ responseTimeMs: { status: 'degrading' }, hitRate: { status: 'improving' }, errorRate: { status: 'degrading' } }),
    });
    await engine.startAutonomous({ intervalMs: 1000, timers });
    const ticked = nextTick(engine);
    timers.fire(1000);
    const { actions } = await ticked;
    expect(actions.slice(0, 3)).toEqual([
      'monitor: 0 call(s), 0 error(s), no cache lookups since the last run',
      'monitor: 2 anomalies detected',
      'monitor: degrading responseTimeMs, errorRate',
    ]);
    expect(samples).toBe(1);
    await engine.close();
  });

  it('self-optimizes with autoOptimize() when the engine has it, and isolates a failing step', async () => {
    const timers = fakeTimers();
    const warnings: string[] = [];
    const engine = new OptimizationEngine({ logger: { warn: (m) => warnings.push(m) } });
    let fail = false;
    Object.assign(engine, {
      autoOptimize: () => {
        if (fail) throw new Error('optimizer bug');
        return { status: 'optimizations_applied', count: 1, optimizations: [{ type: 'cache', action: 'raise_ttl', timestamp: 1, before: 1, after: 2 }] };
      },
    });
    await engine.startAutonomous({ intervalMs: 1000, timers });
    let ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toContain('optimize: 1 optimization(s) applied');
    fail = true;
    ticked = nextTick(engine);
    timers.fire(1000);
    const actions = (await ticked).actions;
    expect(actions).toContain('optimize: failed');
    expect(actions).toContain('heal: health ok');
    expect(warnings).toEqual(['Autonomous mode: the optimize step failed']);
    await engine.close();
  });

  it('self-heals: a successful health probe closes open circuits', async () => {
    const timers = fakeTimers();
    let probes = 0;
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1, resetTimeoutMs: 3_600_000 }, healthProbe: async () => void probes++ });
    await engine.startAutonomous({ intervalMs: 1000, timers });
    let ticked = nextTick(engine);
    timers.fire(1000);
    await ticked;
    expect(probes).toBe(0); // nothing to heal: a healthy model gets no extra requests
    await engine.optimizeAiCall('p', 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(engine.getCircuitStates()[0]?.state).toBe('open');
    ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toEqual(expect.arrayContaining(['heal: health probe ok, 1 circuit(s) closed', 'heal: health ok']));
    expect(probes).toBe(1);
    expect(engine.getCircuitStates()[0]?.state).toBe('closed');
    expect(await engine.optimizeAiCall('p', 'm', () => 'back')).toBe('back');
    await engine.close();
  });

  it('self-heals: a failing or hung probe keeps circuits open and reports the model down', async () => {
    const timers = fakeTimers();
    let mode: 'fail' | 'hang' | 'ok' = 'fail';
    const engine = new OptimizationEngine({
      retry: false, breaker: { failureThreshold: 1 },
      healthProbe: (signal) => (mode === 'fail' ? Promise.reject(new Error('refused')) : mode === 'hang' ? new Promise(() => void signal) : Promise.resolve()),
    });
    await engine.optimizeAiCall('p', 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    await engine.startAutonomous({ intervalMs: 1000, timers, probeTimeoutMs: 500 });
    let ticked = nextTick(engine);
    timers.fire(1000);
    const tick = await ticked;
    expect(tick.actions).toEqual(expect.arrayContaining(['heal: health probe failed, circuits stay open', 'heal: health down']));
    expect(engine.getAutonomousStatus().health).toEqual({ status: 'down', reasons: ['model: the model health probe is failing'] });
    mode = 'hang';
    ticked = nextTick(engine);
    timers.fire(1000);
    await settle();
    timers.fire(500); // the probe's deadline
    expect((await ticked).actions).toContain('heal: health probe failed, circuits stay open');
    mode = 'ok';
    ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toContain('heal: health ok');
    await engine.close();
  });

  it('heals with the Ollama adapter\'s probe once the server lists the model again', async () => {
    const timers = fakeTimers();
    let listed: string[] = [];
    const client = { list: async () => ({ models: listed.map((name) => ({ name, model: name })) }) as unknown as ListResponse };
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 }, healthProbe: createOllamaHealthProbe(client, 'llama3.1:8b') });
    await engine.optimizeAiCall('p', 'llama3.1:8b', () => Promise.reject(new Error('model not found'))).catch(() => undefined);
    await engine.startAutonomous({ intervalMs: 1000, timers });
    let ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toContain('heal: health probe failed, circuits stay open');
    listed = ['llama3.1:8b'];
    ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toContain('heal: health probe ok, 1 circuit(s) closed');
    expect(engine.getCircuitStates()[0]?.state).toBe('closed');
    await engine.close();
  });

  it('without a health probe, says that circuits are open', async () => {
    const timers = fakeTimers();
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 } });
    await engine.optimizeAiCall('p', 'm', () => Promise.reject(new Error('down'))).catch(() => undefined);
    await engine.startAutonomous({ intervalMs: 1000, timers });
    const ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toEqual(expect.arrayContaining(['heal: 1 circuit(s) open, no health probe configured', 'heal: health degraded']));
    await engine.close();
  });

  it('a restart keeps the options it is not given (enabling again over HTTP keeps the state file)', async () => {
    const stateFile = join(dir, 'kept.json');
    const engine = new OptimizationEngine();
    await engine.startAutonomous({ stateFile, intervalMs: 1000, timers: fakeTimers() });
    await engine.stopAutonomous();
    const status = await engine.startAutonomous({ intervalMs: 60_000 });
    expect(status.interval_seconds).toBe(60);
    await rm(stateFile);
    await engine.close();
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({ format: 'llm-optimization-engine/learned-state' });
  });

  it('reports a run that spanned a clock set back as taking 0 ms, not a negative duration', async () => {
    let t = 10_000_000;
    const clock = { now: () => (t -= 1000) }; // every reading is a second earlier than the last
    const timers = fakeTimers();
    const engine = new OptimizationEngine({ clock });
    await engine.startAutonomous({ intervalMs: 60_000, timers });
    const ticked = nextTick(engine);
    timers.fire(60_000);
    expect((await ticked).durationMs).toBe(0);
    await engine.close();
  });

  it('validates its options, naming them', async () => {
    const engine = new OptimizationEngine();
    const bad: Array<[AutonomousOptions, RegExp]> = [
      [{ intervalMs: 0 }, /`intervalMs`/], [{ stateFile: '' }, /`stateFile`/], [{ snapshotCache: 'yes' as never }, /`snapshotCache`/],
      [{ timers: {} as never }, /`timers`/], [{ every: 5 } as never, /startAutonomous.every/], [{ probeTimeoutMs: -1 }, /`probeTimeoutMs`/],
      [{ timers: { setTimeout, clearTimeout, unref: 5 } as never }, /`timers.unref`/],
    ];
    for (const [options, message] of bad) await expect(engine.startAutonomous(options)).rejects.toThrow(message);
    await engine.close();
    await expect(engine.startAutonomous()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('lifecycle in a real process', () => {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'close-child.ts');
  const run = (stateFile: string, mode: string) => new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', child, stateFile, mode], (error, stdout) => resolve({ code: error === null ? 0 : (error.code as number), out: stdout }));
  });

  it('a process with autonomous mode running still exits by itself (timers are unref\'d), and close() saves and stops it', async () => {
    const [running, closed] = await Promise.all([run(join(dir, 'child-running.json'), 'keep'), run(join(dir, 'child-closed.json'), 'close')]);
    expect(running.code).toBe(0);
    expect(JSON.parse(running.out)).toMatchObject({ enabled: true, runs: 0 });
    expect(closed.code).toBe(0);
    expect(JSON.parse(closed.out)).toMatchObject({ enabled: false });
    const saved = JSON.parse(await readFile(join(dir, 'child-closed.json'), 'utf8')) as { data: { models: unknown } };
    expect(saved.data.models).toEqual({ m: expect.objectContaining({ runs: 1, failures: 0 }) });
  }, 60_000);
});

describe('self-learn: persistence across restarts', () => {
  it('a restarted engine restores cache bounds, TTL, concurrency, per-model statistics, optimizer decisions and the cached answers', async () => {
    const clock = manualClock();
    const stateFile = join(dir, 'restart.json');
    const options = { intervalMs: 1000, stateFile, snapshotCache: true };
    const first = new OptimizationEngine({ clock, retry: false });
    Object.assign(first, { autoOptimize: () => ({ optimizations: [{ type: 'throttle', action: 'enable_throttling', timestamp: '2026-01-01T00:00:00Z' }] }) });
    const timers = fakeTimers();
    expect((await first.startAutonomous({ ...options, timers })).last_actions).toEqual(['learn: no saved state yet']);
    first.cache.resize({ maxEntries: 50, maxBytes: 1_000_000, ttlMs: 7_200_000 });
    first.maxConcurrency = 3;
    await first.optimizeAiCall('What is 2+2?', 'llama', () => ({ answer: 4 }), { params: { temperature: 0 }, scope: 't1' });
    await first.optimizeAiCall('short-lived', 'llama', () => 'soon gone', { ttlMs: 10 });
    await first.optimizeAiCall('fails', 'llama', () => Promise.reject(new Error('x'))).catch(() => undefined);
    await first.optimizeAiCall('a date', 'llama', () => new Date(0));
    const ticked = nextTick(first);
    timers.fire(1000);
    expect((await ticked).actions).toContain('learn: state saved');
    await first.close();

    clock.advance(100); // the short-lived entry has expired meanwhile
    const second = new OptimizationEngine({ clock });
    const restored = await second.startAutonomous({ ...options, timers: fakeTimers() });
    expect(restored.last_actions).toEqual([
      'learn: restored cache bounds (50 entries)',
      'learn: restored max concurrency (3)',
      'learn: restored TTL (7200 s)',
      'learn: restored statistics of 1 model(s)',
      'learn: restored 1 optimizer decision(s)',
      'learn: restored 1 cache entry',
    ]);
    expect(second.cache.getStats()).toMatchObject({ maxEntries: 50, maxBytes: 1_000_000, ttlMs: 7_200_000, size: 1 });
    expect(second.maxConcurrency).toBe(3);
    let ran = false;
    const answer = await second.optimizeAiCall('What is 2+2?', 'llama', () => ((ran = true), { answer: 0 }), { params: { temperature: 0 }, scope: 't1' });
    expect(answer).toEqual({ answer: 4 });
    expect(ran).toBe(false);
    await second.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { data: { models: unknown; decisions: unknown } };
    expect(saved.data.models).toEqual({ llama: { runs: 4, failures: 1, exec_ms_total: 0 } });
    expect(saved.data.decisions).toEqual([{ type: 'throttle', action: 'enable_throttling', timestamp: '2026-01-01T00:00:00Z' }]);
  });

  it('a concurrency limit restored from the state file goes back to the configured one once CPU is calm (no ratchet across restarts)', async () => {
    const stateFile = join(dir, 'ratchet.json');
    const first = new OptimizationEngine({ maxConcurrency: 16 });
    await first.startAutonomous({ stateFile, timers: fakeTimers() });
    first.maxConcurrency = 1; // as the old optimizer left it after a soak
    await first.close();
    const clock = manualClock();
    const second = new OptimizationEngine({ clock, maxConcurrency: 16, monitor: { sampleIntervalMs: false } });
    expect((await second.startAutonomous({ stateFile, timers: fakeTimers() })).last_actions).toContain('learn: restored max concurrency (1)');
    expect(second.maxConcurrency).toBe(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      second.monitor.recordMetric({ responseTimeMs: 100, cpuPercent: 5 });
      second.autoOptimize();
    }
    expect(second.maxConcurrency).toBe(16);
    await second.close();
  });

  it('restores a file only once per engine, so stop and start do not double the statistics', async () => {
    const stateFile = join(dir, 'once.json');
    const engine = new OptimizationEngine({ retry: false });
    await engine.startAutonomous({ stateFile, timers: fakeTimers() });
    await engine.optimizeAiCall('p', 'm', () => 'v');
    await engine.stopAutonomous();
    expect((await engine.startAutonomous({ stateFile, timers: fakeTimers() })).last_actions).toEqual([]);
    await engine.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { data: { models: Record<string, { runs: number }> } };
    expect(saved.data.models.m?.runs).toBe(1);
  });

  it('does not save the cache unless asked to', async () => {
    const stateFile = join(dir, 'no-cache.json');
    const engine = new OptimizationEngine();
    await engine.startAutonomous({ stateFile, timers: fakeTimers() });
    await engine.optimizeAiCall('private prompt', 'm', () => 'private answer');
    await engine.close();
    const text = await readFile(stateFile, 'utf8');
    expect(text).not.toContain('private');
    expect(JSON.parse(text)).toMatchObject({ format: 'llm-optimization-engine/learned-state', version: 1 });
  });

  it('reports a corrupt or foreign state file (logger and store-error), sets it aside, and carries on', async () => {
    const stateFile = join(dir, 'corrupt.json');
    await writeFile(stateFile, '{"name":"someone-elses-file"}');
    const warnings: string[] = [];
    const engine = new OptimizationEngine({ logger: { warn: (m) => warnings.push(m) } });
    const errors: Array<EngineEvents['store-error']> = [];
    engine.on('store-error', (e) => void errors.push(e));
    const status = await engine.startAutonomous({ stateFile, timers: fakeTimers() });
    expect(status.enabled).toBe(true);
    expect(status.last_actions).toEqual(['learn: saved state unusable, ignored']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ store: 'file-snapshot', operation: 'load' });
    expect(String((errors[0]?.error as Error).message)).toContain('is not a llm-optimization-engine/learned-state snapshot');
    expect(warnings).toEqual(['Autonomous mode: could not load the state file']);
    const names = await readdir(dir);
    expect(names.some((n) => n.startsWith('corrupt.json.corrupt-'))).toBe(true);
    expect(await engine.optimizeAiCall('p', 'm', () => 'still works')).toBe('still works');
    await engine.close();
  });

  it('ignores parts of a state file with the wrong shape instead of applying them', async () => {
    const stateFile = join(dir, 'shapes.json');
    const engine = new OptimizationEngine();
    await engine.startAutonomous({ stateFile, timers: fakeTimers() });
    await engine.close();
    const envelope = JSON.parse(await readFile(stateFile, 'utf8')) as { data: Record<string, unknown>; sha256: string };
    const { createHash } = await import('node:crypto');
    envelope.data = { max_entries: -5, max_bytes: 'x', max_concurrency: 0, models: { m: { runs: 'many' } }, decisions: [{ type: 1 }], cache_entries: [{ header: 'x' }], key_version: 1 };
    envelope.sha256 = createHash('sha256').update(JSON.stringify(envelope.data)).digest('hex');
    await writeFile(stateFile, JSON.stringify(envelope));
    const next = new OptimizationEngine();
    const status = await next.startAutonomous({ stateFile, timers: fakeTimers() });
    expect(status.last_actions).toEqual(['learn: restored statistics of 0 model(s)', 'learn: restored 0 cache entries']);
    expect(next.cache.getStats().maxEntries).toBe(1000);
    expect(next.maxConcurrency).toBe(Number.POSITIVE_INFINITY);
    await next.close();
  });

  it('holds restored bounds to the optimizer\'s own (a max_entries of 2^32 sized nothing, TTL and statistics still restored)', async () => {
    const stateFile = join(dir, 'huge-bounds.json');
    const engine = new OptimizationEngine();
    await engine.startAutonomous({ stateFile, timers: fakeTimers() });
    await engine.close();
    const envelope = JSON.parse(await readFile(stateFile, 'utf8')) as { data: Record<string, unknown>; sha256: string };
    const { createHash } = await import('node:crypto');
    envelope.data = { max_entries: 4_294_967_296, max_bytes: null, max_concurrency: 2, ttl_ms: 1e15, models: { m: { runs: 3, failures: 0, exec_ms_total: 30 } } };
    envelope.sha256 = createHash('sha256').update(JSON.stringify(envelope.data)).digest('hex');
    await writeFile(stateFile, JSON.stringify(envelope));
    const next = new OptimizationEngine({ maxConcurrency: 8, cache: { maxEntries: 100 }, optimizer: { minConcurrency: 3, maxTtlMs: 7_200_000 } });
    const status = await next.startAutonomous({ stateFile, timers: fakeTimers() });
    expect(status.last_actions).toContain('learn: restored statistics of 1 model(s)');
    const stats = next.cache.getStats();
    expect(stats.maxEntries).toBe(1000); // optimizer.maxEntries: 10 × the configured 100
    expect(stats.ttlMs).toBe(7_200_000);
    expect(next.maxConcurrency).toBe(3);
    for (let i = 0; i < 1500; i++) next.cache.set(`p${i}`, 'm', i);
    expect(next.cache.getStats().size).toBe(1000);
    expect(next.cache.get('p1499', 'm')).toBe(1499);
    await next.close();
  });

  it('creates a missing state-file folder at start, so the saves succeed', async () => {
    const stateFile = join(dir, 'not-yet', 'there', 'state.json');
    const engine = new OptimizationEngine();
    const errors: Array<EngineEvents['store-error']> = [];
    engine.on('store-error', (e) => void errors.push(e));
    const timers = fakeTimers();
    await engine.startAutonomous({ stateFile, timers, intervalMs: 1000 });
    const ticked = nextTick(engine);
    timers.fire(1000);
    expect((await ticked).actions).toContain('learn: state saved');
    expect(errors).toEqual([]);
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({ format: 'llm-optimization-engine/learned-state' });
    await engine.close();
  });

  it('rejects at start, naming `stateFile`, when its folder cannot be created, and keeps the engine usable', async () => {
    await writeFile(join(dir, 'plain-file'), '');
    const engine = new OptimizationEngine();
    const start = engine.startAutonomous({ stateFile: join(dir, 'plain-file', 'state.json'), timers: fakeTimers() });
    await expect(start).rejects.toMatchObject({ name: 'OptimizerError', code: 'ERR_STORE' });
    await expect(start).rejects.toThrow(/^`stateFile` ".*plain-file\/state\.json" cannot be saved: its folder could not be created or is not writable \(ENOTDIR\)$/);
    expect(engine.getAutonomousStatus().enabled).toBe(false);
    expect(await engine.optimizeAiCall('p', 'm', () => 'still works')).toBe('still works');
    await engine.close();
  });

  it('rejects at start, naming `stateFile`, when it is a FIFO (reading one would block for good)', async () => {
    const fifo = join(dir, 'state.fifo');
    execFileSync('mkfifo', [fifo]);
    const engine = new OptimizationEngine();
    const start = engine.startAutonomous({ stateFile: fifo, timers: fakeTimers() });
    await expect(start).rejects.toThrow(/^`stateFile` ".*state\.fifo" cannot be saved: it is not a regular file \(a folder, a FIFO or a device\)$/);
    await engine.close();
  });

  it('does not keep a rejected state file for later starts', async () => {
    await writeFile(join(dir, 'plain-file-2'), '');
    const engine = new OptimizationEngine();
    await expect(engine.startAutonomous({ stateFile: join(dir, 'plain-file-2', 'state.json'), timers: fakeTimers() })).rejects.toMatchObject({ code: 'ERR_STORE' });
    const started = await engine.startAutonomous({ intervalMs: 60_000, timers: fakeTimers() });
    expect(started.enabled).toBe(true);
    expect(started.state_file).toBeUndefined();
    await engine.close();
  });

  it('reports failing saves in getAutonomousStatus() (error code, failures in a row, last good save) and keeps running', async () => {
    const clock = manualClock();
    const timers = fakeTimers();
    const folder = join(dir, 'goes-away');
    const engine = new OptimizationEngine({ clock });
    const errors: Array<EngineEvents['store-error']> = [];
    engine.on('store-error', (e) => void errors.push(e));
    const started = await engine.startAutonomous({ stateFile: join(folder, 'state.json'), timers, intervalMs: 1000 });
    expect(started.state_file).toEqual({ last_saved_at: null, last_save_error: null, consecutive_save_failures: 0 });
    const run = async (): Promise<string[]> => {
      clock.advance(1000);
      const ticked = nextTick(engine);
      timers.fire(1000);
      return (await ticked).actions;
    };
    expect(await run()).toContain('learn: state saved');
    const savedAt = new Date(clock.now()).toISOString();
    await rm(folder, { recursive: true });
    expect(await run()).toContain('learn: saving the state failed');
    expect(await run()).toContain('learn: saving the state failed');
    expect(engine.getAutonomousStatus().state_file).toEqual({ last_saved_at: savedAt, last_save_error: 'ENOENT', consecutive_save_failures: 2 });
    expect(errors.map((e) => e.operation)).toEqual(['save', 'save']);
    expect(timers.pending.size).toBe(1);
    await mkdir(folder);
    expect(await run()).toContain('learn: state saved');
    expect(engine.getAutonomousStatus().state_file).toEqual({ last_saved_at: new Date(clock.now()).toISOString(), last_save_error: null, consecutive_save_failures: 0 });
    await engine.close();
  });

  it('has no state_file in the status without a state file', async () => {
    const engine = new OptimizationEngine();
    expect('state_file' in (await engine.startAutonomous({ timers: fakeTimers() }))).toBe(false);
    await engine.close();
  });

  it('saves through a symlinked state file: the link stays a link, the restart reads the file it points at', async () => {
    const real = join(dir, 'real-state', 'state.json');
    await mkdir(dirname(real));
    const link = join(dir, 'linked-state.json');
    await symlink(real, link);
    const first = new OptimizationEngine();
    await first.startAutonomous({ stateFile: link, timers: fakeTimers() });
    first.maxConcurrency = 7;
    await first.close();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await lstat(real)).isFile()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toMatchObject({ data: { max_concurrency: 7 } });
    const second = new OptimizationEngine();
    expect((await second.startAutonomous({ stateFile: link, timers: fakeTimers() })).last_actions).toContain('learn: restored max concurrency (7)');
    await second.close();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });
});
