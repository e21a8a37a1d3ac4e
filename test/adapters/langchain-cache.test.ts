import { InMemoryCache } from '@langchain/core/caches';
import { HumanMessage } from '@langchain/core/messages';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { EngineCache } from '../../src/langchain.js';
import { CountingModel } from './langchain-fakes.js';

let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  vi.restoreAllMocks();
});

function newEngine(): OptimizationEngine {
  engine = new OptimizationEngine();
  return engine;
}

describe('EngineCache: a LangChain BaseCache backed by the engine', () => {
  it('answers the repeat of a call from the engine, with a new message each time', async () => {
    const engine = newEngine();
    const model = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine) });
    const first = await model.invoke('Why is the sky blue?');
    const second = await model.invoke('Why is the sky blue?');
    expect(model.calls).toBe(1);
    expect(second.content).toBe(first.content);
    expect(second).not.toBe(first);
    expect(engine.getCacheStats().cache).toMatchObject({ hits: 1, size: 1 });
  });

  it('cannot be poisoned: mutating a returned message leaves the next caller’s answer intact (InMemoryCache can)', async () => {
    const engine = newEngine();
    const ours = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine) });
    const theirs = new CountingModel({ responses: ['unused'], cache: new InMemoryCache() });
    for (const model of [ours, theirs]) {
      await model.invoke('hi');
      const hit = await model.invoke('hi');
      hit.content = 'poisoned';
      (hit.response_metadata as Record<string, unknown>)['x'] = 1;
    }
    expect((await ours.invoke('hi')).content).toBe('answer 1 to hi');
    expect((await theirs.invoke('hi')).content).toBe('poisoned');
  });

  it('keeps call options in the key (stop) but not the signal, which LangChain writes into llmKey as `signal:{}`', async () => {
    const engine = newEngine();
    const model = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine) });
    await model.invoke('hi');
    await model.invoke('hi', { signal: new AbortController().signal, tags: ['a'], metadata: { run: 1 }, runName: 'x' });
    expect(model.calls).toBe(1);
    await model.invoke('hi', { stop: ['\n'] });
    expect(model.calls).toBe(2);
  });

  it('never stores a truncated answer (finish reason length)', async () => {
    const engine = newEngine();
    const model = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine) });
    model.finish = 'length';
    await model.invoke('hi');
    await model.invoke('hi');
    expect(model.calls).toBe(2);
    expect(engine.cache.size).toBe(0);
  });

  it('does not cache a prompt LangChain flattened with an image in it (two images both read "[image]")', async () => {
    const engine = newEngine();
    const model = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine) });
    const withImage = (data: string) => [new HumanMessage({ content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: `data:image/png;base64,${data}` }] })];
    await model.invoke(withImage('AAAA'));
    await model.invoke(withImage('BBBB'));
    expect(model.calls).toBe(2);
  });

  it('keeps scopes and model names apart', async () => {
    const engine = newEngine();
    const a = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine, { scope: 'tenant-a' }) });
    const b = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine, { scope: 'tenant-b' }) });
    const c = new CountingModel({ responses: ['unused'], cache: new EngineCache(engine, { scope: 'tenant-a', model: 'other' }) });
    await a.invoke('hi');
    await b.invoke('hi');
    await c.invoke('hi');
    expect([a.calls, b.calls, c.calls]).toEqual([1, 1, 1]);
    await a.invoke('hi');
    expect(a.calls).toBe(1);
  });

  it('rejects bad options naming them', () => {
    const engine = newEngine();
    expect(() => new EngineCache(engine, { ttlMs: -1 })).toThrow(/`ttlMs`/);
    expect(() => new EngineCache(engine, { model: '' })).toThrow(/`model`/);
    expect(() => new EngineCache(engine, { bogus: 1 } as never)).toThrow(/bogus/);
    expect(() => new EngineCache({} as never)).toThrow(/`engine`/);
  });
});
