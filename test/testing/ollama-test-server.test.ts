import { Ollama } from 'ollama';
import type { ChatResponse, GenerateResponse } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, createMockModel, startOllamaTestServer } from '../../src/testing.js';
import type { MockModelOptions, OllamaBackend, OllamaTestServer } from '../../src/testing.js';

const MODEL = 'llama3.1:8b';
let server: OllamaTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: MockModelOptions = {}) {
  const mock = createMockModel(options);
  server = await startOllamaTestServer({ backend: mock.backend });
  return { mock, server, ollama: new Ollama({ host: server.url }) };
}

async function startWith(backend: OllamaBackend) {
  server = await startOllamaTestServer({ backend });
  return { server, ollama: new Ollama({ host: server.url }) };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

const expectOllamaStats = (final: GenerateResponse | ChatResponse): void => {
  expect(final.done).toBe(true);
  for (const key of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'] as const) {
    expect(Number.isInteger(final[key]), key).toBe(true);
  }
};

describe('startOllamaTestServer: generation through the real ollama client', () => {
  it('answers generate without streaming with the mock answer and Ollama statistics', async () => {
    const { mock, ollama } = await start();
    const result = await ollama.generate({ model: MODEL, prompt: 'Why is the sky blue?' });
    expect(result.response).toBe(await createMockModel().exec('Why is the sky blue?', MODEL));
    expect(result).toMatchObject({ model: MODEL, done: true, done_reason: 'stop' });
    expectOllamaStats(result);
    expect(result.context.length).toBe(result.prompt_eval_count + result.eval_count);
    expect(mock.calls).toBe(1);
  });

  it('streams generate as NDJSON parts ending in one done line', async () => {
    const { ollama } = await start();
    const parts = await collect(await ollama.generate({ model: MODEL, prompt: 'Stream it', stream: true }));
    const final = parts.at(-1) as GenerateResponse;
    expect(parts.slice(0, -1).every((part) => !part.done)).toBe(true);
    expect(parts.slice(0, -1).map((part) => part.response).join('')).toBe(await createMockModel().exec('Stream it', MODEL));
    expect(final).toMatchObject({ done: true, done_reason: 'stop', response: '' });
    expectOllamaStats(final);
  });

  it('answers chat with an assistant message, streamed or not', async () => {
    const { ollama } = await start();
    const messages = [{ role: 'user', content: 'Hello there' }];
    const expected = await createMockModel().exec(messages, MODEL);
    const whole = await ollama.chat({ model: MODEL, messages });
    expect(whole.message).toEqual({ role: 'assistant', content: expected });
    expectOllamaStats(whole);
    const parts = await collect(await ollama.chat({ model: MODEL, messages, stream: true }));
    expect(parts.map((part) => part.message.content).join('')).toBe(expected);
    expect(parts.every((part) => part.message.role === 'assistant')).toBe(true);
    expect(parts.at(-1)?.done_reason).toBe('stop');
  });

  it('honours num_predict with done_reason length', async () => {
    const { ollama } = await start({ countTokens: () => 1 });
    const result = await ollama.generate({ model: MODEL, prompt: 'x', options: { num_predict: 3 } });
    expect(result).toMatchObject({ done_reason: 'length', eval_count: 3 });
    expect(result.response?.split(' ')).toHaveLength(3);
  });

  it('accepts a model name without its tag as name:latest', async () => {
    const { ollama } = await start({ models: ['tiny:latest'] });
    await expect(ollama.generate({ model: 'tiny', prompt: 'x' })).resolves.toMatchObject({ model: 'tiny', done: true });
  });
});

describe('startOllamaTestServer: embeddings and metadata', () => {
  it('embeds a string or an array into deterministic vectors', async () => {
    const { ollama } = await start({ embeddingDimensions: 4 });
    const many = await ollama.embed({ model: MODEL, input: ['first', 'second'] });
    expect(many.embeddings).toHaveLength(2);
    expect(many.embeddings[0]).toHaveLength(4);
    expect(many.embeddings).toEqual(await createMockModel({ embeddingDimensions: 4 }).embed(['first', 'second'], MODEL));
    const one = await ollama.embed({ model: MODEL, input: 'first' });
    expect(one.embeddings).toEqual([many.embeddings[0]]);
    expect(one.prompt_eval_count).toBeGreaterThan(0);
    const short = await ollama.embed({ model: MODEL, input: 'first', dimensions: 2 });
    expect(short.embeddings[0]).toEqual(many.embeddings[0]?.slice(0, 2));
  });

  it('lists models, running models and its version, and says it is running', async () => {
    const { ollama, server: running } = await start({ models: ['a:1b', 'b:7b'] });
    expect((await ollama.list()).models.map((model) => model.name)).toEqual(['a:1b', 'b:7b']);
    expect((await ollama.ps()).models.map((model) => model.name)).toEqual(['a:1b', 'b:7b']);
    expect(await ollama.version()).toEqual({ version: '0.12.0' });
    const root = await fetch(running.url);
    expect(await root.text()).toBe('Ollama is running');
    expect((await fetch(running.url, { method: 'HEAD' })).status).toBe(200);
  });

  it('answers 400 for embeddings from a backend without them', async () => {
    const { ollama } = await startWith({ models: [{ name: 'text:latest' }], generate: () => Promise.reject(new Error('unused')) });
    await expect(ollama.embed({ model: 'text', input: 'x' })).rejects.toMatchObject({ name: 'ResponseError', status_code: 400 });
  });
});

describe('startOllamaTestServer: errors as Ollama sends them', () => {
  it('answers an unknown model with 404 and Ollama\'s message', async () => {
    const { ollama } = await start();
    const error: unknown = await ollama.generate({ model: 'missing:1b', prompt: 'x' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      name: 'ResponseError', status_code: 404, error: 'model "missing:1b" not found, try pulling it first',
    });
  });

  it('answers a missing model and a malformed body with 400 and a JSON error', async () => {
    const { ollama, server: running } = await start();
    await expect(ollama.chat({ model: '', messages: [] })).rejects.toMatchObject({ status_code: 400, error: 'model is required' });
    const response = await fetch(`${running.url}/api/generate`, { method: 'POST', body: '{"model": ' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ error: expect.stringMatching(/^invalid JSON body/) as unknown });
    expect((await fetch(`${running.url}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${running.url}/api/generate`)).status).toBe(405);
  });

  it('answers a backend failure with 500, streamed or not', async () => {
    const { ollama } = await start({ failEvery: 1, error: () => new Error('GPU on fire') });
    await expect(ollama.generate({ model: MODEL, prompt: 'x' })).rejects.toMatchObject({ status_code: 500, error: 'GPU on fire' });
    await expect(ollama.chat({ model: MODEL, messages: [], stream: true })).rejects.toMatchObject({ status_code: 500 });
  });

  it('ends a stream that fails midway with an error line the client throws', async () => {
    const { ollama, server: running } = await startWith({
      models: [{ name: MODEL }],
      generate: async ({ onText }) => {
        onText('partial');
        await Promise.resolve();
        throw new Error('lost the runner');
      },
    });
    const received: string[] = [];
    const reading = (async () => {
      for await (const part of await ollama.generate({ model: MODEL, prompt: 'x', stream: true })) received.push(part.response ?? '');
    })();
    await expect(reading).rejects.toThrow('lost the runner');
    expect(received).toEqual(['partial']);
    expect(await running.requests[0]?.finished).toEqual({ status: 200, result: 'error' });
  });
});

describe('startOllamaTestServer: requests, aborts and closing', () => {
  it('records each request with its path and parsed body', async () => {
    const { ollama, server: running } = await start();
    await ollama.generate({ model: MODEL, prompt: 'once' });
    await ollama.list();
    expect(running.requests.map(({ method, path }) => `${method} ${path}`)).toEqual(['POST /api/generate', 'GET /api/tags']);
    expect(running.requests[0]?.body).toMatchObject({ model: MODEL, prompt: 'once', stream: false });
    expect(await running.requests[0]?.finished).toEqual({ status: 200, result: 'ok' });
  });

  it('stops only the aborted stream on the server when one iterator aborts', async () => {
    const clock = createManualClock();
    const { mock, ollama, server: running } = await start({ clock, chunkDelayMs: 10 });
    const kept = await ollama.generate({ model: MODEL, prompt: 'keep', stream: true });
    const dropped = await ollama.generate({ model: MODEL, prompt: 'drop', stream: true });
    const keptParts = collect(kept);
    const droppedReading = collect(dropped);
    dropped.abort();
    await expect(droppedReading).rejects.toMatchObject({ name: 'AbortError' });
    expect(await running.requests[1]?.finished).toEqual({ status: 200, result: 'aborted' });
    while (clock.pendingTimers > 0) await clock.advanceAsync(10);
    const parts = await keptParts;
    expect(parts.map((part) => part.response).join('')).toBe(await createMockModel().exec('keep', MODEL));
    expect(await running.requests[0]?.finished).toEqual({ status: 200, result: 'ok' });
    expect(mock.calls).toBe(2);
  });

  it('closes promptly with a request hanging, aborting the backend work', async () => {
    const { ollama, server: running } = await start({ hang: true });
    const hanging = ollama.generate({ model: MODEL, prompt: 'forever', stream: true });
    while (running.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await running.close();
    server = undefined;
    await expect(hanging).rejects.toThrow();
    expect(await running.requests[0]?.finished).toMatchObject({ result: 'aborted' });
  });

  it('survives a backend that ignores the abort and finishes after the client left', async () => {
    let finish: () => void = () => undefined;
    let noticed: Promise<void> = Promise.resolve();
    const { ollama, server: running } = await startWith({
      models: [{ name: MODEL }],
      generate: async ({ onText, signal }) => {
        noticed = new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        onText('first');
        await new Promise<void>((resolve) => { finish = resolve; });
        onText('late');
        return { doneReason: 'stop', promptEvalCount: 1, evalCount: 2 };
      },
    });
    const iterator = await ollama.generate({ model: MODEL, prompt: 'x', stream: true });
    iterator.abort();
    await noticed;
    finish();
    expect(await running.requests[0]?.finished).toEqual({ status: 200, result: 'aborted' });
    await expect(ollama.version()).resolves.toEqual({ version: '0.12.0' });
  });

  it('accepts a mock model itself as the backend', async () => {
    const mock = createMockModel({ respond: () => 'from the mock' });
    server = await startOllamaTestServer({ backend: mock });
    const { response } = await new Ollama({ host: server.url }).generate({ model: MODEL, prompt: 'x' });
    expect(response).toBe('from the mock');
    expect(mock.calls).toBe(1);
  });

  it('streams the same text it answers without streaming, trailing whitespace included', async () => {
    const answer = ' Two words \n ';
    const { ollama } = await start({ respond: () => answer });
    const whole = await ollama.generate({ model: MODEL, prompt: 'x' });
    const parts = await collect(await ollama.generate({ model: MODEL, prompt: 'x', stream: true }));
    expect(parts.map((p) => p.response).join('')).toBe(whole.response);
    expect(whole.response).toBe(answer);
    const chat = await collect(await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(chat.map((p) => p.message.content).join('')).toBe(answer);
  });

  it('rejects bad options naming them', async () => {
    await expect(startOllamaTestServer({} as never)).rejects.toThrow(/`backend`/);
    await expect(startOllamaTestServer({ backend: { backend: {} } } as never)).rejects.toThrow(/`backend` must be an OllamaBackend/);
    const backend = createMockModel().backend;
    await expect(startOllamaTestServer({ backend, port: 70_000 })).rejects.toThrow(RangeError);
    await expect(startOllamaTestServer({ backend, port: 70_000 })).rejects.toThrow(/`port`.*70000/);
    await expect(startOllamaTestServer({ backend, hots: 'x' } as never)).rejects.toThrow(/`hots`/);
  });
});
