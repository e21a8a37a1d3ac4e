import { Ollama } from 'ollama';
import type { GenerateResponse } from 'ollama';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { withOptimization } from '../../src/ollama.js';
import { createLlamaCppBackend, startOllamaTestServer } from '../../src/testing.js';
import { bundledModelPath } from '../testing/bundled-model.js';

async function text(stream: AsyncIterable<GenerateResponse>): Promise<string> {
  let out = '';
  for await (const part of stream) out += part.response ?? '';
  return out;
}

describe('withOptimization with a real GGUF model behind the test server', () => {
  it('caches a complete answer of stories260K, shares one stream between concurrent callers, and never caches a truncated one', async () => {
    const backend = createLlamaCppBackend({ modelPath: bundledModelPath });
    const server = await startOllamaTestServer({ backend });
    const engine = new OptimizationEngine();
    try {
      const ollama = withOptimization(new Ollama({ host: server.url }), engine);
      const generations = () => server.requests.filter((r) => r.path === '/api/generate').length;
      // Greedy stories260K never emits EOS within 128 tokens; a stop sequence ends it with done_reason 'stop'.
      const request = { model: 'stories260K', prompt: 'Once upon a time', options: { stop: ['.'] } };

      const first = await ollama.generate(request);
      expect(first).toMatchObject({ done_reason: 'stop' });
      expect(first.response).toMatch(/^, there was a little/);
      expect(await ollama.generate(request)).toEqual(first);
      expect(generations()).toBe(1);

      const streams = await Promise.all([1, 2, 3].map(() => ollama.generate({ ...request, stream: true })));
      const texts = await Promise.all(streams.map(text));
      expect(texts).toEqual([first.response, first.response, first.response]);
      expect(generations()).toBe(2);

      const truncated = { ...request, options: { num_predict: 4 } };
      expect((await ollama.generate(truncated)).done_reason).toBe('length');
      await ollama.generate(truncated);
      expect(generations()).toBe(4);
    } finally {
      await engine.close();
      await server.close();
      await backend.close();
    }
  });
});
