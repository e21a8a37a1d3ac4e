import { getEventListeners } from 'node:events';
import type { EmbedRequest, EmbedResponse } from 'ollama';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbedBatcher } from '../../src/adapters/embed-batcher.js';
import { createMockModel, startOllamaTestServer } from '../../src/testing.js';
import { runNode } from '../node-child.js';

const MODEL = 'nomic-embed-text';

/** A client that answers each input with [its length] and records the requests; `fail` makes the next call reject. */
function fakeClient() {
  const requests: EmbedRequest[] = [];
  let next: { error?: Error; embeddings?: number[][] } = {};
  let gate: Promise<void> = Promise.resolve();
  const client = {
    requests,
    /** Holds every answer until the returned function is called. */
    hold: (): (() => void) => {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    failNext: (error: Error) => (next = { error }),
    answerNext: (embeddings: number[][]) => (next = { embeddings }),
    embed(request: EmbedRequest): Promise<EmbedResponse> {
      requests.push(request);
      const planned = next;
      next = {};
      if (planned.error !== undefined) return Promise.reject(planned.error);
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      const embeddings = planned.embeddings ?? inputs.map((s) => [s.length]);
      return gate.then(() => ({ model: MODEL, embeddings, total_duration: 1000, load_duration: 100, prompt_eval_count: 40 }));
    },
  };
  return client;
}

const signal = (): AbortSignal => new AbortController().signal;

afterEach(() => {
  vi.useRealTimers();
});

describe('EmbedBatcher', () => {
  it('sends calls within the window as one request and splits the vectors and counts back', async () => {
    vi.useFakeTimers();
    const client = fakeClient();
    const batcher = new EmbedBatcher(client, 5, 100);
    const a = batcher.embed({ model: MODEL, input: 'aaaa' }, signal());
    const b = batcher.embed({ model: MODEL, input: ['bbbb', 'cccccccc'] }, signal());
    const other = batcher.embed({ model: MODEL, input: 'dd', dimensions: 4 }, signal());
    expect(client.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5);
    expect(client.requests).toEqual([
      { model: MODEL, input: ['aaaa', 'bbbb', 'cccccccc'] },
      { model: MODEL, input: 'dd', dimensions: 4 },
    ]);
    expect(await a).toMatchObject({ embeddings: [[4]], prompt_eval_count: 10 });
    expect(await b).toMatchObject({ embeddings: [[4], [8]], prompt_eval_count: 30 });
    expect(await other).toMatchObject({ embeddings: [[2]], prompt_eval_count: 40 });
  });

  it('sends a full batch at once', async () => {
    const client = fakeClient();
    const batcher = new EmbedBatcher(client, 1000, 2);
    const a = batcher.embed({ model: MODEL, input: 'a' }, signal());
    const b = batcher.embed({ model: MODEL, input: 'b' }, signal());
    expect(client.requests).toHaveLength(1);
    const c = batcher.embed({ model: MODEL, input: ['c', 'd'] }, signal());
    const d = batcher.embed({ model: MODEL, input: 'e' }, signal());
    expect(client.requests).toHaveLength(2);
    await Promise.all([a, b, c]);
    vi.useFakeTimers();
    expect(d).toBeInstanceOf(Promise);
  });

  it('drops a caller that aborts before the batch is sent, and only fails that caller after', async () => {
    vi.useFakeTimers();
    const client = fakeClient();
    const batcher = new EmbedBatcher(client, 5, 100);
    const release = client.hold();
    const early = new AbortController();
    const late = new AbortController();
    const gone = batcher.embed({ model: MODEL, input: 'gone' }, early.signal);
    const leaves = batcher.embed({ model: MODEL, input: 'leaves' }, late.signal);
    const stays = batcher.embed({ model: MODEL, input: 'stays' }, signal());
    early.abort(new Error('early'));
    await expect(gone).rejects.toThrow('early');
    await vi.advanceTimersByTimeAsync(5);
    expect(client.requests[0]?.input).toEqual(['leaves', 'stays']);
    late.abort(new Error('late'));
    await expect(leaves).rejects.toThrow('late');
    release();
    expect((await stays).embeddings).toEqual([[5]]);
    expect(() => batcher.embed({ model: MODEL, input: 'x' }, early.signal)).toThrow('early');
  });

  it('sends nothing when every caller left, and rejects every caller when the request fails or miscounts', async () => {
    vi.useFakeTimers();
    const client = fakeClient();
    const batcher = new EmbedBatcher(client, 5, 100);
    const controller = new AbortController();
    const gone = batcher.embed({ model: MODEL, input: 'x' }, controller.signal);
    controller.abort();
    await expect(gone).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(5);
    expect(client.requests).toHaveLength(0);

    client.failNext(new Error('500'));
    const failing = [batcher.embed({ model: MODEL, input: 'a' }, signal()), batcher.embed({ model: MODEL, input: 'b' }, signal())];
    for (const p of failing) p.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5);
    for (const p of failing) await expect(p).rejects.toThrow('500');

    client.answerNext([[1]]);
    const short = [batcher.embed({ model: MODEL, input: 'a' }, signal()), batcher.embed({ model: MODEL, input: 'b' }, signal())];
    for (const p of short) p.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5);
    for (const p of short) await expect(p).rejects.toThrow(/1 embeddings for a batch of 2/);
  });

  it('sends each call on its own when the window is 0', async () => {
    const client = fakeClient();
    const batcher = new EmbedBatcher(client, 0, 100);
    await Promise.all([batcher.embed({ model: MODEL, input: 'a' }, signal()), batcher.embed({ model: MODEL, input: 'b' }, signal())]);
    expect(client.requests).toHaveLength(2);
  });

  it('fails every caller of a batch when the client throws instead of rejecting, or answers no object', async () => {
    vi.useFakeTimers();
    const throwing = new EmbedBatcher({ embed: () => { throw new Error('client bug'); } }, 5, 100);
    const shared = signal();
    const thrown = [throwing.embed({ model: MODEL, input: 'a' }, shared), throwing.embed({ model: MODEL, input: 'b' }, shared)];
    for (const p of thrown) p.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5);
    for (const p of thrown) await expect(p).rejects.toThrow('client bug');
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);

    const empty = new EmbedBatcher({ embed: () => Promise.resolve(undefined as unknown as EmbedResponse) }, 5, 100);
    const unanswered = [empty.embed({ model: MODEL, input: 'a' }, signal()), empty.embed({ model: MODEL, input: 'b' }, signal())];
    for (const p of unanswered) p.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5);
    for (const p of unanswered) await expect(p).rejects.toThrow(TypeError);
  });
});

describe('EmbedBatcher: the batch timer keeps the process alive', () => {
  // The Ollama test server runs here, in the parent: in the child, nothing but the batch timer
  // keeps the event loop alive until the request is sent. A 200 ms window leaves no doubt.
  const esm = `
    import { Ollama } from 'ollama';
    import { OptimizationEngine } from './src/index.ts';
    import { withOptimization } from './src/ollama.ts';
    const ollama = withOptimization(new Ollama({ host: process.argv[1] }), new OptimizationEngine(), { embedBatchWindowMs: 200 });
    const { embeddings } = await ollama.embed({ model: 'llama3.1:8b', input: ['a', 'b'] });
    console.log('vectors: ' + embeddings.length);
  `;
  const cjs = `
    const { Ollama } = require('ollama');
    const { OptimizationEngine } = require('./src/index.ts');
    const { withOptimization } = require('./src/ollama.ts');
    const ollama = withOptimization(new Ollama({ host: process.argv[1] }), new OptimizationEngine(), { embedBatchWindowMs: 200 });
    ollama.embed({ model: 'llama3.1:8b', input: ['a', 'b'] }).then(({ embeddings }) => console.log('vectors: ' + embeddings.length));
  `;

  it.each([['ESM', esm, 'module'], ['CommonJS', cjs, 'commonjs']] as const)(
    'answers ollama.embed through withOptimization in a %s process that has nothing else to do',
    async (_name, source, type) => {
      const server = await startOllamaTestServer({ backend: createMockModel().backend });
      try {
        const child = await runNode(source, { type, args: [server.url] });
        expect(child).toMatchObject({ code: 0, stdout: 'vectors: 2\n', stderr: '' });
        expect(server.requests.filter((r) => r.path === '/api/embed')).toHaveLength(1);
      } finally {
        await server.close();
      }
    },
  );
});
