import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../src/index.js';
import { withOptimization } from '../src/ollama.js';
import { createMockModel, startOllamaTestServer } from '../src/testing.js';

describe('README snippets', () => {
  it('"Testing your code": a repeated generate reaches the test server once', async () => {
    const mock = createMockModel({ latencyMs: 50 });
    const server = await startOllamaTestServer({ backend: mock });
    const engine = new OptimizationEngine();
    const ollama = withOptimization(new Ollama({ host: server.url }), engine);
    const first = await ollama.generate({ model: 'llama3.1:8b', prompt: 'hi' });
    const second = await ollama.generate({ model: 'llama3.1:8b', prompt: 'hi' });
    expect(second.response).toBe(first.response);
    expect(server.requests.filter((r) => r.path === '/api/generate')).toHaveLength(1);
    await server.close();
    await engine.close();
  });

  it('"Quick start": exec receives the prompt as a string when given a string', async () => {
    const engine = new OptimizationEngine();
    const callMyModel = async (prompt: string, model: string, signal: AbortSignal) => (signal.throwIfAborted(), `${model}: ${prompt.length}`);
    const answer = await engine.optimizeAiCall(
      'Suggest one follow-up for a user who booked 3 meetings today',
      'llama3.1:8b',
      (prompt, model, { signal }) => callMyModel(prompt, model, signal),
      { params: { temperature: 0 }, scope: 'tenant-42' },
    );
    expect(answer).toBe('llama3.1:8b: 60');
    await engine.close();
  });
});

describe('README snippets (openai)', () => {
  it('"With the official openai client": a repeated chat completion in one scope reaches the /v1 server once', async () => {
    const { default: OpenAI } = await import('openai');
    const { withOptimization: withOpenAi } = await import('../src/openai.js');
    const server = await startOllamaTestServer({ backend: createMockModel() });
    const engine = new OptimizationEngine();
    const openai = withOpenAi(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ollama' }), engine);
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await openai.chat.completions.create({ model: 'llama3.1:8b', messages, optimization: { scope: 'tenant-42' } });
    await openai.chat.completions.create({ model: 'llama3.1:8b', messages, optimization: { scope: 'tenant-42' } });
    expect(server.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
    await server.close();
    await engine.close();
  });
});
