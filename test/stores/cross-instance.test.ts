import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus } from '../../src/index.js';
import { createRedisStore } from '../../src/redis.js';
import { connect, eventually, REDIS_URL, sleep, storeReady, uniquePrefix } from './redis-helpers.js';
import { killWorkers, startWorker } from './worker-process.js';

beforeAll(async () => {
  (await connect()).destroy();
});

afterEach(killWorkers);

describe('one cache shared by several instances over Redis', () => {
  it('two engines in one process share entries', async () => {
    const prefix = uniquePrefix('two-engines');
    const stores = [createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 }), createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 })];
    await Promise.all(stores.map(storeReady));
    const [a, b] = stores.map((store) => new OptimizationEngine({ store })) as [OptimizationEngine, OptimizationEngine];
    expect(await a.optimizeAiCall('q', 'm', () => 'from a')).toBe('from a');
    await sleep(20);
    const status: CallStatus = {};
    const exec = vi.fn(() => 'from b');
    expect(await b.optimizeAiCall('q', 'm', exec, { status })).toBe('from a');
    expect(exec).not.toHaveBeenCalled();
    expect(status.source).toBe('store');
    await a.store!.clear();
    await Promise.all([a.store!.close!(), b.store!.close!()]);
  });

  it('reports a call answered through the lock of another engine as coalesced from the store', async () => {
    const prefix = uniquePrefix('lock-answered');
    const stores = [createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 }), createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 })];
    await Promise.all(stores.map((store) => store.ready()));
    const [a, b] = stores.map((store) => new OptimizationEngine({ store })) as [OptimizationEngine, OptimizationEngine];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held: CallStatus = {};
    const holder = a.optimizeAiCall('q', 'm', async () => (await gate, 'from a'), { status: held });
    const redis = await connect();
    expect(await eventually(async () => held.key !== undefined && (await redis.exists(`${prefix}::lock:${held.key}`)) === 1)).toBe(true);
    redis.destroy();
    const status: CallStatus = {};
    const exec = vi.fn(() => 'from b');
    const waiting = b.optimizeAiCall('q', 'm', exec, { status });
    await sleep(50);
    release();
    expect(await Promise.all([holder, waiting])).toEqual(['from a', 'from a']);
    expect(exec).not.toHaveBeenCalled();
    expect(status).toMatchObject({ outcome: 'coalesced', source: 'store' });
    expect(b.getOptimizationReport().summary).toMatchObject({ model_calls: 0, requests_saved: 1, effective_hit_rate_percent: 100 });
    expect(b.monitor.getHistory('responseTimeMs')).toEqual([]);
    await stores[0]!.clear();
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps tenants apart: 2 prefixes × 8 scopes × 5 prompts never share an answer', async () => {
    const base = uniquePrefix('tenants');
    const prefixes = [`${base}-a`, `${base}-b`];
    const scopes = ['', 'a', 'b', 'tenant 1', 'tenant:1', 'tenant%3A1', 'ü', 'a'.repeat(100)];
    const prompts = ['q0', 'q1', 'Q1', 'q1 ', 'q2'];
    const stores = prefixes.map((prefix) => createRedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 }));
    await Promise.all(stores.map(storeReady));
    const answer = (p: number, scope: string, prompt: string): string => `${p}|${scope}|${prompt}`;
    const writers = stores.map((store) => new OptimizationEngine({ store }));
    for (const [p, writer] of writers.entries()) {
      for (const scope of scopes) for (const prompt of prompts) await writer.optimizeAiCall(prompt, 'm', () => answer(p, scope, prompt), { scope });
    }
    await sleep(50);
    const readers = stores.map((store) => new OptimizationEngine({ store }));
    let fromStore = 0;
    for (const [p, reader] of readers.entries()) {
      for (const scope of scopes) {
        for (const prompt of prompts) {
          const status: CallStatus = {};
          expect(await reader.optimizeAiCall(prompt, 'm', () => 'recomputed', { scope, status })).toBe(answer(p, scope, prompt));
          if (status.source === 'store') fromStore++;
        }
      }
    }
    expect(fromStore).toBe(prefixes.length * scopes.length * prompts.length);
    await Promise.all(stores.map(async (store) => (await store.clear(), await store.close())));
  });

  it('two processes share entries', async () => {
    const prefix = uniquePrefix('two-processes');
    const [a, b] = await Promise.all([startWorker(prefix), startWorker(prefix)]);
    a.send({ cmd: 'call', prompt: 'shared question' });
    const first = await a.next((m) => m.done === true);
    b.send({ cmd: 'call', prompt: 'shared question' });
    const second = await b.next((m) => m.done === true);
    expect(first).toMatchObject({ execs: 1, results: [`answer computed by ${a.pid}`] });
    expect(second).toMatchObject({ execs: 0, results: [`answer computed by ${a.pid}`], sources: ['store'] });
  });

  it('two processes × 100 concurrent identical calls run exec once in total', async () => {
    const prefix = uniquePrefix('coalesce');
    const [a, b] = await Promise.all([startWorker(prefix), startWorker(prefix)]);
    for (const w of [a, b]) w.send({ cmd: 'burst', prompt: 'hot question', n: 100, execMs: 300 });
    const [ra, rb] = await Promise.all([a.next((m) => m.done === true), b.next((m) => m.done === true)]);
    expect((ra.execs as number) + (rb.execs as number)).toBe(1);
    const answers = new Set([...(ra.results as string[]), ...(rb.results as string[])]);
    expect(answers.size).toBe(1);
    expect((ra.sources as unknown[]).length + (rb.sources as unknown[]).length).toBe(200);
  });

  it('a waiter takes over when the process holding the lock is killed', async () => {
    const prefix = uniquePrefix('takeover');
    const owner = await startWorker(prefix, { LOCK_TTL_MS: '1500' });
    owner.send({ cmd: 'hang', prompt: 'q' });
    await owner.next((m) => m.execStarted === true);
    const store = createRedisStore({ url: REDIS_URL, prefix, lockTtlMs: 1500, timeoutMs: 2000 });
    await storeReady(store);
    const engine = new OptimizationEngine({ store });
    const exec = vi.fn(() => 'computed by the survivor');
    const call = engine.optimizeAiCall('q', 'model', exec);
    // The owner is alive and renews its lock: the survivor waits instead of computing.
    await sleep(1000);
    expect(exec).not.toHaveBeenCalled();
    owner.child.kill('SIGKILL');
    expect(await call).toBe('computed by the survivor');
    expect(exec).toHaveBeenCalledTimes(1);
    await store.clear();
    await store.close();
  });
});
