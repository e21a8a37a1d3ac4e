import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';

async function* chunks(): AsyncGenerator<string> {
  yield 'a';
  yield 'b';
}

describe('optimizeAiStream never throws synchronously', () => {
  it('returns a stream that fails when the custom hash throws', async () => {
    const engine = new OptimizationEngine({ cache: { hash: () => { throw new Error('hash failed'); } } });
    let stream: AsyncIterable<unknown> | undefined;
    expect(() => (stream = engine.optimizeAiStream('p', 'm', () => chunks()))).not.toThrow();
    await expect((async () => { for await (const _ of stream ?? []) void _; })()).rejects.toThrow('hash failed');
  });

  it('streams in a scope with a lone surrogate, with a frozen status object', async () => {
    const engine = new OptimizationEngine();
    const read = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const chunk of engine.optimizeAiStream('p', 'm', () => chunks(), { scope: '\uDC00', status: Object.freeze({}) })) out.push(chunk);
      return out;
    };
    expect(await read()).toEqual(['a', 'b']);
    expect(await read()).toEqual(['a', 'b']);
  });
});
