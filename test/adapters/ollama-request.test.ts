import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { isCompleteResponse, isCompleteStream, ollamaUsage, withOptimization } from '../../src/ollama.js';
import { chatIdentity, embedIdentity, generateIdentity } from '../../src/adapters/ollama-request.js';

const MODEL = 'llama3.1:8b';

describe('Ollama request identity', () => {
  it('keys every output-affecting field and nothing volatile', () => {
    const base = generateIdentity({ model: MODEL, prompt: 'p', options: { temperature: 0 } });
    expect(base).toEqual({ prompt: 'p', model: MODEL, params: { api: 'generate', options: { temperature: 0 } } });
    const volatile = generateIdentity({
      model: MODEL, prompt: 'p', options: { temperature: 0, num_thread: 4, num_gpu: 1, use_mmap: true }, keep_alive: '5m', stream: true,
    });
    expect(volatile).toEqual(base);
    const full = generateIdentity({
      model: MODEL, prompt: 'p', system: 's', template: 't', suffix: 'x', format: 'json', raw: true, think: true, context: [1, 2],
      options: { top_p: 0.9, num_ctx: 4096, num_predict: 10, stop: ['\n'] },
    });
    expect(full.params).toEqual({
      api: 'generate', system: 's', template: 't', suffix: 'x', format: 'json', raw: true, think: true, context: [1, 2],
      options: { top_p: 0.9, num_ctx: 4096, num_predict: 10, stop: ['\n'] },
    });
  });

  it('keys images by a hash of their content, the same for bytes and their base64', () => {
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const asBytes = generateIdentity({ model: MODEL, prompt: 'p', images: [bytes] });
    const asBase64 = generateIdentity({ model: MODEL, prompt: 'p', images: [Buffer.from(bytes).toString('base64')] });
    expect(asBytes).toEqual(asBase64);
    expect(asBytes.params['images']).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    const chat = chatIdentity({ model: MODEL, messages: [{ role: 'user', content: 'look', images: [bytes] }], tools: [] });
    expect(chat.prompt).toEqual([{ role: 'user', content: 'look', images: asBytes.params['images'] }]);
    expect(chat.params).toEqual({ api: 'chat', tools: [] });
  });

  it('keeps tool calls in chat messages and tells a single embed input from an array', () => {
    const call = { function: { name: 'weather', arguments: { city: 'Oslo' } } };
    const chat = chatIdentity({ model: MODEL, messages: [{ role: 'assistant', content: '', tool_calls: [call] }] });
    expect(chat.prompt).toEqual([{ role: 'assistant', content: '', tool_calls: [call] }]);
    expect(embedIdentity({ model: MODEL, input: 'a' }).prompt).not.toBe(embedIdentity({ model: MODEL, input: ['a'] }).prompt);
    expect(embedIdentity({ model: MODEL, input: 'a', dimensions: 8, truncate: true }).params).toEqual({ api: 'embed', dimensions: 8, truncate: true });
  });
});

describe('Ollama admission and usage', () => {
  it("admits only done answers that stopped on their own", () => {
    expect(isCompleteResponse({ done: true, done_reason: 'stop' })).toBe(true);
    expect(isCompleteResponse({ done: true, done_reason: 'length' })).toBe(false);
    expect(isCompleteResponse({ done: false, done_reason: 'stop' })).toBe(false);
    expect(isCompleteStream([{ done: false }, { done: true, done_reason: 'stop' }])).toBe(true);
    expect(isCompleteStream([{ done: false }])).toBe(false);
    expect(isCompleteStream([])).toBe(false);
  });

  it('turns nanosecond timings into milliseconds', () => {
    expect(ollamaUsage({
      prompt_eval_count: 10, eval_count: 20, eval_duration: 2_000_000_000, prompt_eval_duration: 5_000_000, load_duration: 1_500_000_000,
    })).toEqual({ promptTokens: 10, outputTokens: 20, generationMs: 2000, promptMs: 5, loadMs: 1500 });
    expect(ollamaUsage({})).toEqual({});
  });
});

describe('withOptimization options', () => {
  const client = { generate: () => Promise.reject(new Error('no')), chat: () => Promise.reject(new Error('no')), embed: () => Promise.reject(new Error('no')) };

  it('rejects a bad client, engine or option, naming it', () => {
    const engine = new OptimizationEngine();
    expect(() => withOptimization({} as never, engine)).toThrow(/`client`/);
    expect(() => withOptimization(client as never, {} as never)).toThrow(/`engine`/);
    expect(() => withOptimization(client as never, engine, { embedBatchWindowMs: -1 })).toThrow(/`embedBatchWindowMs`.*-1/);
    expect(() => withOptimization(client as never, engine, { maxEmbedBatch: 1.5 })).toThrow(/`maxEmbedBatch`/);
    expect(() => withOptimization(client as never, engine, { ttl: 5 } as never)).toThrow(/options\.ttl/);
    expect(() => withOptimization(client as never, engine, { cache: 'sometimes' as never })).toThrow(/`cache`/);
    expect(() => withOptimization(client as never, engine, { replay: 'fast' as never })).toThrow(/`replay`/);
  });

  it('applies the adapter-wide settings and lets a request override them', async () => {
    const engine = new OptimizationEngine();
    let calls = 0;
    const fake = {
      generate: () => (calls++, Promise.resolve({ done: true, done_reason: 'stop', response: 'r' })),
      chat: client.chat, embed: client.embed,
    };
    const ollama = withOptimization(fake as never, engine, { scope: 'team', ttlMs: 1000, cache: 'bypass', staleIfError: false, replay: 'original' });
    await ollama.generate({ model: MODEL, prompt: 'p' });
    await ollama.generate({ model: MODEL, prompt: 'p' });
    expect(calls).toBe(2);
    await ollama.generate({ model: MODEL, prompt: 'p', optimization: { cache: 'default' } });
    const status = {};
    await ollama.generate({ model: MODEL, prompt: 'p', optimization: { cache: 'default', status, signal: new AbortController().signal } });
    expect(calls).toBe(3);
    expect(status).toMatchObject({ outcome: 'hit' });
    await expect(ollama.generate({ model: MODEL, prompt: 'p', optimization: { signal: 'x' as never } })).rejects.toThrow(/`signal`/);
  });
});
