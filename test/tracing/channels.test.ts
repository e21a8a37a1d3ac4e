import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, OptimizationEngine } from '../../src/index.js';
import { CALL_CHANNEL, STORE_CHANNEL, type CallTraceMessage, type StoreTraceMessage } from '../../src/tracing/channels.js';
import { chunk, fakeStreamExec, flush, lastDone, MODEL, type Chunk } from '../stream/fake-source.js';

type Event = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const EVENTS: Event[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Subscribes to every event of a tracing channel by its published name, as an APM agent would (no import of this package). */
function listen<M extends object>(name: string): { log: [Event, M][]; stop: () => void } {
  const log: [Event, M][] = [];
  const handlers = EVENTS.map((event) => {
    const handler = (message: unknown): void => void log.push([event, { ...(message as M) }]);
    diagnosticsChannel.subscribe(`tracing:${name}:${event}`, handler);
    return [event, handler] as const;
  });
  return { log, stop: () => handlers.forEach(([event, h]) => diagnosticsChannel.unsubscribe(`tracing:${name}:${event}`, h)) };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function calls() {
  const l = listen<CallTraceMessage>(CALL_CHANNEL);
  stops.push(l.stop);
  return l;
}

describe('the call tracing channel', () => {
  it('publishes start, end, asyncStart, asyncEnd for a miss then a hit, with outcome, source, miss cause and usage', async () => {
    const { log } = calls();
    const engine = new OptimizationEngine({ retry: false });
    const exec = (_p: string, _m: string, { reportUsage }: { reportUsage: (u: object) => void }) => {
      reportUsage({ promptTokens: 3, outputTokens: 5 });
      return 'SECRET-ANSWER';
    };
    await engine.optimizeAiCall('SECRET-PROMPT', 'llama', exec, { scope: 't1' });
    await engine.optimizeAiCall('SECRET-PROMPT', 'llama', exec, { scope: 't1' });
    expect(log.map(([e]) => e)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd']);
    const [, miss] = log[3] as [Event, CallTraceMessage];
    const [, hit] = log[7] as [Event, CallTraceMessage];
    expect(miss).toMatchObject({ operation: 'call', model: 'llama', scope: 't1', cacheMode: 'default', outcome: 'miss', missCause: 'new', usage: { promptTokens: 3, outputTokens: 5 } });
    expect(miss.key).toMatch(/^v1:/);
    expect(hit).toMatchObject({ outcome: 'hit', source: 'memory' });
    expect(hit.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(log)).not.toMatch(/SECRET/);
    await engine.close();
  });

  it('publishes error with the exec error unchanged, then the async end; coalesced calls get their own trace', async () => {
    const { log } = calls();
    const engine = new OptimizationEngine({ retry: false, breaker: false });
    const boom = new Error('boom');
    await expect(engine.optimizeAiCall('p', 'm', () => Promise.reject(boom))).rejects.toBe(boom);
    let release: (v: string) => void = () => undefined;
    const slow = () => new Promise<string>((resolve) => (release = resolve));
    const both = Promise.all([engine.optimizeAiCall('q', 'm', slow), engine.optimizeAiCall('q', 'm', slow)]);
    await flush();
    release('ok');
    await both;
    const ends = log.filter(([e]) => e === 'asyncEnd').map(([, m]) => m.outcome);
    expect(ends).toEqual(['error', 'miss', 'coalesced']);
    const error = log.find(([e]) => e === 'error')?.[1];
    expect(error?.error).toBe(boom);
    expect(log.filter(([e]) => e === 'start')).toHaveLength(3);
    await engine.close();
  });

  it('traces streams from open to their recorded end, a replayed hit included', async () => {
    const { log } = calls();
    const engine = new OptimizationEngine({ retry: false, breaker: false });
    const fake = fakeStreamExec<Chunk>();
    const read = async (): Promise<void> => {
      for await (const _ of engine.optimizeAiStream('s', MODEL, fake.exec, { isComplete: lastDone })) { /* drain */ }
    };
    const first = read();
    await flush();
    fake.opened[0]?.push(chunk('a', true));
    fake.opened[0]?.end();
    await first;
    await read();
    const trace = log.map(([e, m]) => `${e}:${m.operation}:${m.outcome ?? ''}`);
    expect(trace).toEqual(['start:stream:', 'end:stream:', 'asyncStart:stream:miss', 'asyncEnd:stream:miss', 'start:stream:', 'end:stream:', 'asyncStart:stream:hit', 'asyncEnd:stream:hit']);
    await engine.close();
  });

  it('builds nothing and publishes nothing without a subscriber', async () => {
    const engine = new OptimizationEngine();
    expect(diagnosticsChannel.tracingChannel(CALL_CHANNEL).start.hasSubscribers).toBe(false);
    const status = {};
    await engine.optimizeAiCall('p', 'm', () => 'v', { status });
    const { log, stop } = listen<CallTraceMessage>(CALL_CHANNEL);
    stop();
    expect(log).toEqual([]);
    await engine.close();
  });

  it('a throwing subscriber does not break a call', async () => {
    const boom = (): never => { throw new Error('subscriber'); };
    diagnosticsChannel.subscribe(`tracing:${CALL_CHANNEL}:start`, boom);
    stops.push(() => diagnosticsChannel.unsubscribe(`tracing:${CALL_CHANNEL}:start`, boom));
    const engine = new OptimizationEngine();
    // diagnostics_channel reports a subscriber's throw on process 'uncaughtException' in a later tick, never to the publisher.
    const seen: unknown[] = [];
    const onError = (e: unknown): void => void seen.push(e);
    process.on('uncaughtException', onError);
    try {
      await expect(engine.optimizeAiCall('p', 'm', () => 'v')).resolves.toBe('v');
      await new Promise((r) => setTimeout(r, 5));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(seen).toHaveLength(1);
    await engine.close();
  });
});

describe('the store tracing channel', () => {
  it('wraps every shared-store operation, without the value read or written', async () => {
    const l = listen<StoreTraceMessage>(STORE_CHANNEL);
    stops.push(l.stop);
    const engine = new OptimizationEngine({ store: createMemoryStore() });
    await engine.optimizeAiCall('p', 'm', () => 'SECRET-ANSWER');
    await flush();
    const ops = l.log.filter(([e]) => e === 'asyncEnd').map(([, m]) => `${m.store}:${m.operation}`);
    expect(ops).toEqual(expect.arrayContaining(['memory:get', 'memory:set']));
    expect(l.log.filter(([e]) => e === 'start')).toHaveLength(l.log.filter(([e]) => e === 'asyncEnd').length);
    expect(JSON.stringify(l.log)).not.toContain('SECRET');
    await engine.close();
  });

  it('publishes error for a failing store, and the call still answers', async () => {
    const l = listen<StoreTraceMessage>(STORE_CHANNEL);
    stops.push(l.stop);
    const base = createMemoryStore();
    const store = {
      name: 'broken', get: () => Promise.reject(new Error('down')), set: base.set.bind(base), delete: base.delete.bind(base), clear: base.clear.bind(base),
    };
    const engine = new OptimizationEngine({ store });
    await expect(engine.optimizeAiCall('p', 'm', () => 'v')).resolves.toBe('v');
    const error = l.log.find(([e, m]) => e === 'error' && m.operation === 'get');
    expect((error?.[1].error as Error).message).toBe('down');
    await engine.close();
  });
});
