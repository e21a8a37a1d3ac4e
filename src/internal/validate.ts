/** Option validation shared by every component: one place for the wording of configuration errors. */

/** What a value is, never what it says: for values that may hold a prompt (or any text of a user's). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${type === 'object' ? 'an' : 'a'} ${type}`;
}

/** A value received, for configuration errors: a string is quoted (cut at 40 characters). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'symbol') return value.toString();
  return `${value as number | boolean | bigint | undefined}`;
}

export function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, received ${describe(value)}`);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`\`${name}\` must be a positive finite number, received ${describe(value)}`);
  }
  return value;
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  const n = positiveNumber(name, value, fallback);
  if (value !== undefined && !Number.isInteger(n)) throw new RangeError(`\`${name}\` must be an integer, received ${describe(value)}`);
  return n;
}

export function nonNegativeNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, received ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`\`${name}\` must be a non-negative finite number, received ${describe(value)}`);
  }
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`\`${name}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, received ${describe(value)}`);
}

export function plainObject(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`\`${name}\` must be an object, received ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Throws when `value` holds a key outside `known`: a misspelt option must not be silently ignored. */
export function knownKeys(name: string, value: Record<string, unknown> | undefined, known: readonly string[]): void {
  if (value === undefined) return;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option \`${name}.${key}\`; known options: ${known.join(', ')}`);
    }
  }
}

export function clockOption(name: string, value: unknown): { now(): number } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as { now?: unknown }).now !== 'function') {
    throw new TypeError(`\`${name}\` must be an object with a \`now()\` method, received ${describe(value)}`);
  }
  return value as { now(): number };
}
