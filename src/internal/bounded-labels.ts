/** The label that every name past a `BoundedLabels` bound shares. */
export const OTHER_LABEL = '(other)';

/**
 * A map from caller-chosen names (models, scopes, anomaly types) to per-name state that holds at
 * most `maxLabels` labels, so a name per tenant cannot grow memory without bound. The first
 * `maxLabels - 1` distinct names get their own entry; every later one shares `OTHER_LABEL`, whose
 * room is reserved from the start. No recursion, no throwing: `get` always returns an entry.
 * A caller who names something `'(other)'` shares that entry too.
 */
export class BoundedLabels<V> {
  readonly #maxLabels: number;
  readonly #create: (label: string) => V;
  readonly #other: string;
  readonly #entries = new Map<string, V>();

  /** `create(label)` builds the state of a new label (the label it is stored under). */
  constructor(maxLabels: number, create: (label: string) => V, otherLabel = OTHER_LABEL) {
    if (!Number.isInteger(maxLabels) || maxLabels < 1) {
      throw new RangeError(`\`maxLabels\` must be an integer of at least 1, received ${String(maxLabels)}`);
    }
    this.#maxLabels = maxLabels;
    this.#create = create;
    this.#other = otherLabel;
  }

  /** The state of `name`, created on first use, or the shared other state once the bound is reached. */
  get(name: string): V {
    const existing = this.#entries.get(name);
    if (existing !== undefined) return existing;
    const named = this.#entries.size - (this.#entries.has(this.#other) ? 1 : 0);
    const label = named < this.#maxLabels - 1 ? name : this.#other;
    let entry = this.#entries.get(label);
    if (entry === undefined) {
      entry = this.#create(label);
      this.#entries.set(label, entry);
    }
    return entry;
  }

  /** The state of `name` if it has one of its own, without creating it. */
  peek(name: string): V | undefined {
    return this.#entries.get(name);
  }

  get size(): number {
    return this.#entries.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.#entries.entries();
  }

  values(): IterableIterator<V> {
    return this.#entries.values();
  }

  /** A plain record of `project(state)` per label. Defined as own properties, so a name like `__proto__` is kept, never turned into a prototype. */
  toRecord<R>(project: (value: V) => R): Record<string, R> {
    const out: Record<string, R> = {};
    for (const [label, value] of this.#entries) {
      Object.defineProperty(out, label, { value: project(value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  clear(): void {
    this.#entries.clear();
  }
}
