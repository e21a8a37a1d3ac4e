// Run inside the scratch project: imports every entry point the installed package's exports map
// names (ESM) and prints their export names as JSON, for check-package.mjs to compare with CJS.
import { createRequire } from 'node:module';

const manifest = createRequire(import.meta.url)('llm-optimization-engine/package.json');
const names = {};
for (const subpath of Object.keys(manifest.exports)) {
  if (subpath === './package.json') continue;
  const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
  const module = await import(specifier);
  for (const [name, value] of Object.entries(module)) {
    if (value === undefined) throw new Error(`${specifier}: export ${name} is undefined`);
  }
  names[subpath] = Object.keys(module).filter((name) => name !== 'default').sort();
}
console.log(JSON.stringify(names));
