import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { withOptimization } from '../../src/openai.js';
import { createMockModel, startOllamaTestServer, type OllamaTestServer } from '../../src/testing.js';

const SMALL = 'llama3.1:8b';
const LARGE = 'llama3.1:70b';

let server: OllamaTestServer | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await server?.close();
});

describe('routing through the OpenAI adapter (the real openai client against the loopback /v1 server)', () => {
  it('sends the tier a route picks as the request\'s model, for completions and streams', async () => {
    server = await startOllamaTestServer({ backend: createMockModel({ models: [SMALL, LARGE], respond: (_p, model) => `from ${model}` }) });
    engine = new OptimizationEngine({ retry: false, routes: { assistant: { tiers: [SMALL, LARGE], threshold: 0.3 } } });
    const openai = withOptimization(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ollama', maxRetries: 0 }), engine);
    const status: CallStatus = {};
    const easy = await openai.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'Hi' }], optimization: { status } });
    expect(easy.choices[0]?.message.content).toBe(`from ${SMALL}`);
    expect(status.route).toMatchObject({ tier: SMALL, reason: 'score' });
    const hard = 'Prove step by step: 1. first 2. then 3. finally. solve the equation 3 + 4 = x and write a function { return x; }';
    let text = '';
    const stream = await openai.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: hard }], stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(`from ${LARGE}`);
    const models = server.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => (r.body as { model: string }).model);
    expect(models).toEqual([SMALL, LARGE]);
  });
});
