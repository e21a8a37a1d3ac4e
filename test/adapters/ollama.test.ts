import { Ollama } from 'ollama';
import type { GenerateResponse } from 'ollama';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptimizationEngine, isOptimizerError, type CallStatus } from '../../src/index.js';
import { createOllamaHealthProbe, withOptimization } from '../../src/ollama.js';
import type { OllamaBackend } from '../../src/testing.js';
import { realOllama, sent, startTarget, type OllamaTarget } from './ollama-target.js';

/** Real Ollama when OLLAMA_HOST answers; the tests that read the mock server's log or inject faults skip then. */
const real = await realOllama();
const mockOnly = it.skipIf(real !== undefined);

const PROMPT = 'Reply with one word: is the sky blue?';
const OPTIONS = { temperature: 0, seed: 7, num_predict: 64 };

let target: OllamaTarget | undefined;
let engine: OptimizationEngine | undefined;

afterEach(async () => {
  await engine?.close();
  await target?.close();
  target = undefined;
  engine = undefined;
});

async function setup(backend?: (mock: NonNullable<OllamaTarget['mock']>) => OllamaBackend) {
  target = await startTarget(real, backend === undefined ? {} : { backend });
  engine = new OptimizationEngine();
  const client = new Ollama({ host: target.url });
  const ollama = withOptimization(client, engine);
  const request = { model: target.model, prompt: PROMPT, options: OPTIONS };
  return { target, engine, client, ollama, request };
}

async function text(stream: AsyncIterable<GenerateResponse>): Promise<string> {
  let out = '';
  for await (const part of stream) out += part.response ?? '';
  return out;
}

/** A backend whose answer is "Once" + (after the test opens the gate) " upon a time". */
function gated(): { backend: OllamaBackend; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const backend: OllamaBackend = {
    models: [{ name: 'llama3.1:8b' }],
    async generate({ onText, signal }) {
      onText('Once');
      await new Promise<void>((resolve, reject) => {
        void gate.then(resolve);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
      onText(' upon a time');
      return { doneReason: 'stop', promptEvalCount: 3, evalCount: 4 };
    },
  };
  return { backend, open };
}

describe('withOptimization: generate and chat through the real ollama client', () => {
  it('sends identical calls to the server once and answers the repeat from the cache', async () => {
    const { engine, ollama, request, target } = await setup();
    const first = await ollama.generate(request);
    const status: CallStatus = {};
    const second = await ollama.generate({ ...request, optimization: { status } });
    expect(second).toEqual(first);
    expect(status.outcome).toBe('hit');
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, hit: 1 });
    if (target.requests !== undefined) expect(sent(target, '/api/generate')).toHaveLength(1);
  });

  it('sends a call again when an output-affecting parameter changes, but not for keep_alive', async () => {
    const { engine, ollama, request, target } = await setup();
    await ollama.generate(request);
    await ollama.generate({ ...request, options: { ...OPTIONS, temperature: 0.5 } });
    await ollama.generate({ ...request, options: { ...OPTIONS, seed: 8 } });
    await ollama.generate({ ...request, system: 'Answer in French.' });
    await ollama.generate({ ...request, keep_alive: '10m' });
    await ollama.generate({ ...request, keep_alive: 0, options: { ...OPTIONS, num_thread: 2 } });
    expect(engine.monitor.outcomes).toMatchObject({ miss: 4, hit: 2 });
    if (target.requests !== undefined) expect(sent(target, '/api/generate')).toHaveLength(4);
  });

  it('does not cache a truncated answer (done_reason length)', async () => {
    const { engine, ollama, request, target } = await setup();
    const truncated = { ...request, options: { ...OPTIONS, num_predict: 2 } };
    const first = await ollama.generate(truncated);
    expect(first.done_reason).toBe('length');
    await ollama.generate(truncated);
    expect(engine.cache.size).toBe(0);
    expect(engine.monitor.outcomes.miss).toBe(2);
    if (target.requests !== undefined) expect(sent(target, '/api/generate')).toHaveLength(2);
  });

  it('makes one upstream request for 50 concurrent identical streams, and every one reads the same text', async () => {
    const { engine, ollama, request, target } = await setup();
    const streams = await Promise.all(Array.from({ length: 50 }, () => ollama.generate({ ...request, stream: true })));
    const texts = await Promise.all(streams.map(text));
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]?.length).toBeGreaterThan(0);
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, coalesced: 49 });
    const replayed = await text(await ollama.generate({ ...request, stream: true }));
    expect(replayed).toBe(texts[0]);
    expect(engine.monitor.outcomes.hit).toBe(1);
    if (target.requests !== undefined) expect(sent(target, '/api/generate')).toHaveLength(1);
  });

  it('passes a server error to the caller, streamed or not, and caches nothing', async () => {
    const { engine, ollama, request, target } = await setup();
    const missing = { ...request, model: 'no-such-model:1b' };
    await expect(ollama.generate(missing)).rejects.toMatchObject({ name: 'ResponseError', status_code: 404 });
    await expect(ollama.generate(missing)).rejects.toMatchObject({ status_code: 404 });
    await expect(ollama.generate({ ...missing, stream: true })).rejects.toMatchObject({ status_code: 404 });
    expect(engine.cache.size).toBe(0);
    expect(engine.monitor.outcomes.error).toBe(3);
    if (target.requests !== undefined) expect(sent(target, '/api/generate')).toHaveLength(3);
  });

  mockOnly('passes an error in the middle of a stream to every consumer and caches nothing', async () => {
    const { engine, ollama, request, target } = await setup((mock) => ({
      models: mock.backend.models,
      generate: ({ onText }) => {
        onText('Once');
        return Promise.reject(new Error('the GPU fell over'));
      },
    }));
    const streams = await Promise.all([1, 2].map(() => ollama.generate({ ...request, stream: true })));
    for (const stream of streams) await expect(text(stream)).rejects.toThrow('the GPU fell over');
    await expect(text(await ollama.generate({ ...request, stream: true }))).rejects.toThrow('the GPU fell over');
    expect(engine.cache.size).toBe(0);
    expect(sent(target, '/api/generate')).toHaveLength(2);
  });

  mockOnly("ends only the consumer whose iterator's abort() was called; the shared request goes on and is cached", async () => {
    const { backend, open } = gated();
    const { engine, ollama, request, target } = await setup(() => backend);
    const [quitter, stayer] = await Promise.all([1, 2].map(() => ollama.generate({ ...request, stream: true })));
    expect((await quitter?.next())?.value?.response).toBe('Once');
    expect((await stayer?.next())?.value?.response).toBe('Once');
    quitter?.abort();
    await expect(quitter?.next()).rejects.toMatchObject({ name: 'AbortError' });
    open();
    expect(await text(stayer as AsyncIterable<GenerateResponse>)).toBe(' upon a time');
    expect(await sent(target, '/api/generate')[0]?.finished).toMatchObject({ result: 'ok' });
    expect(engine.cache.size).toBe(1);
    expect(await text(await ollama.generate({ ...request, stream: true }))).toBe('Once upon a time');
  });

  mockOnly('aborts the request on the server once every consumer has aborted, and caches nothing', async () => {
    const { backend } = gated();
    const { engine, ollama, request, target } = await setup(() => backend);
    const streams = await Promise.all([1, 2].map(() => ollama.generate({ ...request, stream: true })));
    for (const stream of streams) await stream.next();
    streams[0]?.abort();
    streams[1]?.abort();
    expect(await sent(target, '/api/generate')[0]?.finished).toMatchObject({ result: 'aborted' });
    expect(engine.cache.size).toBe(0);
  });

  it('keeps streamed and non-streamed answers apart, and caches chat like generate', async () => {
    const { engine, ollama, request, target } = await setup();
    const whole = await ollama.generate(request);
    expect(await text(await ollama.generate({ ...request, stream: true }))).toBe(whole.response);
    const messages = [{ role: 'user', content: PROMPT }];
    const chat = { model: request.model, messages, options: OPTIONS };
    const answer = await ollama.chat(chat);
    expect((await ollama.chat({ ...chat, messages: [{ role: 'user', content: PROMPT }] })).message).toEqual(answer.message);
    let streamed = '';
    for await (const part of await ollama.chat({ ...chat, stream: true })) streamed += part.message.content;
    expect(streamed).toBe(answer.message.content);
    expect(engine.monitor.outcomes).toMatchObject({ miss: 4, hit: 1 });
    if (target.requests !== undefined) {
      expect(sent(target, '/api/generate')).toHaveLength(2);
      expect(sent(target, '/api/chat')).toHaveLength(2);
    }
  });

  it("strips the per-request optimization field, and keeps scopes apart", async () => {
    const { engine, ollama, request, target } = await setup();
    await ollama.generate({ ...request, optimization: { scope: 'tenant-a' } });
    await ollama.generate({ ...request, optimization: { scope: 'tenant-b' } });
    await ollama.generate({ ...request, optimization: { scope: 'tenant-a', ttlMs: 60_000 } });
    expect(engine.monitor.outcomes).toMatchObject({ miss: 2, hit: 1 });
    if (target.requests !== undefined) {
      for (const r of sent(target, '/api/generate')) expect(r.body).not.toHaveProperty('optimization');
    }
    await expect(ollama.generate({ ...request, optimization: { scpe: 'x' } as never })).rejects.toThrow(/optimization\.scpe/);
  });

  it("feeds Ollama's token counts and timings to the monitor, in ms", async () => {
    const { engine, ollama, request } = await setup();
    const record = vi.spyOn(engine.monitor, 'recordCall');
    const response = await ollama.generate(request);
    const usage = record.mock.calls[0]?.[0].usage;
    expect(usage).toEqual({
      promptTokens: response.prompt_eval_count,
      outputTokens: response.eval_count,
      generationMs: response.eval_duration / 1e6,
      promptMs: response.prompt_eval_duration / 1e6,
      loadMs: response.load_duration / 1e6,
    });
  });

  it('passes every other method and property through to the client, with the right this', async () => {
    const { ollama, client, target } = await setup();
    expect(ollama).toBeInstanceOf(Ollama);
    expect((await ollama.version()).version).toBe((await client.version()).version);
    expect((await ollama.list()).models.length).toBeGreaterThan(0);
    expect(typeof ollama.abort).toBe('function');
    expect(ollama.abort).toBe(ollama.abort);
    if (target.requests !== undefined) expect(sent(target, '/api/version')).toHaveLength(2);
  });
});

describe('withOptimization: embed', () => {
  it('sends concurrent embed calls as one request and gives each caller its own vectors', async () => {
    const { engine, ollama, client, target } = await setup();
    const model = target.model;
    const [a, b, c] = await Promise.all([
      ollama.embed({ model, input: 'red apples' }),
      ollama.embed({ model, input: ['green pears', 'yellow bananas'] }),
      ollama.embed({ model, input: 'blue berries' }),
    ]);
    if (target.requests !== undefined) {
      expect(sent(target, '/api/embed')).toHaveLength(1);
      expect(sent(target, '/api/embed')[0]?.body).toMatchObject({ input: ['red apples', 'green pears', 'yellow bananas', 'blue berries'] });
    }
    const direct = await client.embed({ model, input: ['red apples', 'green pears', 'yellow bananas', 'blue berries'] });
    expect(a?.embeddings).toEqual([direct.embeddings[0]]);
    expect(b?.embeddings).toEqual([direct.embeddings[1], direct.embeddings[2]]);
    expect(c?.embeddings).toEqual([direct.embeddings[3]]);
    await ollama.embed({ model, input: 'red apples' });
    expect(engine.monitor.outcomes).toMatchObject({ miss: 3, hit: 1 });
  });
});

describe('createOllamaHealthProbe', () => {
  it('resolves for a model the server lists and rejects with ERR_UNAVAILABLE for one it does not', async () => {
    const { client, target } = await setup();
    await expect(createOllamaHealthProbe(client, target.model)(AbortSignal.timeout(5000))).resolves.toBeUndefined();
    const error: unknown = await createOllamaHealthProbe(client, 'no-such-model:1b')().catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code).toBe('ERR_UNAVAILABLE');
    const aborted = AbortSignal.abort(new Error('gave up'));
    await expect(createOllamaHealthProbe(client, target.model)(aborted)).rejects.toThrow('gave up');
    expect(() => createOllamaHealthProbe({} as Ollama, 'm')).toThrow(TypeError);
  });
});
