import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['src', 'test', 'bench', 'examples', 'scripts', '.ci'];
const ROOT_FILES = ['package.json', 'tsconfig.json', 'tsup.config.ts', 'vitest.config.ts', 'eslint.config.js', '.npmrc'];
const CODE = /\.(?:[cm]?[jt]s|json)$|^run$/;

function filesUnder(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (CODE.test(entry.name)) out.push(full);
  }
  return out;
}

const files = [
  ...FOLDERS.flatMap((folder) => filesUnder(path.join(root, folder))),
  ...ROOT_FILES.map((name) => path.join(root, name)).filter((file) => statSync(file, { throwIfNoEntry: false }) !== undefined),
];

/** Relative paths written in a file that, resolved from the file's folder, land outside the repository. */
function escapingPaths(file: string, text: string): string[] {
  const literals = text.match(/(?<=['"`])(?:\.\.\/)+[^'"`\s]*/g) ?? [];
  return literals.filter((literal) => path.relative(root, path.resolve(path.dirname(file), literal)).startsWith('..'));
}

describe('the repository is self-contained', () => {
  it('finds the files it checks', () => {
    expect(files.some((file) => file.endsWith(path.join('test', 'repository.test.ts')))).toBe(true);
    expect(files.length).toBeGreaterThan(50);
  });

  it('has no code, test, bench, example, script or config that reads a folder beside the repository', () => {
    const offenders: string[] = [];
    for (const file of files) {
      if (file === fileURLToPath(import.meta.url)) continue;
      const text = readFileSync(file, 'utf8');
      const where = path.relative(root, file);
      if (/\/work\/shared|\.\.[\\/]+shared\b|['"]\.\.['"]\s*,\s*['"]shared['"]/.test(text)) offenders.push(`${where}: names ../shared`);
      for (const literal of escapingPaths(file, text)) offenders.push(`${where}: ${literal}`);
    }
    expect(offenders).toEqual([]);
  });
});
