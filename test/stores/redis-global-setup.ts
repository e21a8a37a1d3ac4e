// vitest globalSetup: one Redis for the whole run. A private redis-server on a free port when the
// binary is installed, else the server REDIS_URL names. Every key a test writes is under this run's
// prefix; teardown deletes them, and on the private server fails the run if anything else was left.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createClient } from 'redis';
import { freePort, NO_REDIS, redisServerInstalled, spawnRedisServer, waitForRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis the tests use; '' when there is none (then `redisProblem` says what to do). */
    redisUrl: string;
    /** Every test key starts with it (`uniquePrefix()`), so teardown deletes exactly this run's keys. */
    redisKeyPrefix: string;
    redisProblem: string;
  }
}

interface RunRedis {
  url: string;
  private: boolean;
  stop(): Promise<void>;
}

async function startPrivate(): Promise<RunRedis> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawnRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    try {
      await waitForRedis(url, 10_000, () => child.exitCode === null);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      return { url, private: true, stop: async () => { child.kill('SIGKILL'); await exited; } };
    } catch (error) {
      child.kill('SIGKILL');
      // Another process may have taken the free port in between: try another one.
      if (attempt === 3) throw new Error(`redis-server did not start on 127.0.0.1 (${String(error)})`, { cause: error });
    }
  }
}

async function findRedis(): Promise<RunRedis | string> {
  if (redisServerInstalled()) return startPrivate();
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '') return NO_REDIS;
  try {
    await waitForRedis(url, 3000);
  } catch (error) {
    return `REDIS_URL=${url} does not answer (${String(error)}). ${NO_REDIS}`;
  }
  return { url, private: false, stop: async () => undefined };
}

async function removeRunKeys(url: string, prefix: string, isPrivate: boolean): Promise<void> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
    if (!isPrivate) return;
    const left = await client.keys('*');
    if (left.length > 0) {
      throw new Error(`Tests left ${left.length} Redis key(s) outside their uniquePrefix() namespace: ${left.slice(0, 10).join(', ')}`);
    }
  } finally {
    client.destroy();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const prefix = `llmoe-test-${randomUUID().slice(0, 8)}`;
  project.provide('redisKeyPrefix', prefix);
  const redis = await findRedis();
  if (typeof redis === 'string') {
    project.provide('redisUrl', '');
    project.provide('redisProblem', redis);
    return async () => undefined;
  }
  project.provide('redisUrl', redis.url);
  project.provide('redisProblem', '');
  return async () => {
    try {
      await removeRunKeys(redis.url, prefix, redis.private);
    } catch (error) {
      process.exitCode = 1; // vitest only reports a teardown error: a run that leaves keys must fail
      throw error;
    } finally {
      await redis.stop();
    }
  };
}
