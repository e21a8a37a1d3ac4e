import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

describe('a caller waiting on a lock', () => {
  it('keeps the process alive until its wait ends (the timers it waits on are not unref\'d)', async () => {
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(here, 'fixtures/lock-wait-alive.ts')], { cwd: root });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(killer);
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'memory: true\npoll: true\n' });
  });
});
