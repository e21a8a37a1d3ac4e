import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockModel, startOllamaTestServer } from '../../src/testing.js';
import type { MockModelOptions, OllamaTestServer } from '../../src/testing.js';

const MODEL = 'llama3.1:8b';
let server: OllamaTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: MockModelOptions = {}) {
  const mock = createMockModel(options);
  server = await startOllamaTestServer({ backend: mock.backend });
  return { mock, server, openai: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ollama', maxRetries: 0 }) };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

describe('startOllamaTestServer: the OpenAI-compatible /v1 endpoints through the real openai client', () => {
  it('answers a chat completion with the mock answer, finish_reason stop and usage', async () => {
    const { openai } = await start();
    const messages = [{ role: 'user' as const, content: 'Hello there' }];
    const completion = await openai.chat.completions.create({ model: MODEL, messages });
    expect(completion).toMatchObject({ object: 'chat.completion', model: MODEL, system_fingerprint: 'fp_ollama' });
    expect(completion.id).toMatch(/^chatcmpl-\d+$/);
    expect(completion.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: await createMockModel().exec(messages, MODEL) }, finish_reason: 'stop' },
    ]);
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });

  it('streams a chat completion as server-sent chunks ending with a finish_reason chunk, usage when asked, and [DONE]', async () => {
    const { openai, server } = await start();
    const messages = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Stream it' }] }];
    const chunks = await collect(await openai.chat.completions.create({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } }));
    const expected = await createMockModel().exec([{ role: 'user', content: 'Stream it' }], MODEL);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(expected);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) as number } });
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages, stream: true }) });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    const text = await raw.text();
    expect(text.split('\n\n').filter(Boolean).every((event) => event.startsWith('data: '))).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('maps max_tokens to num_predict: a cut answer says finish_reason length, streamed or not', async () => {
    const { openai } = await start({ countTokens: () => 1 });
    const cut = await openai.completions.create({ model: MODEL, prompt: 'x', max_tokens: 3 });
    expect(cut.choices[0]).toMatchObject({ finish_reason: 'length', index: 0 });
    expect(cut.choices[0]?.text.split(' ')).toHaveLength(3);
    const chunks = await collect(await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 2, stream: true }));
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
  });

  it('answers and streams text completions', async () => {
    const { openai } = await start();
    const whole = await openai.completions.create({ model: MODEL, prompt: 'Once upon a time' });
    expect(whole).toMatchObject({ object: 'text_completion', choices: [{ text: await createMockModel().exec('Once upon a time', MODEL), finish_reason: 'stop' }] });
    const chunks = await collect(await openai.completions.create({ model: MODEL, prompt: 'Once upon a time', stream: true }));
    expect(chunks.map((c) => c.choices[0]?.text).join('')).toBe(whole.choices[0]?.text);
  });

  it('embeds through the client (which asks for base64 and decodes it) and as floats', async () => {
    const { openai, mock } = await start();
    const expected = await mock.embed(['a', 'b'], MODEL);
    const decoded = await openai.embeddings.create({ model: MODEL, input: ['a', 'b'] });
    expect(decoded.data.map((d) => d.index)).toEqual([0, 1]);
    decoded.data.forEach((d, i) => expect(d.embedding).toEqual(Array.from(new Float32Array(expected[i] ?? []))));
    const floats = await openai.embeddings.create({ model: MODEL, input: 'a', encoding_format: 'float' });
    expect(floats.data[0]?.embedding).toEqual(expected[0]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('lists the served models', async () => {
    const { openai } = await start();
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models).toEqual([{ id: MODEL, object: 'model', created: expect.any(Number) as number, owned_by: 'library' }]);
  });

  it('answers errors in OpenAI\'s shape: unknown model 404, bad body 400, backend failure 500', async () => {
    const { openai } = await start({ failEvery: 1 });
    await expect(openai.chat.completions.create({ model: 'nope', messages: [] })).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
    await expect(openai.chat.completions.create({ model: MODEL, messages: 'x' as never })).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    await expect(openai.completions.create({ model: MODEL, prompt: 'x' })).rejects.toMatchObject({ status: 500 });
  });
});
