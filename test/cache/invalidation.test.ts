import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, ResponseCache } from '../../src/index.js';
import type { EngineEvents } from '../../src/index.js';

describe('invalidation in one process', () => {
  it('removes by tag, by model, by scope, and by all of them together', async () => {
    const engine = new OptimizationEngine();
    const put = (prompt: string, model: string, scope: string, tags?: string[]): Promise<string> =>
      engine.optimizeAiCall(prompt, model, () => `${prompt}|${model}|${scope}`, { scope, ...(tags === undefined ? {} : { tags }) });
    await put('a', 'm1', 's1', ['x', 'y']);
    await put('b', 'm1', 's2', ['y']);
    await put('c', 'm2', 's1');
    await put('d', 'm2', 's2', ['x']);
    expect(await engine.invalidate({ tag: 'x', scope: 's2' })).toEqual({ memory: 1, store: undefined });
    expect(await engine.invalidate({ tag: 'y' })).toEqual({ memory: 2, store: undefined });
    expect(engine.cache.size).toBe(1);
    await put('e', 'm2', 's2');
    expect(await engine.invalidate({ model: 'm2', scope: 's1' })).toMatchObject({ memory: 1 });
    expect(await engine.clear({ scope: 's2' })).toMatchObject({ memory: 1 });
    expect(engine.cache.size).toBe(0);
  });

  it('engine.delete removes one request; the next call runs exec again', async () => {
    const engine = new OptimizationEngine();
    const events: EngineEvents['cache-invalidate'][] = [];
    engine.on('cache-invalidate', (e) => void events.push(e));
    await engine.optimizeAiCall('p', 'm', () => 'v', { scope: 't', params: { temperature: 0 } });
    expect(await engine.delete('p', 'm', { scope: 't' })).toBe(false);
    expect(await engine.delete('p', 'm', { scope: 't', params: { temperature: 0 } })).toBe(true);
    const exec = vi.fn(() => 'again');
    expect(await engine.optimizeAiCall('p', 'm', exec, { scope: 't', params: { temperature: 0 } })).toBe('again');
    expect(events.map((e) => [e.origin, e.command.type, e.removed])).toEqual([['local', 'keys', 0], ['local', 'keys', 1]]);
  });

  it('tags a stored stream too', async () => {
    const engine = new OptimizationEngine();
    const exec = async function* (): AsyncGenerator<string> {
      yield 'a';
      yield 'b';
    };
    const chunks: string[] = [];
    for await (const c of engine.optimizeAiStream('p', 'm', exec, { tags: ['t'] })) chunks.push(c);
    expect(chunks).toEqual(['a', 'b']);
    expect(engine.cache.size).toBe(1);
    expect(await engine.invalidate({ tag: 't' })).toMatchObject({ memory: 1 });
    expect(engine.cache.size).toBe(0);
  });

  it('a rewritten entry carries the tags of its last write only', async () => {
    const cache = new ResponseCache();
    cache.set('p', 'm', 1, { tags: ['old'] });
    cache.set('p', 'm', 2);
    expect(cache.invalidate({ tag: 'old' })).toBe(0);
    expect(cache.get('p', 'm')).toBe(2);
  });

  it('an entry evicted or expired-and-overwritten leaves no tag behind', () => {
    const cache = new ResponseCache({ maxEntries: 2 });
    for (let i = 0; i < 50; i++) cache.set(`p${i}`, 'm', i, { tags: ['t'] });
    expect(cache.invalidate({ tag: 't' })).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('names bad filters', async () => {
    const cache = new ResponseCache();
    expect(() => cache.invalidate({})).toThrow(/`filter` must name at least one of `scope`, `model` and `tag`/);
    expect(() => cache.invalidate({ tags: 'x' } as never)).toThrow(/Unknown option `filter.tags`/);
    expect(() => cache.invalidate({ model: '' })).toThrow(/`model` must be a non-empty string/);
    expect(() => cache.invalidate({ tag: 'x'.repeat(129) })).toThrow(/`tag\[0\]` must be a non-empty string of at most 128/);
    expect(() => cache.clear({ scopes: 'x' } as never)).toThrow(/Unknown option `options.scopes`/);
    await expect(new OptimizationEngine().clear({ all: true } as never)).rejects.toThrow(/Unknown option `options.all`/);
  });

  it('removes exactly the entries matching every field given (property)', () => {
    const scopes = ['', 's1', 's2'];
    const models = ['m1', 'm2'];
    const tagPool = ['a', 'b', 'c'];
    const entry = fc.record({
      prompt: fc.string({ maxLength: 4 }),
      scope: fc.constantFrom(...scopes),
      model: fc.constantFrom(...models),
      tags: fc.subarray(tagPool),
    });
    const filter = fc.record({ scope: fc.constantFrom(...scopes), model: fc.constantFrom(...models), tag: fc.constantFrom(...tagPool) }, { requiredKeys: [] })
      .filter((f) => Object.keys(f).length > 0);
    fc.assert(fc.property(fc.array(entry, { maxLength: 30 }), filter, (entries, f) => {
      const cache = new ResponseCache();
      const model = new Map<string, { scope: string; model: string; tags: string[] }>();
      for (const e of entries) {
        cache.set(e.prompt, e.model, 1, { scope: e.scope, tags: e.tags });
        model.set(JSON.stringify([e.prompt, e.model, e.scope]), e);
      }
      const doomed = [...model.values()].filter((e) => (f.scope === undefined || e.scope === f.scope)
        && (f.model === undefined || e.model === f.model) && (f.tag === undefined || e.tags.includes(f.tag)));
      expect(cache.invalidate(f)).toBe(doomed.length);
      expect(cache.size).toBe(model.size - doomed.length);
      for (const [id, e] of model) {
        const [prompt] = JSON.parse(id) as [string];
        expect(cache.get(prompt, e.model, { scope: e.scope }) !== undefined).toBe(!doomed.includes(e));
      }
    }));
  });
});
