import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import { createLlamaCppBackend, startOllamaTestServer } from '../../src/testing.js';
import { bundledModelPath } from './bundled-model.js';

describe('createLlamaCppBackend', () => {
  it('generates the same greedy text from stories260K twice, streamed and not', async () => {
    const backend = createLlamaCppBackend({ modelPath: bundledModelPath });
    const server = await startOllamaTestServer({ backend });
    try {
      const ollama = new Ollama({ host: server.url });
      const request = { model: 'stories260K', prompt: 'Once upon a time', options: { num_predict: 8 } };
      const whole = await ollama.generate(request);
      let streamed = '';
      for await (const part of await ollama.generate({ ...request, stream: true })) streamed += part.response;
      expect(whole.response).toMatch(/^, there was a little/);
      expect(streamed).toBe(whole.response);
      expect(whole).toMatchObject({ model: 'stories260K', done_reason: 'length', eval_count: 8, prompt_eval_count: 4 });
      expect(whole.context).toHaveLength(12);
    } finally {
      await server.close();
      await backend.close();
    }
  });

  it('rejects bad options before loading anything', () => {
    expect(() => createLlamaCppBackend({ modelPath: '' })).toThrow(/`modelPath`/);
    expect(() => createLlamaCppBackend({ modelPath: 'm.gguf', threads: 0 })).toThrow(/`threads`.*0/);
    expect(() => createLlamaCppBackend({ modelPath: 'm.gguf', maxTokens: -5 })).toThrow(RangeError);
    expect(createLlamaCppBackend({ modelPath: '/x/tiny.gguf' }).models).toEqual([{ name: 'tiny:latest', family: 'llama' }]);
  });
});
