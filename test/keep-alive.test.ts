import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './node-child.js';

/**
 * One class of defect across src/: a timer that a pending promise depends on must keep the process
 * alive, or a script whose only work is that promise exits before it settles (ESM: exit code 13).
 * Each case runs in a child process where nothing else keeps the event loop alive. The adapters,
 * retry, health and autonomous cases live beside their own tests.
 */
describe('timers a caller waits on keep the process alive', () => {
  it.each([
    ['a store operation past its deadline (TieredCache)', `
      import { OptimizationEngine } from './src/index.ts';
      const stuck = new Promise(() => {});
      const store = { name: 'stuck', timeoutMs: 100, get: () => stuck, set: () => stuck, delete: () => stuck, clear: () => stuck };
      const engine = new OptimizationEngine({ store });
      console.log(await engine.optimizeAiCall('p', 'm', async () => 'answer'));
    `, 'answer'],
    ['a call held while the store is getting ready (TieredCache)', `
      import { OptimizationEngine } from './src/index.ts';
      const stuck = new Promise(() => {});
      const store = { name: 'stuck', timeoutMs: 100, ready: () => stuck, get: () => stuck, set: () => stuck, delete: () => stuck, clear: () => stuck };
      const engine = new OptimizationEngine({ store });
      console.log(await engine.optimizeAiCall('p', 'm', async () => 'answer'));
    `, 'answer'],
    ['a wait for a lock held in the memory store', `
      import { createMemoryStore } from './src/index.ts';
      const store = createMemoryStore();
      await store.acquire('k', { ttlMs: 60_000 });
      console.log(await store.waitFor('k', { timeoutMs: 200 }));
    `, 'false'],
    ['a Redis command that never answers', `
      import { createRedisStore } from './src/redis.ts';
      const store = createRedisStore({ client: { sendCommand: () => new Promise(() => {}) }, prefix: 'keep-alive', timeoutMs: 200 });
      console.log(await store.get('k').catch((error) => error.code));
    `, 'ERR_TIMEOUT'],
    ['the first Redis connection that never comes', `
      import { RedisGuard } from './src/stores/redis-guard.ts';
      const guard = new RedisGuard(new Promise(() => {}), { timeoutMs: 100, retryAfterMs: 1000, clock: { now: () => Date.now() }, connectTimeoutMs: 200 });
      console.log(await guard.ready().catch((error) => error.code));
    `, 'ERR_STORE'],
    ['a poll for a Redis lock release', `
      import { waitForLockRelease } from './src/stores/redis-lock-wait.ts';
      console.log(await waitForLockRelease(async () => false, { timeoutMs: 300 }));
    `, 'false'],
  ])('settles %s', async (_what, source, answer) => {
    const child = await runNode(source);
    expect(child).toMatchObject({ code: 0, stdout: `${answer}\n`, stderr: '' });
  });
});

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Every `.unref(` in src/ that is not in a comment, by file. */
function unrefCalls(): Record<string, number> {
  const found: Record<string, number> = {};
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) {
        const code = readFileSync(path, 'utf8').split('\n').filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line));
        const count = code.filter((line) => /\.unref\?*\.?\(/.test(line)).length;
        if (count > 0) found[relative(SRC, path)] = count;
      }
    }
  };
  visit(SRC);
  return found;
}

describe('unref() in src/', () => {
  it('is used only for idle housekeeping timers that no caller waits on', () => {
    // Adding one here? Only if no pending promise depends on the timer: see docs/decisions/0016.
    expect(unrefCalls()).toEqual({
      // The monitor's sampling intervals.
      'monitor/performance-monitor.ts': 2,
      // The renewal of a held lock: the caller waits on its own exec, not on the renewal. And the
      // retry of a failed invalidation subscription: no caller waits on it (maxStaleMs bounds meanwhile).
      'stores/redis-store.ts': 2,
      // systemTimers.unref, used only for the wait between autonomous runs.
      'optimizer/self-heal.ts': 1,
      'optimizer/autonomous.ts': 1,
      // The warm-up schedule check: background work.
      'forecast/warm-up.ts': 1,
      // withDeadline's `unref` option, used only for a warm-up's deadline (close() ends warm-ups without waiting on it).
      'internal/abort.ts': 1,
    });
  });
});
