// Shared validation for the testing kit's options: every failure names the option in backticks
// and echoes the value received, so a typo in a test setup is obvious from the message alone.

const show = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  try {
    return String(JSON.stringify(value) ?? String(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
};

export function expectNonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`\`${name}\` must be a number, received ${show(value)}`);
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`\`${name}\` must be a finite number >= 0, received ${show(value)}`);
  }
  return value;
}

export function expectPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`\`${name}\` must be a number, received ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`\`${name}\` must be an integer >= 1, received ${show(value)}`);
  }
  return value;
}

export function expectFiniteNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`\`${name}\` must be a number, received ${show(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`\`${name}\` must be a finite number, received ${show(value)}`);
  }
  return value;
}

export function expectFunction<T>(name: string, value: unknown): T {
  if (typeof value !== 'function') {
    throw new TypeError(`\`${name}\` must be a function, received ${show(value)}`);
  }
  return value as T;
}

export function expectString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`\`${name}\` must be a non-empty string, received ${show(value)}`);
  }
  return value;
}

export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const list = allowed.map((item) => `'${item}'`).join(' | ');
    throw new TypeError(`\`${name}\` must be ${list}, received ${show(value)}`);
  }
  return value as T;
}

/** Rejects keys that are not in `known`, so a misspelt option never silently does nothing. */
export function rejectUnknownKeys(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown ${what} option \`${key}\``);
    }
  }
}

export function expectOptionsObject(what: string, value: unknown): object {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`\`${what}\` options must be an object, received ${show(value)}`);
  }
  return value;
}

export { show as describeValue };
