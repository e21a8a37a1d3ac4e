import { Ollama } from 'ollama';
import type { GenerateResponse } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { OptimizationEngine, type CallStatus } from '../../src/index.js';
import { withOptimization } from '../../src/ollama.js';
import { createMockModel, startOllamaTestServer, type OllamaBackend, type OllamaTestServer } from '../../src/testing.js';

const SMALL = 'llama3.1:8b';
const LARGE = 'llama3.1:70b';

let server: OllamaTestServer | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await server?.close();
  server = undefined;
  engine = undefined;
});

/** Both tiers behind one loopback server; the small one is unsure (log-probabilities near -3) of prompts that start with "hard". */
function twoTiers(): OllamaBackend {
  const mock = createMockModel({ models: [SMALL, LARGE], respond: (_prompt, model) => `answer from ${model}` });
  return {
    models: mock.backend.models,
    async generate(request) {
      const result = await mock.backend.generate(request);
      const text = typeof request.prompt === 'string' ? request.prompt : (request.prompt.at(-1)?.content ?? '');
      const unsure = request.model === SMALL && text.startsWith('hard');
      return { ...result, logprobs: unsure ? [-3, -2.5, -3.2] : [-0.05, -0.1, -0.02] };
    },
  };
}

async function setup(strategy: 'rules' | 'cascade') {
  server = await startOllamaTestServer({ backend: twoTiers() });
  engine = new OptimizationEngine({ retry: false, routes: { assistant: { tiers: [SMALL, LARGE], strategy, minMeanLogprob: -1 } } });
  return withOptimization(new Ollama({ host: server.url }), engine);
}

function sentModels(): unknown[] {
  return (server?.requests ?? []).filter((r) => r.path === '/api/generate' || r.path === '/api/chat').map((r) => (r.body as { model: string }).model);
}

describe('routing through the Ollama adapter (the real ollama client against the loopback server)', () => {
  it('sends the tier\'s model name for the logical one, asks the small tier for logprobs and escalates an unsure answer', async () => {
    const ollama = await setup('cascade');
    const sure: CallStatus = {};
    const unsure: CallStatus = {};
    const a = await ollama.generate({ model: 'assistant', prompt: 'easy question', options: { temperature: 0 }, optimization: { status: sure } });
    const b = await ollama.generate({ model: 'assistant', prompt: 'hard question', options: { temperature: 0 }, optimization: { status: unsure } });
    expect(a.response).toBe(`answer from ${SMALL}`);
    expect(b.response).toBe(`answer from ${LARGE}`);
    expect(sentModels()).toEqual([SMALL, SMALL, LARGE]);
    const bodies = server?.requests.map((r) => r.body as { logprobs?: boolean }) ?? [];
    expect(bodies.map((body) => body.logprobs)).toEqual([true, true, undefined]);
    expect(sure.route).toMatchObject({ tier: SMALL, reason: 'confident', confidence: { tokens: 3 } });
    expect(unsure.route).toMatchObject({ tier: LARGE, reason: 'low-confidence', escalated: true });
    // The caller did not ask for logprobs: the answer (and the cached copy) has none.
    expect((a as GenerateResponse & { logprobs?: unknown }).logprobs).toBeUndefined();
    const again: CallStatus = {};
    const c = await ollama.generate({ model: 'assistant', prompt: 'hard question', options: { temperature: 0 }, optimization: { status: again } });
    expect(c.response).toBe(`answer from ${LARGE}`);
    expect(again.outcome).toBe('hit');
    expect(sentModels()).toHaveLength(3);
  });

  it('keeps the logprobs a caller asked for', async () => {
    const ollama = await setup('cascade');
    const a = await ollama.generate({ model: 'assistant', prompt: 'easy', logprobs: true });
    expect(a.logprobs?.map((l) => l.logprob)).toEqual([-0.05, -0.1, -0.02]);
  });

  it('routes chat and streams by rules: a stream goes to the tier the score picks', async () => {
    const ollama = await setup('rules');
    const chat = await ollama.chat({ model: 'assistant', messages: [{ role: 'user', content: 'Hi there' }] });
    expect(chat.message.content).toBe(`answer from ${SMALL}`);
    const status: CallStatus = {};
    const long = `Prove step by step, with code: 1. first 2. then 3. finally. ${'solve the equation 3 + 4 = x '.repeat(40)}`;
    let text = '';
    for await (const part of await ollama.generate({ model: 'assistant', prompt: long, stream: true, optimization: { status } })) text += part.response;
    expect(text).toBe(`answer from ${LARGE}`);
    expect(status.route).toMatchObject({ tier: LARGE, reason: 'score' });
    expect(sentModels()).toEqual([SMALL, LARGE]);
    // The stream's run counts in its tier's figures, with the tokens Ollama reported.
    const tiers = engine?.getRoutingReport()['assistant']?.tiers;
    expect(tiers?.[LARGE]).toMatchObject({ calls: 1, errors: 0 });
    expect(tiers?.[LARGE]?.output_tokens).toBeGreaterThan(0);
    expect(tiers?.[SMALL]?.calls).toBe(1);
  });
});
