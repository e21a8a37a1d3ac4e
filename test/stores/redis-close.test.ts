import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryStore, OptimizationEngine } from '../../src/index.js';
import type { CacheStore, EngineEvents } from '../../src/index.js';
import { createRedisStore } from '../../src/redis.js';
import { runNode } from '../node-child.js';
import { connect, eventually, REDIS_URL, uniquePrefix, type NodeRedis } from './redis-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
/** A bound on waiting for the child, not an assertion on time: a hanging child is killed, and fails. */
const KILL_AFTER_MS = 30_000;

let client: NodeRedis;

beforeAll(async () => {
  client = await connect();
  return () => client.destroy();
});

/** Runs the fixture; resolves with its exit code (null when it had to be killed) and output. */
function runChild(flavour: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(here, 'fixtures/injected-client-exit.ts')], {
    cwd: root, env: { ...process.env, REDIS_URL, PREFIX: uniquePrefix(`exit-${flavour}`), FLAVOUR: flavour },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('closing an engine on a Redis store with your own client', () => {
  it.each(['node-redis', 'ioredis'])('engine.close() then client.quit() lets the process exit by itself (%s)', async (flavour) => {
    const result = await runChild(flavour);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('closed\n');
    expect(result).toMatchObject({ code: 0, signal: null });
  }, KILL_AFTER_MS + 10_000);

  it('store.close() ends the subscriber it opened, never the injected client', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('owned'), timeoutMs: 2000 });
    const channel = `${store.prefix}::released`;
    const numsub = async (): Promise<number> => Number((await client.sendCommand<[string, number]>(['PUBSUB', 'NUMSUB', channel]))[1]);
    const token = await store.acquire('v1:k', { ttlMs: 10_000 });
    const wait = store.waitFor('v1:k', { timeoutMs: 30_000 });
    expect(await eventually(async () => (await numsub()) === 1)).toBe(true);
    await store.release('v1:k', token!);
    expect(await wait).toBe(true);
    await store.close();
    expect(await eventually(async () => (await numsub()) === 0)).toBe(true);
    expect(client.isOpen).toBe(true);
    expect(await client.ping()).toBe('PONG');
  });

  it('store.close() releases the locks it still holds, so that other instances go on at once', async () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('release-on-close'), timeoutMs: 2000 });
    expect(await store.acquire('v1:k', { ttlMs: 60_000 })).toBeTypeOf('string');
    await store.close();
    expect(await client.exists(`${store.prefix}::lock:v1:k`)).toBe(0);
  });

  it('engine.close() closes a url-mode store, which ends its own client', async () => {
    const store = createRedisStore({ url: REDIS_URL, prefix: uniquePrefix('engine-closes'), timeoutMs: 2000 });
    await store.ready();
    const engine = new OptimizationEngine({ store });
    await engine.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(store.ready()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('engine.close() and the store it was given', () => {
  function closable(): CacheStore & { close: ReturnType<typeof vi.fn<() => Promise<void>>> } {
    return Object.assign(createMemoryStore(), { close: vi.fn(async (): Promise<void> => undefined) });
  }

  it('closes the store once, when the last open engine using it closes', async () => {
    const store = closable();
    const a = new OptimizationEngine({ store });
    const b = new OptimizationEngine({ store });
    await a.close();
    expect(store.close).not.toHaveBeenCalled();
    expect(await b.optimizeAiCall('q', 'm', () => 'b still shares')).toBe('b still shares');
    await b.close();
    await b.close();
    expect(store.close).toHaveBeenCalledTimes(1);
  });

  it('waits for the store writes in flight before closing it', async () => {
    const order: string[] = [];
    const store = closable();
    const set = store.set.bind(store);
    store.set = async (key, value, options) => {
      await new Promise((r) => setTimeout(r, 50));
      order.push('set');
      return set(key, value, options);
    };
    store.close.mockImplementation(async () => {
      order.push('close');
    });
    const engine = new OptimizationEngine({ store });
    await engine.optimizeAiCall('q', 'm', () => 'answer');
    await engine.close();
    expect(order).toEqual(['set', 'close']);
  });

  it('fails open when the store fails to close: a store-error event, and close() resolves', async () => {
    const store = closable();
    store.close.mockRejectedValue(new Error('cannot close'));
    const warn = vi.fn();
    const engine = new OptimizationEngine({ store, logger: { warn } });
    const errors: EngineEvents['store-error'][] = [];
    engine.on('store-error', (e) => void errors.push(e));
    await expect(engine.close()).resolves.toBeUndefined();
    expect(errors).toMatchObject([{ operation: 'close', error: { message: 'cannot close' } }]);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('closing an engine whose store was created from a URL, right after a first call made before it connected', () => {
  /** Node script: a store from `URL`, a call at once (before the connection is up), close, print. */
  const script = `
    import { OptimizationEngine } from './src/index.ts';
    import { createRedisStore } from './src/redis.ts';
    const store = createRedisStore({ url: process.argv[1], prefix: process.argv[2], connectTimeoutMs: 1000 });
    const engine = new OptimizationEngine({ store });
    console.log(await engine.optimizeAiCall('p', 'm', async () => 'answer'));
    await engine.close();
    console.log('closed');
  `;

  it('exits by itself with a reachable Redis, a refused port, and a server that accepts and never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const refused = net.createServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const refusedPort = (refused.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => refused.close(() => resolve()));
    try {
      const urls = [REDIS_URL, `redis://127.0.0.1:${refusedPort}`, `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`];
      for (const url of urls) {
        // Before the fix, the first case never exited: node-redis keeps a socket destroyed mid-connect.
        const result = await runNode(script, { args: [url, uniquePrefix('close-connecting')] });
        expect({ url, code: result.code, stdout: result.stdout }).toEqual({ url, code: 0, stdout: 'answer\nclosed\n' });
      }
    } finally {
      silent.close();
    }
  }, 70_000);
});

describe('closing an engine whose store never becomes ready', () => {
  it('lets the process exit at once: the start-up hold (10 s) ends with close()', async () => {
    const result = await runNode(`
      import { OptimizationEngine, createMemoryStore } from './src/index.ts';
      const memory = createMemoryStore();
      const store = { ...memory, name: 'never-ready', get: (k) => memory.get(k), set: (k, v, o) => memory.set(k, v, o), delete: (k) => memory.delete(k), clear: () => memory.clear(), timeoutMs: 50, ready: () => new Promise(() => {}) };
      const engine = new OptimizationEngine({ store });
      console.log(await engine.optimizeAiCall('p', 'm', async () => 'answer'));
      await engine.close();
      const closedAt = performance.now();
      process.on('exit', () => console.log(performance.now() - closedAt < 5000 ? 'exited soon after close' : 'exited late'));
    `);
    expect(result).toMatchObject({ code: 0, stdout: 'answer\nexited soon after close\n' });
  }, 30_000);
});
