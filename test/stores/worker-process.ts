import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REDIS_URL } from './redis-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  send(command: Record<string, unknown>): void;
  next(predicate: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

const workers: Worker[] = [];

/** Starts a worker process (via tsx) with its own engine on the shared Redis under `prefix`. */
export async function startWorker(prefix: string, env: Record<string, string> = {}): Promise<Worker> {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(here, 'fixtures/worker.ts')], {
    cwd: root, env: { ...process.env, REDIS_URL, PREFIX: prefix, ...env },
  });
  const messages: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    messages.push(JSON.parse(line) as Record<string, unknown>);
    for (const listener of listeners) listener();
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const next: Worker['next'] = (predicate) => new Promise((resolve, reject) => {
    const check = (): void => {
      const index = messages.findIndex(predicate);
      if (index >= 0) {
        listeners.delete(check);
        resolve(messages.splice(index, 1)[0]!);
      }
    };
    listeners.add(check);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${stderr}`)));
    check();
  });
  const ready = await next((m) => m.ready === true);
  const worker: Worker = { child, pid: ready.pid as number, send: (c) => child.stdin.write(`${JSON.stringify(c)}\n`), next };
  workers.push(worker);
  return worker;
}

/** Kills every worker started so far (afterEach). */
export function killWorkers(): void {
  for (const w of workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
}
