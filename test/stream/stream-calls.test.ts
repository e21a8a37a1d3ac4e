import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine, type StreamCallOptions } from '../../src/index.js';
import { fakeClock } from '../helpers.js';
import { runNode } from '../node-child.js';
import { chunk, collect, fakeStreamExec, flush, lastDone, MODEL, type Chunk } from './fake-source.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A caller's signal shared by many calls (one per request handler, say): many listeners are expected on it. */
function longLivedSignal(): AbortSignal {
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  return signal;
}

function setup() {
  const engine = new OptimizationEngine({ retry: false, breaker: false });
  const fake = fakeStreamExec<Chunk>();
  const open = (prompt: string, options: StreamCallOptions<Chunk> = {}) =>
    engine.optimizeAiStream(prompt, MODEL, fake.exec, { isComplete: lastDone, ...options });
  return { engine, fake, open };
}

describe('optimizeAiStream: abort listeners on a long-lived caller signal', () => {
  it('removes them once the upstream has finished, from streams read to one chunk or none and dropped', async () => {
    const { fake, open } = setup();
    const signal = longLivedSignal();
    const streams = Array.from({ length: 20 }, (_, i) => open(`p${i}`, { signal }));
    await flush();
    expect(listeners(signal)).toBe(20);
    for (const upstream of fake.opened) upstream.push(chunk('Once'));
    // Half read one chunk, half read nothing; none is read again nor returned.
    await Promise.all(streams.filter((_, i) => i % 2 === 0).map((s) => s.next()));
    for (const upstream of fake.opened) {
      upstream.push(chunk(' upon a time', true));
      upstream.end();
    }
    await flush();
    expect(listeners(signal)).toBe(0);
  });

  it('removes them from streams that joined a flight in progress (coalesced) and from bypass streams', async () => {
    const { fake, open } = setup();
    const signal = longLivedSignal();
    open('same', { signal });
    open('same', { signal });
    open('other', { signal, cache: 'bypass' });
    await flush();
    expect(fake.opened).toHaveLength(2);
    expect(listeners(signal)).toBe(3);
    for (const upstream of fake.opened) {
      upstream.push(chunk('x', true));
      upstream.end();
    }
    await flush();
    expect(listeners(signal)).toBe(0);
  });

  it('still stops a consumer whose signal aborts after the upstream finished, at its next read', async () => {
    const { engine, fake, open } = setup();
    const controller = new AbortController();
    const stream = open('p', { signal: controller.signal });
    await flush();
    fake.opened[0]?.push(chunk('Once'));
    fake.opened[0]?.push(chunk(' upon', true));
    fake.opened[0]?.end();
    expect(await stream.next()).toEqual({ done: false, value: chunk('Once') });
    await flush();
    expect(listeners(controller.signal)).toBe(0);
    controller.abort(new Error('caller left'));
    await expect(stream.next()).rejects.toThrow('caller left');
    // The call itself was recorded when the flight ended; the late abort counts no error.
    expect(engine.monitor.outcomes.error ?? 0).toBe(0);
  });

  it('leaves no listener behind from a replayed hit, and a hit replay honours the signal', async () => {
    const { fake, open } = setup();
    const first = open('p');
    await flush();
    fake.opened[0]?.push(chunk('Once'));
    fake.opened[0]?.push(chunk(' upon', true));
    fake.opened[0]?.end();
    await collect(first);
    const controller = new AbortController();
    const hit = open('p', { signal: controller.signal });
    expect(await hit.next()).toEqual({ done: false, value: chunk('Once') });
    expect(listeners(controller.signal)).toBe(0);
    controller.abort(new Error('caller left'));
    await expect(hit.next()).rejects.toThrow('caller left');
  });

  it('stops a paced replay (replay: original) when the signal aborts while it waits between chunks', async () => {
    const clock = fakeClock();
    const engine = new OptimizationEngine({ clock });
    const fake = fakeStreamExec<Chunk>();
    const open = (options: StreamCallOptions<Chunk> = {}) => engine.optimizeAiStream('p', MODEL, fake.exec, { isComplete: lastDone, ...options });
    const first = open();
    await flush();
    fake.opened[0]?.push(chunk('Once'));
    await flush();
    // The original stream had a minute between its chunks: the replay would wait as long.
    clock.advance(60_000);
    fake.opened[0]?.push(chunk(' upon', true));
    fake.opened[0]?.end();
    await collect(first);
    const controller = new AbortController();
    const hit = open({ signal: controller.signal, replay: 'original' });
    await hit.next();
    const pending = hit.next();
    expect(listeners(controller.signal)).toBe(1);
    controller.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');
    expect(listeners(controller.signal)).toBe(0);
  });

  it('retains no memory after gc for abandoned streams once their upstreams finished', async () => {
    // 1000 streams of a 20 kB chunk each: 20 MB if each flight stays reachable from the signal.
    const script = `
      import { setMaxListeners } from 'node:events';
      import { OptimizationEngine } from './src/index.ts';
      const engine = new OptimizationEngine({ retry: false, breaker: false });
      const { signal } = new AbortController();
      setMaxListeners(0, signal);
      const exec = async function* (prompt) { yield { text: prompt.padEnd(20_000, '.') }; yield { text: 'end' }; };
      async function round(tag, n) {
        for (let i = 0; i < n; i++) {
          const stream = engine.optimizeAiStream(tag + i, 'm', exec, { signal, cache: 'bypass' });
          if (i % 2 === 0) await stream.next();
        }
        for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
        globalThis.gc();
      }
      await round('warm-up', 200);
      const before = process.memoryUsage().heapUsed;
      await round('p', 1000);
      console.log(JSON.stringify({ retained: process.memoryUsage().heapUsed - before }));
    `;
    const child = await runNode(script, { flags: ['--expose-gc'] });
    expect(child.stderr).toBe('');
    const { retained } = JSON.parse(child.stdout) as { retained: number };
    expect(retained).toBeLessThan(5_000_000);
  });
});

async function* chunks(): AsyncGenerator<string> {
  yield 'a';
  yield 'b';
}

describe('optimizeAiStream never throws synchronously', () => {
  it('returns a stream that fails when the custom hash throws', async () => {
    const engine = new OptimizationEngine({ cache: { hash: () => { throw new Error('hash failed'); } } });
    let stream: AsyncIterable<unknown> | undefined;
    expect(() => (stream = engine.optimizeAiStream('p', 'm', () => chunks()))).not.toThrow();
    await expect((async () => { for await (const _ of stream ?? []) void _; })()).rejects.toThrow('hash failed');
  });

  it('streams in a scope with a lone surrogate, with a frozen status object', async () => {
    const engine = new OptimizationEngine();
    const read = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const chunk of engine.optimizeAiStream('p', 'm', () => chunks(), { scope: '\uDC00', status: Object.freeze({}) })) out.push(chunk);
      return out;
    };
    expect(await read()).toEqual(['a', 'b']);
    expect(await read()).toEqual(['a', 'b']);
  });
});

describe('optimizeAiStream: ready ends with the consumer', () => {
  it("rejects a consumer's ready at its own abort while another consumer still waits for the upstream to open", async () => {
    const engine = new OptimizationEngine({ retry: false, breaker: false });
    let open!: (source: AsyncIterable<string>) => void;
    // The upstream takes long to open (a cold model load).
    const exec = (): Promise<AsyncIterable<string>> => new Promise((resolve) => (open = resolve));
    const controller = new AbortController();
    const a = engine.optimizeAiStream('p', MODEL, exec, { signal: controller.signal });
    const b = engine.optimizeAiStream('p', MODEL, exec);
    const c = engine.optimizeAiStream('p', MODEL, exec);
    await flush();
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(a.ready).rejects.toBe(reason);
    c.abort(reason);
    await expect(c.ready).rejects.toBe(reason);
    open((async function* () {
      yield 'still ';
      yield 'served';
    })());
    await b.ready;
    expect((await collect(b)).join('')).toBe('still served');
    await engine.close();
  });
});
