import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import type { CallStatus, EngineEvents } from '../../src/index.js';
import { createRedisStore, type RedisStore } from '../../src/redis.js';
import { connect, freePort, sleep, slowProxy, uniquePrefix, type NodeRedis } from './redis-helpers.js';

/**
 * A store's first connection (loading `redis`, then connecting) takes longer than its command
 * deadline: ~370 ms + 60–130 ms against the default `timeoutMs` of 200 ms. A proxy that holds
 * connections for 800 ms makes that happen deterministically, with `timeoutMs` 250.
 */
const CONNECT_DELAY_MS = 800;
const FAST = { timeoutMs: 250, retryAfterMs: 50 };

let client: NodeRedis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  client = await connect();
  return () => client.destroy();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function proxy(delayMs = CONNECT_DELAY_MS): Promise<string> {
  const p = await slowProxy(delayMs);
  cleanup.push(() => p.close());
  return p.url;
}

function store(url: string, options: Partial<Parameters<typeof createRedisStore>[0]> = {}): RedisStore {
  const s = createRedisStore({ url, prefix: uniquePrefix('startup'), ...FAST, ...options });
  cleanup.push(() => s.close());
  return s;
}

function storeErrors(engine: OptimizationEngine): EngineEvents['store-error'][] {
  const seen: EngineEvents['store-error'][] = [];
  engine.on('store-error', (e) => void seen.push(e));
  return seen;
}

describe('a url-mode store while its first connection is being made', () => {
  it('makes a direct command wait for the connection only within timeoutMs, then skip at once until connected; healthy throughout', async () => {
    const s = store(await proxy());
    await expect(s.clear()).rejects.toMatchObject({ code: 'ERR_TIMEOUT', message: expect.stringMatching(/`SCAN` did not answer within 250 ms: Redis is still connecting/) });
    await expect(s.get('k')).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/`GET` skipped: Redis is still connecting/) });
    expect(s.health()).toMatchObject({ ok: true, lastError: undefined });
    await s.ready();
    await expect(s.clear()).resolves.toBeUndefined();
    expect(s.health().ok).toBe(true);
  });

  it('lets two engines starting together share when the connection comes within timeoutMs: exec runs once, the waiting call is coalesced', async () => {
    // `timeoutMs` well above loading `redis` plus the proxy's delay: the calls wait what is left of it.
    const url = await proxy(300);
    const prefix = uniquePrefix('startup-pair');
    const [sa, sb] = [store(url, { prefix, timeoutMs: 5000 }), store(url, { prefix, timeoutMs: 5000 })] as [RedisStore, RedisStore];
    const [a, b] = [new OptimizationEngine({ store: sa }), new OptimizationEngine({ store: sb })];
    const errors = [...storeErrors(a), ...storeErrors(b)];
    const exec = vi.fn(async () => {
      await sleep(200);
      return 'one answer';
    });
    const statuses: [CallStatus, CallStatus] = [{}, {}];
    const answers = await Promise.all([
      a.optimizeAiCall('startup question', 'm', exec, { status: statuses[0] }),
      b.optimizeAiCall('startup question', 'm', exec, { status: statuses[1] }),
    ]);
    expect(answers).toEqual(['one answer', 'one answer']);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(statuses.map((s) => s.outcome).sort()).toEqual(['coalesced', 'miss']);
    expect(errors).toEqual([]);
    // The answer was written: a third engine reads it.
    await sleep(20);
    const c = new OptimizationEngine({ store: sb });
    const status: CallStatus = {};
    expect(await c.optimizeAiCall('startup question', 'm', () => 'recomputed', { status })).toBe('one answer');
    expect(status).toMatchObject({ outcome: 'hit', source: 'store' });
    await sa.clear();
  });

  it('ready() resolves once connected', async () => {
    const s = store(await proxy());
    await expect(s.ready()).resolves.toBeUndefined();
    expect(await s.get('k')).toBeUndefined();
  });

  it('ready() rejects when the connection does not come within connectTimeoutMs; Redis then counts as down', async () => {
    const s = store(await proxy(Number.POSITIVE_INFINITY), { connectTimeoutMs: 300, retryAfterMs: 10_000 });
    const read = s.get('k');
    read.catch(() => undefined); // it rejects before ready() does
    await expect(s.ready()).rejects.toThrow(/Redis is unavailable: Redis did not connect within 300 ms/);
    await expect(read).rejects.toMatchObject({ code: 'ERR_TIMEOUT', message: expect.stringMatching(/Redis `GET` did not answer within 250 ms: Redis is still connecting/) });
    expect(s.health()).toMatchObject({ ok: false, lastError: expect.stringContaining('did not connect within 300 ms') });
    await expect(s.clear()).rejects.toThrow(/Redis `SCAN` skipped: Redis is unavailable \(Redis did not connect within 300 ms/);
  });

  it('ready() rejects at once with the reason when Redis refuses the connection, and the engine goes on without it', async () => {
    const s = store(`redis://127.0.0.1:${await freePort()}`, { connectTimeoutMs: 60_000 });
    await expect(s.ready()).rejects.toThrow(/Redis is unavailable: .*ECONNREFUSED/);
    const engine = new OptimizationEngine({ store: s });
    expect(await engine.optimizeAiCall('q', 'm', () => 'still works')).toBe('still works');
  });

  it('ready() resolves at once with an injected client, and rejects after close()', async () => {
    const s = createRedisStore({ client, prefix: uniquePrefix('ready-injected') });
    await expect(s.ready()).resolves.toBeUndefined();
    await s.close();
    await expect(s.ready()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('a call whose signal aborts while the store connects ends with the signal reason', async () => {
    const s = store(await proxy());
    const reason = new Error('caller left');
    const controller = new AbortController();
    const read = s.get('k', { signal: controller.signal });
    controller.abort(reason);
    await expect(read).rejects.toBe(reason);
    expect(s.health().ok).toBe(true);
  });

  describe('pointed at a server that accepts TCP and never answers', () => {
    async function blackHole(): Promise<string> {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }));
      return `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    }

    it('no call waits longer than timeoutMs for the store: one store timeout in the first call, none after, while still connecting', async () => {
      // connectTimeoutMs far beyond the test's own timeout: a call that waited for it would never end here.
      const s = store(await blackHole(), { connectTimeoutMs: 600_000 });
      let settled = false;
      void s.ready().then(() => (settled = true), () => (settled = true));
      const engine = new OptimizationEngine({ store: s });
      const errors = storeErrors(engine);
      const timeouts = (): number => errors.filter((e) => (e.error as { code?: string }).code === 'ERR_TIMEOUT').length;
      const perCall: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = timeouts();
        expect(await engine.optimizeAiCall(`q${i}`, 'm', () => `a${i}`)).toBe(`a${i}`);
        perCall.push(timeouts() - before);
      }
      expect(perCall).toEqual([1, 0, 0]);
      expect(settled).toBe(false);
      expect(s.health().ok).toBe(true);
    });

    it('a direct command waits timeoutMs at most, and the next fails at once', async () => {
      const s = store(await blackHole(), { connectTimeoutMs: 600_000 });
      await expect(s.get('k')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
      await expect(s.set('k', 'v', { ttlMs: 1000 })).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/skipped: Redis is still connecting/) });
    });
  });

  it('names a bad connectTimeoutMs', () => {
    expect(() => createRedisStore({ url: 'redis://127.0.0.1:1', prefix: 'p', connectTimeoutMs: 0 })).toThrow(/`connectTimeoutMs`/);
  });
});
