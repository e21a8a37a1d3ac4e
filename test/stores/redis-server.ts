// Starting a private redis-server for tests; no vitest imports, so the global setup can use it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { createClient } from 'redis';

/** What to do when the tests have no Redis; the one message every Redis test fails with. */
export const NO_REDIS = 'These tests need Redis: install redis-server (Debian/Ubuntu: `apt-get install redis-server`) '
  + 'so they start a private one on a free port, or set REDIS_URL=redis://host:port to a server they may write to';

/** True when a `redis-server` binary is on the PATH. */
export function redisServerInstalled(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Spawns redis-server on loopback: no persistence, nothing written to the working folder. */
export function spawnRedisServer(port: number): ChildProcess {
  return spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(),
  ], { stdio: 'ignore' });
}

/** Resolves once a server at `url` answers PING; rejects with the last error after `withinMs`. */
export async function waitForRedis(url: string, withinMs = 10_000, alive: () => boolean = () => true): Promise<void> {
  const end = Date.now() + withinMs;
  for (;;) {
    const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() >= end || !alive()) throw error;
    } finally {
      if (client.isOpen) client.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
