import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createManualClock, createMockModel } from '../../src/testing.js';

const MODEL = 'llama3.1:8b';
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

/** Runs `count` calls in order and reports which failed, by 1-based call index. */
async function failingCalls(mock: ReturnType<typeof createMockModel>, count: number): Promise<number[]> {
  const failed: number[] = [];
  for (let index = 1; index <= count; index++) {
    await mock.exec(`prompt ${index}`, MODEL).catch(() => failed.push(index));
  }
  return failed;
}

describe('createMockModel: answers', () => {
  it('gives the same answer for the same prompt and model, across instances', async () => {
    const first = await createMockModel().exec('What is a cache?', MODEL);
    const second = await createMockModel().exec('What is a cache?', MODEL);
    expect(first).toBe(second);
    expect(first).toMatch(/^[A-Z][a-z ]+\.$/);
    expect(await createMockModel().exec('What is a queue?', MODEL)).not.toBe(first);
    expect(await createMockModel().exec('What is a cache?', 'other:1b')).not.toBe(first);
  });

  it('accepts chat messages as the prompt', async () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    const mock = createMockModel();
    expect(await mock.exec(messages, MODEL)).toBe(await mock.exec([{ role: 'user', content: 'Hi' }], MODEL));
    expect(await mock.exec(messages, MODEL)).not.toBe(await mock.exec([{ role: 'system', content: 'Hi' }], MODEL));
  });

  it('uses a custom respond function', async () => {
    const mock = createMockModel({ respond: (prompt, model) => `${model} says ${typeof prompt === 'string' ? prompt : prompt.length}` });
    expect(await mock.exec('hello', 'm')).toBe('m says hello');
  });

  it('works as a detached exec function with the engine signature', async () => {
    const { exec } = createMockModel({ respond: () => 'ok' });
    const controller = new AbortController();
    expect(await exec('p', MODEL, { signal: controller.signal, key: 'k' })).toBe('ok');
  });

  it('counts calls, logs them with the clock time, and resets', async () => {
    const clock = createManualClock(42);
    const mock = createMockModel({ clock });
    await mock.exec('a', MODEL);
    clock.advance(8);
    await mock.exec('b', 'other');
    expect(mock.calls).toBe(2);
    expect(mock.callLog).toEqual([
      { index: 1, kind: 'generate', prompt: 'a', model: MODEL, time: 42 },
      { index: 2, kind: 'generate', prompt: 'b', model: 'other', time: 50 },
    ]);
    mock.reset();
    expect(mock.calls).toBe(0);
    expect(mock.callLog).toEqual([]);
  });
});

describe('createMockModel: streaming and completion details', () => {
  it('streams word chunks that join to the exec answer', async () => {
    const mock = createMockModel();
    const chunks = await collect(mock.stream('Tell me a story', MODEL));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(await mock.exec('Tell me a story', MODEL));
  });

  it('streams chunks that join to the whole answer for any text, trailing whitespace included', async () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(' ', '  ', '\n', '\t', '\u00a0', 'a', 'bc', 'é', '😀') }),
      fc.string({ unit: 'binary' }),
    );
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom<'words' | number>('words', 1, 3), async (answer, chunks) => {
        const mock = createMockModel({ respond: () => answer, chunks });
        const streamed = (await collect(mock.stream('x', MODEL))).join('');
        const completion = await mock.complete('x', MODEL);
        expect(streamed).toBe(answer);
        expect(completion.text).toBe(answer);
        expect(completion.chunks.join('')).toBe(answer);
        expect(await mock.exec('x', MODEL)).toBe(answer);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a trailing space on the last word chunk', async () => {
    const mock = createMockModel({ respond: () => ' hello world \n' });
    expect(await collect(mock.stream('x', MODEL))).toEqual([' hello', ' world \n']);
  });

  it('splits into fixed-size character chunks when asked', async () => {
    const mock = createMockModel({ respond: () => 'abcdefgh', chunks: 3 });
    expect(await collect(mock.stream('x', MODEL))).toEqual(['abc', 'def', 'gh']);
  });

  it('truncates at maxTokens and reports done reason length', async () => {
    const mock = createMockModel({ respond: () => 'one two three four five', countTokens: () => 1 });
    const full = await mock.complete('x', MODEL);
    expect(full).toMatchObject({ text: 'one two three four five', doneReason: 'stop', evalCount: 5 });
    const cut = await mock.complete('x', MODEL, { maxTokens: 2 });
    expect(cut).toMatchObject({ text: 'one two', chunks: ['one', ' two'], doneReason: 'length', evalCount: 2 });
  });

  it('reports a forced done reason', async () => {
    const mock = createMockModel({ doneReason: (call) => (call.index === 2 ? 'length' : 'stop') });
    expect((await mock.complete('x', MODEL)).doneReason).toBe('stop');
    expect((await mock.complete('x', MODEL)).doneReason).toBe('length');
  });

  it('returns deterministic unit-length embeddings', async () => {
    const mock = createMockModel({ embeddingDimensions: 8 });
    const [a, b] = await mock.embed(['alpha', 'beta'], MODEL);
    expect(a).toHaveLength(8);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 10);
    expect(a).not.toEqual(b);
    expect(await mock.embed('alpha', MODEL)).toEqual([a]);
    expect(mock.callLog.map((call) => call.kind)).toEqual(['embed', 'embed']);
  });
});

describe('createMockModel: latency on an injected clock', () => {
  it('answers only after the clock advances by the latency', async () => {
    const clock = createManualClock();
    const mock = createMockModel({ clock, latencyMs: 500, respond: () => 'late' });
    let settled = false;
    const answer = mock.exec('x', MODEL).then((text) => { settled = true; return text; });
    clock.advance(499);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    expect(await answer).toBe('late');
  });

  it('asks a latency function per call', async () => {
    const clock = createManualClock();
    const mock = createMockModel({ clock, latencyMs: (call) => call.index * 100 });
    const first = mock.exec('a', MODEL);
    const second = mock.exec('b', MODEL);
    clock.advance(100);
    await first;
    await flush();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    await second;
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits chunkDelayMs between stream chunks', async () => {
    const clock = createManualClock();
    const mock = createMockModel({ clock, chunkDelayMs: 10, respond: () => 'a b c' });
    const received: Array<[string, number]> = [];
    const reading = (async () => {
      for await (const chunk of mock.stream('x', MODEL)) received.push([chunk, clock.now()]);
    })();
    await clock.advanceAsync(25);
    await reading;
    expect(received).toEqual([['a', 0], [' b', 10], [' c', 20]]);
  });

  it('rejects with the signal reason when aborted during latency', async () => {
    const clock = createManualClock();
    const mock = createMockModel({ clock, latencyMs: 1_000 });
    const controller = new AbortController();
    const reason = new Error('timed out');
    const answer = mock.exec('x', MODEL, { signal: controller.signal });
    controller.abort(reason);
    await expect(answer).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('createMockModel: failure injection', () => {
  it('fails every n-th call with the configured error', async () => {
    const mock = createMockModel({ failEvery: 3, error: (call) => new RangeError(`boom ${call.index}`) });
    expect(await failingCalls(mock, 7)).toEqual([3, 6]);
    mock.reset();
    await mock.exec('a', MODEL);
    await mock.exec('b', MODEL);
    await expect(mock.exec('c', MODEL)).rejects.toThrow(new RangeError('boom 3'));
  });

  it('fails a seeded fraction of calls, identically for the same seed', async () => {
    const first = await failingCalls(createMockModel({ failRate: 0.3, seed: 7 }), 200);
    const again = await failingCalls(createMockModel({ failRate: 0.3, seed: 7 }), 200);
    const other = await failingCalls(createMockModel({ failRate: 0.3, seed: 8 }), 200);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.length).toBeGreaterThan(40);
    expect(first.length).toBeLessThan(80);
  });

  it('replays the same failures after reset', async () => {
    const mock = createMockModel({ failRate: 0.5, seed: 3 });
    const before = await failingCalls(mock, 20);
    mock.reset();
    expect(await failingCalls(mock, 20)).toEqual(before);
  });

  it('fails a stream before its first chunk', async () => {
    const mock = createMockModel({ failEvery: 1 });
    await expect(collect(mock.stream('x', MODEL))).rejects.toThrow('mock model failure on call 1');
  });
});

describe('createMockModel: hang', () => {
  it('never settles until the signal aborts, then rejects with its reason', async () => {
    const clock = createManualClock();
    const mock = createMockModel({ clock, hang: true });
    const controller = new AbortController();
    let settled = false;
    const answer = mock.exec('x', MODEL, { signal: controller.signal }).finally(() => { settled = true; });
    clock.advance(24 * 3_600_000);
    await flush();
    expect(settled).toBe(false);
    const reason = new Error('stop waiting');
    controller.abort(reason);
    await expect(answer).rejects.toBe(reason);
  });

  it('hangs only the calls a hang function picks, and aborts a hanging stream', async () => {
    const mock = createMockModel({ hang: (call) => call.index === 2, respond: () => 'fine' });
    expect(await mock.exec('a', MODEL)).toBe('fine');
    const controller = new AbortController();
    const streaming = collect(mock.stream('b', MODEL, { signal: controller.signal }));
    await flush();
    controller.abort();
    await expect(streaming).rejects.toMatchObject({ name: 'AbortError' });
    expect(await mock.exec('c', MODEL)).toBe('fine');
  });
});

describe('createMockModel: options', () => {
  it.each([
    [{ latencyMs: -1 }, RangeError, /`latencyMs`.*-1/],
    [{ latencyMs: 'slow' }, TypeError, /`latencyMs`.*"slow"/],
    [{ failEvery: 0 }, RangeError, /`failEvery`.*0/],
    [{ failEvery: 1.5 }, RangeError, /`failEvery`.*1\.5/],
    [{ failRate: 2 }, RangeError, /`failRate`.*2/],
    [{ seed: 0.5 }, TypeError, /`seed`.*0\.5/],
    [{ chunks: 0 }, RangeError, /`chunks`.*0/],
    [{ chunks: 'lines' }, TypeError, /`chunks`.*"lines"/],
    [{ doneReason: 'eos' }, TypeError, /`doneReason`.*"eos"/],
    [{ respond: 'text' }, TypeError, /`respond`.*"text"/],
    [{ models: [] }, TypeError, /`models`/],
    [{ hang: 'yes' }, TypeError, /`hang`.*"yes"/],
    [{ latncyMs: 5 }, TypeError, /Unknown createMockModel option `latncyMs`/],
  ])('rejects %j', (options, type, message) => {
    expect(() => createMockModel(options as never)).toThrow(type);
    expect(() => createMockModel(options as never)).toThrow(message);
  });

  it('rejects a bad per-call maxTokens naming it', async () => {
    await expect(createMockModel().complete('x', MODEL, { maxTokens: 0 })).rejects.toThrow(/`maxTokens`.*0/);
  });

  it('rejects a latency function returning a bad value on the call', async () => {
    const mock = createMockModel({ latencyMs: () => Number.NaN });
    await expect(mock.exec('x', MODEL)).rejects.toThrow(/`latencyMs`.*NaN/);
  });
});

describe('createMockModel: with the engine', () => {
  it('serves as the engine work function: the second identical call never reaches the mock', async () => {
    const clock = createManualClock();
    const engine = new OptimizationEngine({ clock });
    try {
      const mock = createMockModel({ clock, latencyMs: 200 });
      const first = engine.optimizeAiCall('Summarize X', MODEL, mock.exec);
      const joined = engine.optimizeAiCall('Summarize X', MODEL, mock.exec);
      await clock.advanceAsync(200);
      expect(await first).toBe(await createMockModel().exec('Summarize X', MODEL));
      expect(await joined).toBe(await first);
      expect(await engine.optimizeAiCall('Summarize X', MODEL, mock.exec)).toBe(await first);
      expect(mock.calls).toBe(1);
    } finally {
      await engine.close();
    }
  });
});
