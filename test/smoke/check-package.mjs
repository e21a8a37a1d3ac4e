// `npm run test:package`: checks the package users get. Packs the repository as `npm publish`
// would (its `prepack` builds dist/), lints the tarball (publint, attw), installs it into a scratch
// project in a temporary folder (offline: from the npm cache, versions pinned by this repository's
// lock file), then there imports every entry point through ESM and CJS and runs the smoke tests and
// the README's quick start. Prints one line per check; a failing check prints what its tool said.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const PEERS = ['ollama', '@langchain/core']; // what the README quick start imports besides the package, and the peers entry points load (/langchain: @langchain/core)

class CheckFailure extends Error {}

/** Runs a command; resolves with its stdout, or fails the check with everything it printed. */
function run(command, args, { cwd = root, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const why = error.killed ? `did not finish within ${timeoutMs} ms` : `exited with ${error.code}`;
      reject(new CheckFailure(`\`${path.basename(command)} ${args.join(' ')}\` ${why}\n${stdout}${stderr}`));
    });
  });
}

function expect(condition, message) {
  if (!condition) throw new CheckFailure(message);
}

/** Every file the manifest points users at: main, module, types and each exports target. */
function publishedTargets(pkg) {
  const targets = new Set([pkg.main, pkg.module, pkg.types].filter(Boolean));
  const walk = (value) => {
    if (typeof value === 'string') targets.add(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  return [...targets].map((target) => path.posix.normalize(target));
}

async function checkTarball(tarball) {
  const files = (await run('tar', ['-tzf', tarball])).split('\n').filter(Boolean).map((file) => file.replace(/^package\//, ''));
  const missing = publishedTargets(manifest).filter((target) => !files.includes(target));
  expect(missing.length === 0, `the tarball lacks files its package.json points at (is \`prepack\` building dist/?): ${missing.join(', ')}`);
  const packed = JSON.parse(await run('tar', ['-xzOf', tarball, 'package/package.json']));
  expect(typeof packed.repository?.url === 'string', 'package.json has no `repository` field');
  // An import kept only for its side effects means a bundle loads a module it does not use.
  const bare = [];
  for (const file of files.filter((f) => /^dist\/[^/]+\.c?js$/.test(f))) {
    const text = await run('tar', ['-xzOf', tarball, `package/${file}`]);
    for (const match of text.matchAll(/^(?:import ['"]([^'"]+)['"];|require\(['"]([^'"]+)['"]\);)$/gm)) bare.push(`${file}: ${match[1] ?? match[2]}`);
  }
  expect(bare.length === 0, `entry points load modules they do not use: ${bare.join(', ')}`);
  return `${files.length} files, every file package.json points at`;
}

/** The repository's lock entry for `name` as resolved from `from` (a lock path), Node's way. */
function lockPath(lock, name, from) {
  for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    expect(base !== '', `${name} is not in package-lock.json`);
  }
}

/** A lock file for the scratch project: the tarball, plus its dependencies and PEERS at this repository's versions. */
function scratchLock(tarball, rootPackage) {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages = {
    '': rootPackage,
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: `file:${path.basename(tarball)}`,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dependencies: manifest.dependencies ?? {},
    },
  };
  const add = (name, from) => {
    const at = lockPath(lock, name, from);
    if (packages[at] !== undefined) return;
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[at];
    packages[at] = entry;
    for (const dependency of Object.keys(entry.dependencies ?? {})) add(dependency, at);
  };
  for (const name of Object.keys(manifest.dependencies ?? {})) add(name, '');
  for (const name of PEERS) add(name, '');
  return { name: rootPackage.name, lockfileVersion: 3, requires: true, packages };
}

async function install(tarball, app) {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const peers = Object.fromEntries(PEERS.map((name) => [name, lock.packages[lockPath(lock, name, '')].version]));
  const rootPackage = { name: 'scratch-app', version: '1.0.0', private: true, dependencies: { [manifest.name]: `file:${path.basename(tarball)}`, ...peers } };
  writeFileSync(path.join(app, 'package.json'), `${JSON.stringify(rootPackage, null, 2)}\n`);
  writeFileSync(path.join(app, 'package-lock.json'), `${JSON.stringify(scratchLock(tarball, rootPackage), null, 2)}\n`);
  await run(npm, ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  const installed = readdirSync(path.join(app, 'node_modules')).filter((name) => !name.startsWith('.') && name !== manifest.name);
  return `${manifest.name}, its dependencies and the README's peers, offline: ${installed.join(', ')}`;
}

async function entryPoints(app) {
  for (const file of ['entry-points.mjs', 'entry-points.cjs']) copyFileSync(path.join(here, file), path.join(app, file));
  const esm = JSON.parse(await run(process.execPath, ['entry-points.mjs'], { cwd: app }));
  const cjs = JSON.parse(await run(process.execPath, ['entry-points.cjs'], { cwd: app }));
  const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json');
  for (const subpath of subpaths) {
    expect(esm[subpath]?.length > 0, `${subpath} has no ESM exports`);
    expect(JSON.stringify(esm[subpath]) === JSON.stringify(cjs[subpath]),
      `${subpath} exports differ between ESM and CJS:\nESM ${esm[subpath]}\nCJS ${cjs[subpath]}`);
  }
  return subpaths.map((subpath) => `${subpath} (${esm[subpath].length})`).join(', ');
}

async function smoke(app) {
  for (const file of ['smoke.mjs', 'smoke.cjs']) {
    copyFileSync(path.join(here, file), path.join(app, file));
    await run(process.execPath, [file], { cwd: app, timeoutMs: 30_000 });
  }
  return 'one cached call through ESM and through CJS';
}

/**
 * The README's quick start as a user would paste it: its code blocks, with `callMyModel` defined
 * and `new Ollama()` pointed at the test kit's server (a mock model) instead of a real Ollama. The
 * process must then exit by itself: the quick start does not close the engine.
 */
function quickStartModule(readme) {
  const section = readme.split(/^## /m).find((part) => part.startsWith('Quick start'));
  expect(section !== undefined, 'README has no "## Quick start" section');
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => match[1]);
  expect(blocks.length >= 1, 'README\'s quick start has no ```ts block');
  const code = blocks.join('\n');
  expect(code.includes('callMyModel(') && code.split('new Ollama()').length <= 2, 'README\'s quick start changed shape: update quickStartModule()');
  return [
    "import assert from 'node:assert/strict';",
    "import { createMockModel, startOllamaTestServer } from 'llm-optimization-engine/testing';",
    'const testServer = await startOllamaTestServer({ backend: createMockModel() });',
    'let modelCalls = 0;',
    'const callMyModel = async (prompt, model, signal) => (signal.throwIfAborted(), modelCalls++, `${model} answers: ${prompt}`);',
    '// ---- README ----',
    code.replace('new Ollama()', 'new Ollama({ host: testServer.url })'),
    '// ---- checks ----',
    "assert.equal(typeof answer, 'string');",
    'assert.equal(modelCalls, 1);',
    ...(code.includes('new Ollama()') ? ["assert.equal(testServer.requests.filter((r) => r.path === '/api/generate').length, 1);"] : []),
    'await testServer.close();',
  ].join('\n');
}

async function quickStart(app) {
  writeFileSync(path.join(app, 'quick-start.mjs'), quickStartModule(readFileSync(path.join(root, 'README.md'), 'utf8')));
  await run(process.execPath, ['quick-start.mjs'], { cwd: app, timeoutMs: 30_000 });
  return 'ran as written, with a mock model behind callMyModel and the Ollama client; exited by itself';
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), 'llmoe-package-'));
  const app = path.join(work, 'app');
  mkdirSync(app);
  let tarball;
  const checks = [
    ['npm pack (prepack builds dist/)', async () => {
      await run(npm, ['pack', '--pack-destination', app, '--loglevel=error']);
      tarball = path.join(app, readdirSync(app).find((name) => name.endsWith('.tgz')));
      return path.basename(tarball);
    }],
    ['tarball contents', () => checkTarball(tarball)],
    ['publint --strict', async () => (await run(bin('publint'), ['--strict', tarball]), 'no problems')],
    ['attw --profile node16', async () => {
      await run(bin('attw'), [tarball, '--profile', 'node16', '--format', 'json']).catch(async () => {
        throw new CheckFailure(await run(bin('attw'), [tarball, '--profile', 'node16', '--format', 'table-flipped']).catch((e) => e.message));
      });
      return 'types resolve for every entry point under node16 (CJS and ESM) and bundlers';
    }],
    ['install into a scratch project', () => install(tarball, app)],
    ['every entry point, ESM and CJS export the same names', () => entryPoints(app)],
    ['smoke', () => smoke(app)],
    ['README quick start', () => quickStart(app)],
  ];
  try {
    for (const [name, check] of checks) {
      try {
        const started = Date.now();
        const result = await check();
        console.log(`  ✓ ${name}: ${result} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        console.log(`  ✗ ${name}`);
        console.error(error instanceof CheckFailure ? error.message : error);
        process.exitCode = 1;
        return;
      }
    }
    console.log(`package ok (${path.basename(tarball)})`);
  } finally {
    if (process.env.KEEP_PACKAGE_CHECK === undefined) rmSync(work, { recursive: true, force: true });
    else console.log(`scratch project kept in ${app}`);
  }
}

await main();
