import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine, isOptimizerError, type CallStatus, type ExecContext, type StreamExecFunction } from '../../src/index.js';
import { withOptimization } from '../../src/ollama.js';
import { freePort } from '../stores/redis-helpers.js';
import { chunk, collect, fakeStreamExec, flush, lastDone, MODEL, type Chunk } from './fake-source.js';

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:11434'), { code: 'ECONNREFUSED' });

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** One scripted upstream: fails to open, or yields its chunks and then ends or fails. */
type Step = { openError: Error } | { chunks: Chunk[]; error?: Error };

/** A streaming exec that plays one step per run and counts its runs. */
function scripted(steps: Step[]): { exec: StreamExecFunction<Chunk>; runs: () => number; contexts: ExecContext[] } {
  const contexts: ExecContext[] = [];
  const exec: StreamExecFunction<Chunk> = (_prompt, _model, context) => {
    contexts.push(context);
    const step = steps[contexts.length - 1] ?? steps.at(-1);
    if (step === undefined) throw new Error('no step scripted');
    if ('openError' in step) return Promise.reject(step.openError);
    return Promise.resolve((async function* () {
      for (const c of step.chunks) yield c;
      if (step.error !== undefined) throw step.error;
    })());
  };
  return { exec, runs: () => contexts.length, contexts };
}

function engineWith(options: ConstructorParameters<typeof OptimizationEngine>[0] = {}) {
  const clock = manualClock();
  const engine = new OptimizationEngine({ clock, retry: false, breaker: { failureThreshold: 2, resetTimeoutMs: 1000 }, ...options });
  const stream = (exec: StreamExecFunction<Chunk>, options: Parameters<typeof engine.optimizeAiStream<Chunk>>[3] = {}, prompt = 'p') =>
    engine.optimizeAiStream(prompt, MODEL, exec, { isComplete: lastDone, ...options });
  const circuit = () => engine.getCircuitStates().find((c) => c.model === MODEL);
  return { engine, clock, stream, circuit };
}

async function failure(stream: AsyncIterable<Chunk>): Promise<unknown> {
  return collect(stream).then(() => undefined, (error: unknown) => error);
}

describe('optimizeAiStream behind the circuit breaker', () => {
  it('opens the circuit after streams that fail to open, then fails fast with ERR_CIRCUIT_OPEN without running execStream', async () => {
    const { stream, circuit } = engineWith();
    const down = scripted([{ openError: new Error('model crashed') }]);
    expect(await failure(stream(down.exec))).toMatchObject({ message: 'model crashed' });
    expect(circuit()).toMatchObject({ state: 'closed', consecutive_failures: 1 });
    await failure(stream(down.exec));
    expect(circuit()?.state).toBe('open');

    const status: CallStatus = {};
    const fast = stream(down.exec, { status });
    const error = await fast.ready.catch((e: unknown) => e);
    expect(isOptimizerError(error) && error.code).toBe('ERR_CIRCUIT_OPEN');
    await expect(fast.next()).rejects.toBe(error);
    expect(down.runs()).toBe(2);
    expect(status.outcome).toBe('error');
  });

  it('counts a stream that fails midway as a failure of the model', async () => {
    const { stream, circuit } = engineWith({ breaker: { failureThreshold: 1 } });
    const midway = scripted([{ chunks: [chunk('Once')], error: new Error('connection lost') }]);
    const s = stream(midway.exec);
    expect(await s.next()).toEqual({ done: false, value: chunk('Once') });
    await expect(s.next()).rejects.toThrow('connection lost');
    expect(circuit()?.state).toBe('open');
  });

  it('counts a complete stream as a success: the consecutive failures start again from zero', async () => {
    const { stream, circuit } = engineWith();
    const steps = scripted([{ openError: new Error('down') }, { chunks: [chunk('ok', true)] }, { openError: new Error('down') }]);
    await failure(stream(steps.exec, {}, 'a'));
    expect(await collect(stream(steps.exec, {}, 'b'))).toEqual([chunk('ok', true)]);
    expect(circuit()?.consecutive_failures).toBe(0);
    await failure(stream(steps.exec, {}, 'c'));
    expect(circuit()).toMatchObject({ state: 'closed', consecutive_failures: 1 });
  });

  it('does not count a stream every consumer abandoned, nor one aborted by its signal', async () => {
    const { stream, circuit } = engineWith({ breaker: { failureThreshold: 1 } });
    const fake = fakeStreamExec<Chunk>();
    const left = stream(fake.exec, {}, 'left');
    await flush();
    fake.opened[0]?.push(chunk('a'));
    expect(await left.next()).toEqual({ done: false, value: chunk('a') });
    await left.return();
    expect(fake.opened[0]?.aborted).toBe(true);

    const controller = new AbortController();
    const aborted = stream(fake.exec, { signal: controller.signal }, 'aborted');
    await flush();
    controller.abort(new Error('caller left'));
    await expect(aborted.next()).rejects.toThrow('caller left');
    await flush();
    expect(circuit()).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    expect(fake.opened).toHaveLength(2);
  });

  it('lets one probe stream through after resetTimeoutMs; its completion closes the circuit', async () => {
    const { stream, circuit, clock } = engineWith({ breaker: { failureThreshold: 1, resetTimeoutMs: 1000 } });
    const steps = scripted([{ openError: new Error('down') }, { chunks: [chunk('back', true)] }]);
    await failure(stream(steps.exec));
    expect(circuit()?.state).toBe('open');
    clock.advance(999);
    expect(await failure(stream(steps.exec))).toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    clock.advance(1);
    expect(await collect(stream(steps.exec))).toEqual([chunk('back', true)]);
    expect(circuit()?.state).toBe('closed');
    expect(steps.runs()).toBe(2);
  });

  it('replays an expired stream entry when the circuit is open and the call allows staleIfError', async () => {
    const { stream, circuit, clock } = engineWith({ breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
    const steps = scripted([{ chunks: [chunk('kept', true)] }, { openError: new Error('down') }]);
    expect(await collect(stream(steps.exec, { ttlMs: 1000 }))).toEqual([chunk('kept', true)]);
    clock.advance(5000);
    await failure(stream(steps.exec, { cache: 'bypass' }));
    expect(circuit()?.state).toBe('open');

    const status: CallStatus = {};
    const stale = stream(steps.exec, { staleIfError: true, status });
    await stale.ready;
    expect(await collect(stale)).toEqual([chunk('kept', true)]);
    expect(status).toMatchObject({ outcome: 'hit', stale: true });
    expect(steps.runs()).toBe(2);
    const strict = await failure(stream(steps.exec));
    expect(isOptimizerError(strict) && strict.code).toBe('ERR_CIRCUIT_OPEN');
  });
});

describe('optimizeAiStream retries', () => {
  const retry = { attempts: 3, random: () => 0 };

  it('retries a transient error met while opening the stream, and delivers the chunks once', async () => {
    const { stream, circuit, engine } = engineWith({ retry });
    const steps = scripted([{ openError: refused() }, { openError: refused() }, { chunks: [chunk('a'), chunk('b', true)] }]);
    const s = stream(steps.exec);
    await s.ready;
    expect(await collect(s)).toEqual([chunk('a'), chunk('b', true)]);
    expect(steps.runs()).toBe(3);
    expect(circuit()).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1 });
    expect(await collect(stream(steps.exec))).toEqual([chunk('a'), chunk('b', true)]);
    expect(steps.runs()).toBe(3);
  });

  it('retries a transient error met after the stream opened but before its first chunk', async () => {
    const { stream } = engineWith({ retry });
    const http503 = Object.assign(new Error('Service Unavailable'), { status_code: 503 });
    const steps = scripted([{ chunks: [], error: http503 }, { chunks: [chunk('fine', true)] }]);
    expect(await collect(stream(steps.exec))).toEqual([chunk('fine', true)]);
    expect(steps.runs()).toBe(2);
  });

  it('never retries once a chunk was delivered: the consumers get the error and nothing is replayed', async () => {
    const { stream, circuit, engine } = engineWith({ retry, breaker: { failureThreshold: 1 } });
    const steps = scripted([{ chunks: [chunk('half')], error: refused() }, { chunks: [chunk('whole', true)] }]);
    const s = stream(steps.exec);
    const read: Chunk[] = [];
    const error = await (async () => {
      for await (const c of s) read.push(c);
    })().then(() => undefined, (e: unknown) => e);
    expect(read).toEqual([chunk('half')]);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(steps.runs()).toBe(1);
    expect(circuit()?.state).toBe('open');
    expect(engine.cache.size).toBe(0);
  });

  it('does not retry an error that is not transient, and gives up after `attempts` runs', async () => {
    const { stream, circuit } = engineWith({ retry });
    const fatal = scripted([{ openError: new Error('404 model not found') }]);
    await failure(stream(fatal.exec, {}, 'fatal'));
    expect(fatal.runs()).toBe(1);
    const flaky = scripted([{ openError: refused() }]);
    expect(await failure(stream(flaky.exec, {}, 'flaky'))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(flaky.runs()).toBe(3);
    expect(circuit()?.consecutive_failures).toBe(2);
  });

  it('every consumer of a shared stream sees one upstream run through the retries', async () => {
    const { stream, engine } = engineWith({ retry });
    const steps = scripted([{ openError: refused() }, { chunks: [chunk('shared', true)] }]);
    const [a, b] = [stream(steps.exec), stream(steps.exec)];
    expect(await Promise.all([collect(a), collect(b)])).toEqual([[chunk('shared', true)], [chunk('shared', true)]]);
    expect(steps.runs()).toBe(2);
    expect(engine.monitor.outcomes).toMatchObject({ miss: 1, coalesced: 1 });
  });
});

describe('the Ollama adapter streams through the self-healing path', () => {
  it('a refused stream: true request is retried, opens the circuit, and the next one fails fast', async () => {
    const port = await freePort();
    const engine = new OptimizationEngine({ retry: { attempts: 2, random: () => 0 }, breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
    const fetches: string[] = [];
    const client = new Ollama({
      host: `http://127.0.0.1:${port}`,
      fetch: (input, init) => (fetches.push(input instanceof Request ? input.url : input.toString()), fetch(input, init)),
    });
    const ollama = withOptimization(client, engine);
    const request = { model: MODEL, prompt: 'hello', stream: true as const };
    const first = await ollama.generate(request).then(() => undefined, (e: unknown) => e);
    expect(isTransientLike(first)).toBe(true);
    expect(fetches).toHaveLength(2);
    expect(engine.getCircuitStates()).toMatchObject([{ model: MODEL, state: 'open' }]);
    const second = await ollama.generate(request).then(() => undefined, (e: unknown) => e);
    expect(isOptimizerError(second) && second.code).toBe('ERR_CIRCUIT_OPEN');
    expect(fetches).toHaveLength(2);
    await engine.close();
  });
});

function isTransientLike(error: unknown): boolean {
  return error instanceof Error && !isOptimizerError(error);
}
