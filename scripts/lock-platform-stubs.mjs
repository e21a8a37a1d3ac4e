// Adds lock entries for node-llama-cpp's platform packages that the registry these machines use
// does not serve (macOS, Windows, riscv64). npm records an optional dependency it cannot resolve as
// missing, and `npm ci` then refuses the lock file as out of sync. With an entry that carries its
// `os`/`cpu`, `npm ci` skips the package on this platform without fetching it.
// Run after any `npm install` that rewrites package-lock.json: `node scripts/lock-platform-stubs.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'linux-riscv64': ['linux', 'riscv64'],
  'mac-arm64-metal': ['darwin', 'arm64'],
  'mac-x64': ['darwin', 'x64'],
  'win-arm64': ['win32', 'arm64'],
  'win-x64': ['win32', 'x64'],
  'win-x64-cuda': ['win32', 'x64'],
  'win-x64-cuda-ext': ['win32', 'x64'],
  'win-x64-vulkan': ['win32', 'x64'],
};

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const version = lock.packages['node_modules/node-llama-cpp']?.version;
if (version === undefined) throw new Error('node-llama-cpp is not in package-lock.json');
let added = 0;
for (const [name, [os, cpu]] of Object.entries(PLATFORMS)) {
  const key = `node_modules/@node-llama-cpp/${name}`;
  if (lock.packages[key] !== undefined) continue;
  lock.packages[key] = {
    version,
    resolved: `https://registry.npmjs.org/@node-llama-cpp/${name}/-/${name}-${version}.tgz`,
    cpu: [cpu], dev: true, license: 'MIT', optional: true, os: [os],
  };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform stub(s) added`);
