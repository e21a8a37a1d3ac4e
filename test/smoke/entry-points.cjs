// Run inside the scratch project: requires every entry point the installed package's exports map
// names (CommonJS) and prints their export names as JSON, for check-package.mjs to compare with ESM.
const manifest = require('llm-optimization-engine/package.json');

const names = {};
for (const subpath of Object.keys(manifest.exports)) {
  if (subpath === './package.json') continue;
  const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
  const module = require(specifier);
  for (const [name, value] of Object.entries(module)) {
    if (value === undefined) throw new Error(`${specifier}: export ${name} is undefined`);
  }
  names[subpath] = Object.keys(module).filter((name) => name !== 'default' && name !== '__esModule').sort();
}
console.log(JSON.stringify(names));
