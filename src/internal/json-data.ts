/**
 * Checks of JSON parsed from outside the process (store entries, state files). They look at the
 * parsed value, never at the text: `"\u005f_proto__"` is the key `__proto__` once parsed, and a
 * check of the text for the literal `"__proto__"` misses it.
 */

/**
 * Why `value`, as `JSON.parse` returned it, must not be used as plain data, or `undefined` when it
 * can be: nesting deeper than `maxDepth`, a `__proto__` key (an own `__proto__` property sets the
 * prototype of whatever it is later assigned or spread into), a `constructor` object with a
 * `prototype` key (the shape merge functions pollute through), or a number JSON text can produce but
 * JSON data cannot hold (`1e400` parses to `Infinity`). Iterative: a deeply nested value cannot
 * overflow the stack here.
 */
export function jsonDataProblem(value: unknown, maxDepth: number): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v === 'number' && !Number.isFinite(v)) return 'a number out of range';
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return `nesting deeper than ${maxDepth}`;
    if (Array.isArray(v)) {
      for (const element of v) stack.push([element, depth + 1]);
      continue;
    }
    for (const [key, child] of Object.entries(v) as [string, unknown][]) {
      if (key === '__proto__') return 'a `__proto__` key (prototype poisoning)';
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return 'a `constructor.prototype` key (prototype poisoning)';
      }
      stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
