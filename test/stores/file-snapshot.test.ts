import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSnapshot, readSnapshot, removeStaleTempFiles, writeSnapshot } from '../../src/stores/file-snapshot.js';
import { FORMAT, payload } from './fixtures/snapshot-payload.js';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmoe-snapshot-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('writeSnapshot / readSnapshot', () => {
  it('round-trips data and the save time', async () => {
    const file = join(dir, 'round-trip.json');
    await writeSnapshot(file, FORMAT, { a: [1, 'two', null], b: { c: true } }, new Date(0));
    expect(await readSnapshot(file, FORMAT)).toEqual({ status: 'ok', data: { a: [1, 'two', null], b: { c: true } }, savedAt: '1970-01-01T00:00:00.000Z' });
  });

  it('creates the file readable by its owner only', async () => {
    const file = join(dir, 'mode.json');
    await writeSnapshot(file, FORMAT, {});
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('reports a missing file as missing', async () => {
    expect(await readSnapshot(join(dir, 'absent.json'), FORMAT)).toEqual({ status: 'missing' });
  });

  const valid = (data: unknown) => JSON.stringify({ format: FORMAT, version: 1, saved_at: 'x', sha256: 'not-the-hash', data });
  it.each([
    ['empty', '', 'the file is empty'],
    ['NUL-filled', '\0'.repeat(64), 'the file is not JSON'],
    ['truncated', '{"format":"llm-optimization-engine/kill-test","version":1,"sa', 'the file is not JSON'],
    ['foreign JSON', '{"name":"my-app","version":"1.0.0"}', `the file is not a ${FORMAT} snapshot`],
    ['another format', JSON.stringify({ format: 'other', version: 1 }), `the file is not a ${FORMAT} snapshot`],
    ['another version', JSON.stringify({ format: FORMAT, version: 2 }), 'the snapshot has version 2, expected 1'],
    ['a bad checksum', valid({ a: 1 }), 'the snapshot checksum does not match'],
    ['a JSON array', '[1,2,3]', `the file is not a ${FORMAT} snapshot`],
  ])('reports %s as invalid and moves it aside, keeping its content', async (name, content, reason) => {
    const file = join(dir, `corrupt-${name.replace(/\W/g, '-')}.json`);
    await writeFile(file, content);
    const read = await readSnapshot(file, FORMAT, 1234);
    expect(read).toEqual({ status: 'invalid', reason, movedTo: `${file}.corrupt-1234` });
    expect(await readFile(`${file}.corrupt-1234`, 'utf8')).toBe(content);
    expect(await readSnapshot(file, FORMAT)).toEqual({ status: 'missing' });
  });

  it('never throws on random file content (100 variants)', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.json().map((j) => new TextEncoder().encode(j))), async (bytes) => {
      const file = join(dir, 'fuzz.json');
      await writeFile(file, bytes);
      const read = await readSnapshot(file, FORMAT, 1);
      expect(read.status).toBe('invalid');
      await rm(`${file}.corrupt-1`, { force: true });
    }), { numRuns: 100 });
  });

  it.each([
    ['an escaped __proto__ key', '{"a":{"\\u005f_proto__":{"polluted":true}}}', 'the file holds a `__proto__` key (prototype poisoning)'],
    ['a constructor.prototype key', '{"constructor":{"prototype":{"polluted":true}}}', 'the file holds a `constructor.prototype` key (prototype poisoning)'],
    ['nesting 100 000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'the file holds nesting deeper than 300'],
  ])('refuses a snapshot with a matching checksum but %s in its data', async (name, body, reason) => {
    const file = join(dir, `poison-${name.replace(/\W/g, '-')}.json`);
    // The checks of the parsed value come before the checksum (JSON.stringify would overflow on the deep one).
    const sha = name.startsWith('nesting') ? '0'.repeat(64) : createHash('sha256').update(JSON.stringify(JSON.parse(body))).digest('hex');
    await writeFile(file, `{"format":"${FORMAT}","version":1,"saved_at":"x","sha256":"${sha}","data":${body}}`);
    expect(await readSnapshot(file, FORMAT, 7)).toEqual({ status: 'invalid', reason, movedTo: `${file}.corrupt-7` });
  });

  it('drops __proto__ keys on read, leaving Object.prototype alone', async () => {
    const file = join(dir, 'proto.json');
    await writeFile(file, `{"format":"${FORMAT}","version":1,"__proto__":{"polluted":true}}`);
    await readSnapshot(file, FORMAT, 5);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('leaves no temporary file behind when the write fails', async () => {
    await expect(writeSnapshot(join(dir, 'no-such-dir', 'state.json'), FORMAT, {})).rejects.toMatchObject({ code: 'ENOENT' });
    // The rename over a directory fails after the temporary file was written: it must be removed.
    const directory = join(dir, 'a-directory');
    await mkdir(directory);
    await expect(writeSnapshot(directory, FORMAT, {})).rejects.toMatchObject({ code: 'EISDIR' });
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes through a symbolic link: the link stays a link and the file it points at gets the snapshot', async () => {
    const folder = join(dir, 'link-target');
    await mkdir(folder);
    const target = join(folder, 'real.json');
    const link = join(dir, 'link.json');
    await writeSnapshot(target, FORMAT, { v: 1 });
    await symlink(target, link);
    await writeSnapshot(link, FORMAT, { v: 2 });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readSnapshot(target, FORMAT)).toMatchObject({ status: 'ok', data: { v: 2 } });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    // The temporary file was written beside the target (same file system), and none is left.
    expect((await readdir(folder)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes through a dangling link and a chain of relative links, creating the file they point at', async () => {
    const folder = join(dir, 'chain');
    await mkdir(folder);
    await symlink('second.json', join(folder, 'first.json'));
    await symlink('real.json', join(folder, 'second.json'));
    await writeSnapshot(join(folder, 'first.json'), FORMAT, { v: 'chained' });
    expect((await lstat(join(folder, 'first.json'))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(folder, 'second.json'))).isSymbolicLink()).toBe(true);
    expect(await readSnapshot(join(folder, 'real.json'), FORMAT)).toMatchObject({ status: 'ok', data: { v: 'chained' } });
  });

  it('refuses a loop of links instead of replacing one of them', async () => {
    const folder = join(dir, 'loop');
    await mkdir(folder);
    await symlink('b.json', join(folder, 'a.json'));
    await symlink('a.json', join(folder, 'b.json'));
    await expect(writeSnapshot(join(folder, 'a.json'), FORMAT, {})).rejects.toMatchObject({ code: 'ELOOP' });
    expect((await lstat(join(folder, 'a.json'))).isSymbolicLink()).toBe(true);
  });

  it('moves a damaged file behind a link aside, keeping the link, so the next save recreates the file behind it', async () => {
    const folder = join(dir, 'damaged-behind-link');
    await mkdir(folder);
    const target = join(folder, 'real.json');
    const link = join(dir, 'damaged-link.json');
    await writeFile(target, 'not json');
    await symlink(target, link);
    const read = await readSnapshot(link, FORMAT, 1234);
    expect(read).toEqual({ status: 'invalid', reason: 'the file is not JSON', movedTo: `${target}.corrupt-1234` });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    await writeSnapshot(link, FORMAT, { v: 'fresh' });
    expect(await readSnapshot(target, FORMAT)).toMatchObject({ status: 'ok', data: { v: 'fresh' } });
  });

  it('FileSnapshot.prepare creates the missing folders of the file (mode 0700) and rejects when it cannot', async () => {
    const file = join(dir, 'new', 'nested', 'state.json');
    await new FileSnapshot(file, FORMAT).prepare();
    expect((await stat(dirname(file))).mode & 0o777).toBe(0o700);
    await new FileSnapshot(file, FORMAT).save({ ok: true });
    expect(await readSnapshot(file, FORMAT)).toMatchObject({ status: 'ok', data: { ok: true } });
    await writeFile(join(dir, 'a-file'), '');
    await expect(new FileSnapshot(join(dir, 'a-file', 'state.json'), FORMAT).prepare()).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('FileSnapshot serializes the saves of one process: the last one wins', async () => {
    const snapshot = new FileSnapshot(join(dir, 'serial.json'), FORMAT);
    await Promise.all(Array.from({ length: 20 }, (_, i) => snapshot.save({ i })));
    expect(await snapshot.load()).toMatchObject({ status: 'ok', data: { i: 19 } });
  });
});

/**
 * Compiles the module under test (and the payload) to plain ESM next to a writer script, so each
 * child starts in tens of milliseconds: plain `node`, no loader. The writer loops snapshot writes
 * until it is killed.
 */
async function prepareWriter(into: string): Promise<string> {
  const compile = async (source: string, target: string): Promise<void> => {
    const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    await mkdir(dirname(join(into, target)), { recursive: true });
    await writeFile(join(into, target), outputText);
  };
  // The same layout as src/, so that file-snapshot's own imports resolve.
  await writeFile(join(into, 'package.json'), '{"type":"module"}');
  await compile(join(here, '../../src/stores/file-snapshot.ts'), 'stores/file-snapshot.js');
  await compile(join(here, '../../src/internal/json-data.ts'), 'internal/json-data.js');
  await compile(join(here, 'fixtures/snapshot-payload.ts'), 'snapshot-payload.mjs');
  const writer = join(into, 'writer.mjs');
  await writeFile(writer, [
    "import { writeSnapshot } from './stores/file-snapshot.js';",
    "import { FORMAT, payload } from './snapshot-payload.mjs';",
    'const path = process.argv[2];',
    'await writeSnapshot(path, FORMAT, payload(0));',
    "process.stdout.write('ready\\n');",
    'for (let seq = 1; ; seq++) await writeSnapshot(path, FORMAT, payload(seq));',
  ].join('\n'));
  return writer;
}

/** Starts a writer child, kills it with SIGKILL a random moment after its first complete write, and resolves once it is dead. */
function killDuringWrites(writer: string, file: string, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}: ${stderr}`))));
  });
}

describe('crash safety', () => {
  it('a writer killed with SIGKILL at 200 random moments always leaves a valid file (the old or the new snapshot)', async () => {
    const killDir = await mkdtemp(join(tmpdir(), 'llmoe-kill-'));
    const writer = await prepareWriter(killDir);
    const kills = 200;
    const parallel = 4;
    let leftovers = 0;
    const seqs: number[] = [];
    for (let start = 0; start < kills; start += parallel) {
      const batch = Array.from({ length: Math.min(parallel, kills - start) }, (_, i) => join(killDir, `state-${start + i}.json`));
      await Promise.all(batch.map((file) => killDuringWrites(writer, file, Math.floor(Math.random() * 40))));
      for (const file of batch) {
        const read = await readSnapshot(file, FORMAT);
        expect(read.status).toBe('ok');
        const data = (read as { data: { seq: number } }).data;
        expect(data).toEqual(payload(data.seq));
        seqs.push(data.seq);
      }
      leftovers += (await readdir(killDir)).filter((n) => n.endsWith('.tmp')).length;
      for (const file of batch) await removeStaleTempFiles(file);
      expect((await readdir(killDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }
    // Evidence the kills landed inside writes: temporary files were left behind, and files were past their first snapshot.
    console.log(`SIGKILL test: ${kills} kills, ${leftovers} killed mid-write (temp file left), snapshots reached seq ${Math.min(...seqs)}..${Math.max(...seqs)}`);
    expect(leftovers).toBeGreaterThan(0);
    await rm(killDir, { recursive: true, force: true });
  }, 300_000);
});

describe('a state file that is not a regular file', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'llmoe-special-'));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it('refuses a FIFO at once (ENOTREGULAR) instead of blocking a thread for good, in prepare() and load()', async () => {
    const fifo = join(folder, 'state.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(readSnapshot(fifo, 'fmt')).rejects.toMatchObject({ code: 'ENOTREGULAR' });
    await expect(new FileSnapshot(fifo, 'fmt').prepare()).rejects.toMatchObject({ code: 'ENOTREGULAR' });
  });

  it('refuses a link to a device (/dev/zero or /dev/urandom would be read without end)', async () => {
    const link = join(folder, 'device.json');
    await symlink('/dev/urandom', link);
    await expect(readSnapshot(link, 'fmt')).rejects.toMatchObject({ code: 'ENOTREGULAR' });
    await expect(new FileSnapshot(link, 'fmt').prepare()).rejects.toMatchObject({ code: 'ENOTREGULAR' });
  });

  it('refuses a folder, and still reads a regular file through a link', async () => {
    await mkdir(join(folder, 'a-folder'));
    await expect(readSnapshot(join(folder, 'a-folder'), 'fmt')).rejects.toMatchObject({ code: 'ENOTREGULAR' });
    const real = join(folder, 'real.json');
    await writeSnapshot(real, 'fmt', { n: 1 });
    await symlink(real, join(folder, 'link.json'));
    expect(await readSnapshot(join(folder, 'link.json'), 'fmt')).toMatchObject({ status: 'ok', data: { n: 1 } });
  });
});
