import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyStored, storedCopy } from '../../src/internal/value-copy.js';

/** Every object node of a value (arrays included), to check that no two values share one. */
function objectNodes(value: unknown, out: object[] = []): object[] {
  if (typeof value !== 'object' || value === null) return out;
  out.push(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      objectNodes(k, out);
      objectNodes(v, out);
    }
  }
  else if (!ArrayBuffer.isView(value)) for (const child of Object.values(value)) objectNodes(child, out);
  return out;
}

function expectPrivate(copy: unknown, stored: unknown): void {
  const mine = new Set(objectNodes(copy));
  for (const node of objectNodes(stored)) expect(mine.has(node)).toBe(false);
}

const ollamaResponse = () => ({
  model: 'llama3.1:8b', created_at: '2026-12-04T18:00:00Z', response: 'x'.repeat(1024), done: true, done_reason: 'stop',
  context: Array.from({ length: 512 }, (_, i) => i * 7), total_duration: 1, eval_count: 2,
  message: { role: 'assistant', content: 'hi', tool_calls: [{ function: { name: 'f', arguments: { a: [1, { b: 2 }] } } }] },
});

describe('storedCopy and copyStored', () => {
  it('give the data structuredClone gives, sharing no object with the stored value (any JSON data)', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const stored = storedCopy(value);
      const copy = copyStored(stored);
      expect(copy).toStrictEqual(structuredClone(value));
      expectPrivate(copy, stored);
      expectPrivate(stored, value);
    }));
  });

  it('copy an Ollama response deeply: a caller pushing to `context` or editing a tool call changes no later copy', () => {
    const stored = storedCopy(ollamaResponse());
    const first = copyStored(stored);
    first.context.push(-1);
    first.context[0] = -2;
    first.message.content = 'changed';
    (first.message.tool_calls[0]?.function.arguments.a[1] as { b: number }).b = 99;
    expect(copyStored(stored)).toStrictEqual(ollamaResponse());
  });

  it('keep what JSON cannot hold exactly as structuredClone does: Dates, Maps, typed arrays, an array with extra properties', () => {
    const extra = Object.assign([1, 2], { label: 'kept' });
    const value = { at: new Date(5), map: new Map([['k', { v: 1 }]]), bytes: new Float32Array([1.5, 2]), extra, nested: [extra] };
    const stored = storedCopy(value);
    const copy = copyStored(stored);
    expect(copy).toStrictEqual(structuredClone(value));
    expect(copy.extra).toHaveProperty('label', 'kept');
    expect(copy.at).toBeInstanceOf(Date);
    expectPrivate(copy, stored);
  });

  it('keep an own `__proto__` key a key, never the prototype of the copy', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "list": [{"__proto__": [1]}]}') as Record<string, unknown>;
    const copy = copyStored(storedCopy(value));
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(copy).toStrictEqual(structuredClone(value));
  });

  it('copy nesting deeper than the noted depth, and values never stored, with structuredClone', () => {
    let deep: unknown = [1];
    for (let i = 0; i < 100; i++) deep = { child: deep };
    const stored = storedCopy(deep);
    expect(copyStored(stored)).toStrictEqual(deep);
    expectPrivate(copyStored(stored), stored);
    const fresh = { list: [1, { a: 2 }] };
    const copy = copyStored(fresh);
    expect(copy).toStrictEqual(fresh);
    expectPrivate(copy, fresh);
  });

  it('copy values that were never stored like structuredClone does (anything fast-check makes), sharing nothing', () => {
    const anything = fc.anything({
      maxDepth: 4, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true,
      withSparseArray: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true,
    });
    fc.assert(fc.property(anything, (value) => {
      const copy = copyStored(value);
      expect(copy).toStrictEqual(structuredClone(value));
      expectPrivate(copy, value);
    }));
  });

  it('keep the shape of a cyclic value never stored (structuredClone copies it whole)', () => {
    const cyclic: Record<string, unknown> = { list: [1] };
    cyclic['self'] = cyclic;
    const copy = copyStored(cyclic);
    expect(copy['self']).toBe(copy);
    expect(copy).not.toBe(cyclic);
    expect(copy).toStrictEqual(structuredClone(cyclic));
  });

  it('refuse a function or a symbol inside a value never stored, as structuredClone does', () => {
    expect(() => copyStored({ list: [{ f: () => 1 }] })).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
    expect(() => copyStored([Symbol('s')])).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
  });

  it('pass primitives through and refuse what structuredClone refuses', () => {
    expect(storedCopy('text')).toBe('text');
    expect(copyStored(42)).toBe(42);
    expect(() => storedCopy({ f: () => 1 })).toThrow();
  });
});
