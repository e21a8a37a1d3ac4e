import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createClient } from 'redis';
import { inject } from 'vitest';
import { freePort, spawnRedisServer } from './redis-server.js';

export { freePort };

/**
 * The run's Redis (test/stores/redis-global-setup.ts): a private redis-server when the binary is
 * installed, else REDIS_URL. '' when there is none: then `connect()` fails saying what to install.
 */
export const REDIS_URL = inject('redisUrl');

export type NodeRedis = ReturnType<typeof createClient>;

/** A connected node-redis client, or a thrown error saying what to install or start. */
export async function connect(url = REDIS_URL): Promise<NodeRedis> {
  if (url === '') throw new Error(inject('redisProblem'));
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`These tests need a Redis server at ${url}, and it does not answer: ${String(error)}`, { cause: error });
  }
  return client;
}

/** A key prefix of the test's own, under this run's namespace (teardown deletes everything in it). */
export function uniquePrefix(name = 'test'): string {
  return `${inject('redisKeyPrefix')}-${name}-${randomUUID().slice(0, 8)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; false after `withinMs` (a bound on waiting, not an assertion on time). */
export async function eventually(check: () => boolean | Promise<boolean>, withinMs = 10_000): Promise<boolean> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

/** A redis-server of the test's own, on a free port, that the test may stop, kill, restart or pause. */
export class TestRedis {
  readonly port: number;
  #process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<TestRedis> {
    return TestRedis.startOn(await freePort());
  }

  static async startOn(port: number): Promise<TestRedis> {
    const server = new TestRedis(port);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#process = spawnRedisServer(this.port);
    const up = await eventually(async () => {
      try {
        const client = await connect(this.url);
        client.destroy();
        return true;
      } catch {
        return false;
      }
    });
    if (!up) throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stops the server (SIGKILL: a crash, not a clean shutdown) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#process = undefined;
  }

  /** Runs a command on the server with a short-lived client. */
  async command(args: string[]): Promise<unknown> {
    const client = await connect(this.url);
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }
}

/** Waits until a store answers (its client has connected), so a test starts from a working store. */
export async function storeReady(store: { get(key: string): Promise<unknown> }): Promise<void> {
  const ok = await eventually(() => store.get('readiness-probe').then(() => true, () => false));
  if (!ok) throw new Error('The store never answered');
}

/**
 * A TCP proxy to the test Redis that holds every connection for `delayMs` before forwarding it
 * (`Infinity`: never), so that a store's first connection takes that long, deterministically.
 */
export async function slowProxy(delayMs: number, target = REDIS_URL): Promise<{ url: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (!Number.isFinite(delayMs)) return;
    socket.pause();
    const timer = setTimeout(() => {
      timers.delete(timer);
      const upstream = net.connect(Number(port || 6379), hostname);
      sockets.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    }, delayMs);
    timers.add(timer);
  });
  const proxyPort = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    close: () => new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
