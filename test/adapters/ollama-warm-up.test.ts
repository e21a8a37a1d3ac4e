import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import { ollamaWarmUp } from '../../src/ollama.js';
import { createMockModel, startOllamaTestServer } from '../../src/testing.js';

describe('ollamaWarmUp', () => {
  it('sends one empty generate request with the keep_alive asked for, through the real ollama client', async () => {
    const server = await startOllamaTestServer({ backend: createMockModel().backend });
    try {
      const run = ollamaWarmUp(new Ollama({ host: server.url }));
      await run('llama3.1:8b', { keepAliveMs: 360_500, signal: new AbortController().signal });
      const generates = server.requests.filter((r) => r.path === '/api/generate');
      expect(generates).toHaveLength(1);
      expect(generates[0]?.body).toMatchObject({ model: 'llama3.1:8b', prompt: '', stream: false, keep_alive: '361s' });
    } finally {
      await server.close();
    }
  });

  it('sends nothing once the engine has closed (aborted signal)', async () => {
    let sent = 0;
    const run = ollamaWarmUp({ generate: async () => ((sent++), { response: '' }) as never });
    const aborted = AbortSignal.abort(new Error('closed'));
    await expect(run('m', { keepAliveMs: 1000, signal: aborted })).rejects.toThrow('closed');
    expect(sent).toBe(0);
  });

  it('rejects something that is not an ollama client, naming the argument', () => {
    expect(() => ollamaWarmUp({} as never)).toThrow(/`client` must be an ollama client with generate\(\)/);
  });
});
