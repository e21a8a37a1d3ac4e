import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How a child `node` process ended. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  /** `module` runs `source` as ESM (top-level await allowed), `commonjs` as a CommonJS script. @default 'module' */
  type?: 'module' | 'commonjs';
  /** Extra `node` flags, such as `--expose-gc`. */
  flags?: readonly string[];
  /** Arguments after the script, as `process.argv[1]` onwards. */
  args?: readonly string[];
}

/**
 * Runs `source` in a fresh `node` process from the repository root, with the TypeScript sources
 * loadable (`./src/index.ts`) through tsx. Nothing else keeps that process alive: it exits once
 * its own work is done, or early when what it waits for does not keep it alive (an ESM script then
 * exits with code 13, a CommonJS one with 0 and no output). The parent can serve it meanwhile.
 */
export function runNode(source: string, options: ChildOptions = {}): Promise<ChildResult> {
  const loader = options.type === 'commonjs' ? ['--require', 'tsx/cjs'] : ['--import', 'tsx', '--input-type=module'];
  const argv = [...(options.flags ?? []), ...loader, '-e', source, ...(options.args ?? [])];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
