import { context, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, OptimizationEngine } from '../../src/index.js';
import { instrumentOpenTelemetry, type OpenTelemetryInstrumentation } from '../../src/opentelemetry.js';

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => void context.setGlobalContextManager(contextManager.enable()));
afterAll(() => void context.disable());

function setup(sampler?: AlwaysOffSampler | AlwaysOnSampler) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)], ...(sampler === undefined ? {} : { sampler }) });
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { exporter, tracerProvider, reader, meterProvider };
}

function points(metrics: ResourceMetrics, name: string): { attributes: Attributes; value: unknown }[] {
  const out: { attributes: Attributes; value: unknown }[] = [];
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) if (metric.descriptor.name === name) for (const p of metric.dataPoints) out.push({ attributes: p.attributes, value: p.value });
  }
  return out;
}

let active: OpenTelemetryInstrumentation[] = [];
afterEach(() => {
  for (const i of active) i.disable();
  active = [];
});

const usageExec = (answer: string) => (_p: unknown, _m: string, { reportUsage }: { reportUsage: (u: object) => void }) => {
  reportUsage({ promptTokens: 7, outputTokens: 11 });
  return answer;
};

describe('OpenTelemetry spans', () => {
  it('one client span per call with GenAI attributes and the engine outcome, child of the active span, without the prompt or the answer', async () => {
    const { exporter, tracerProvider, meterProvider } = setup();
    active.push(instrumentOpenTelemetry({ tracerProvider, meterProvider }));
    const engine = new OptimizationEngine({ retry: false });
    const parent = tracerProvider.getTracer('test').startSpan('request');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await engine.optimizeAiCall('SECRET-PROMPT', 'llama3.1:8b', usageExec('SECRET-ANSWER'));
      await engine.optimizeAiCall('SECRET-PROMPT', 'llama3.1:8b', usageExec('SECRET-ANSWER'));
      await engine.optimizeAiCall([{ role: 'user', content: 'SECRET-PROMPT' }], 'llama3.1:8b', usageExec('SECRET-ANSWER'), { cache: 'refresh' });
    });
    parent.end();
    const spans = exporter.getFinishedSpans().filter((s) => s.name !== 'request');
    expect(spans.map((s) => s.name)).toEqual(['text_completion llama3.1:8b', 'text_completion llama3.1:8b', 'chat llama3.1:8b']);
    const [miss, hit, refresh] = spans;
    expect(miss?.kind).toBe(2); // SpanKind.CLIENT
    expect(miss?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(miss?.attributes).toEqual({
      'gen_ai.operation.name': 'text_completion', 'gen_ai.request.model': 'llama3.1:8b', 'llm_optimizer.stream': false,
      'llm_optimizer.outcome': 'miss', 'llm_optimizer.cache.mode': 'default', 'llm_optimizer.coalesced': false, 'llm_optimizer.cache.miss_cause': 'new',
      'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 11,
    });
    expect(hit?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'hit', 'llm_optimizer.cache.source': 'memory' });
    expect(hit?.attributes).not.toHaveProperty('gen_ai.usage.output_tokens');
    expect(refresh?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'llm_optimizer.cache.mode': 'refresh', 'llm_optimizer.cache.miss_cause': 'refresh' });
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status]))).not.toMatch(/SECRET/);
    await engine.close();
  });

  it('marks a failed call as an error with error.type and no message; coalesced and store hits say so; streams get their span', async () => {
    const { exporter, tracerProvider, meterProvider } = setup();
    active.push(instrumentOpenTelemetry({ tracerProvider, meterProvider }));
    const store = createMemoryStore();
    const engine = new OptimizationEngine({ retry: false, breaker: false, store });
    const failure = Object.assign(new Error('SECRET-PROMPT in message'), { code: 'E_MODEL' });
    await engine.optimizeAiCall('p', 'm', () => Promise.reject(failure)).catch(() => undefined);
    let release: (v: string) => void = () => undefined;
    const slow = () => new Promise<string>((resolve) => (release = resolve));
    const both = Promise.all([engine.optimizeAiCall('q', 'm', slow), engine.optimizeAiCall('q', 'm', slow)]);
    await new Promise((r) => setTimeout(r, 10));
    release('ok');
    await both;
    await new Promise((r) => setTimeout(r, 10));
    const other = new OptimizationEngine({ store });
    await other.optimizeAiCall('q', 'm', () => 'never');
    const stream = engine.optimizeAiStream('s', 'm', async function* () { yield 'a'; });
    for await (const _ of stream) { /* drain */ }
    const spans = exporter.getFinishedSpans();
    const [error, miss, coalesced, storeHit, streamed] = spans;
    expect(error?.status).toEqual({ code: 2 });
    expect(error?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'error', 'error.type': 'E_MODEL' });
    expect(miss?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'miss' });
    expect(coalesced?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'coalesced', 'llm_optimizer.coalesced': true });
    expect(storeHit?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'hit', 'llm_optimizer.cache.source': 'store' });
    expect(streamed?.attributes).toMatchObject({ 'llm_optimizer.stream': true, 'llm_optimizer.outcome': 'miss' });
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events, s.status]))).not.toMatch(/SECRET/);
    await Promise.all([engine.close(), other.close()]);
  });

  it('with no meter provider registered (a no-op meter), spans still carry every attribute', async () => {
    const { exporter, tracerProvider } = setup();
    active.push(instrumentOpenTelemetry({ tracerProvider }));
    const engine = new OptimizationEngine();
    await engine.optimizeAiCall('p', 'm', usageExec('v'));
    expect(exporter.getFinishedSpans()[0]?.attributes).toMatchObject({ 'llm_optimizer.outcome': 'miss', 'gen_ai.usage.output_tokens': 11 });
    await engine.close();
  });

  it('with the global providers: no span while no SDK is registered, spans once one is', async () => {
    active.push(instrumentOpenTelemetry());
    const engine = new OptimizationEngine();
    await engine.optimizeAiCall('p', 'm', () => 'v');
    const { exporter, tracerProvider } = setup();
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      await engine.optimizeAiCall('q', 'm', () => 'v');
      expect(exporter.getFinishedSpans().map((s) => s.attributes['llm_optimizer.outcome'])).toEqual(['miss']);
    } finally {
      trace.disable();
    }
    await engine.close();
  });

  it('a sampler that records nothing gets no attributes set and no span exported', async () => {
    const { exporter, tracerProvider, meterProvider } = setup(new AlwaysOffSampler());
    active.push(instrumentOpenTelemetry({ tracerProvider, meterProvider }));
    const engine = new OptimizationEngine();
    await engine.optimizeAiCall('p', 'm', () => 'v');
    expect(exporter.getFinishedSpans()).toEqual([]);
    await engine.close();
  });

  it('a call inside an unsampled request starts no span (followParentSampling), unless told to ask the sampler anyway', async () => {
    const unsampled = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0 });
    const engine = new OptimizationEngine();
    for (const follow of [true, false]) {
      const { exporter, tracerProvider, meterProvider, reader } = setup(new AlwaysOnSampler());
      const instrumentation = instrumentOpenTelemetry({ tracerProvider, meterProvider, followParentSampling: follow });
      await context.with(trace.setSpan(context.active(), unsampled), () => engine.optimizeAiCall('p', 'm', () => 'v'));
      expect(exporter.getFinishedSpans().length).toBe(follow ? 0 : 1);
      const { resourceMetrics } = await reader.collect();
      expect(points(resourceMetrics, 'llm_optimizer.calls').length).toBe(1);
      instrumentation.disable();
    }
    expect(() => instrumentOpenTelemetry({ followParentSampling: 'yes' as never })).toThrow(/`followParentSampling`/);
    await engine.close();
  });

  it('disable() stops the spans; bad options are refused naming the option', async () => {
    const { exporter, tracerProvider, meterProvider } = setup();
    const instrumentation = instrumentOpenTelemetry({ tracerProvider, meterProvider });
    instrumentation.disable();
    instrumentation.disable();
    const engine = new OptimizationEngine();
    await engine.optimizeAiCall('p', 'm', () => 'v');
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(() => instrumentOpenTelemetry({ tracerProvider: {} as never })).toThrow(/`tracerProvider`/);
    expect(() => instrumentOpenTelemetry({ meterProvider: 5 as never })).toThrow(/`meterProvider`/);
    expect(() => instrumentOpenTelemetry({ engines: [{}] as never })).toThrow(/`engines`/);
    await engine.close();
  });
});

describe('OpenTelemetry metrics', () => {
  it('counts calls by outcome and records durations and tokens as /metrics and the GenAI conventions do; observes the engines given', async () => {
    const { tracerProvider, meterProvider, reader } = setup();
    const engine = new OptimizationEngine({ retry: false, breaker: false, store: createMemoryStore() });
    active.push(instrumentOpenTelemetry({ tracerProvider, meterProvider, engines: [engine] }));
    await engine.optimizeAiCall('p', 'm', usageExec('v'));
    await engine.optimizeAiCall('p', 'm', usageExec('v'));
    await engine.optimizeAiCall('x', 'm', () => Promise.reject(new TypeError('bad'))).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10));
    const { resourceMetrics } = await reader.collect();
    const calls = points(resourceMetrics, 'llm_optimizer.calls').map((p) => [p.attributes['llm_optimizer.outcome'], p.value]);
    expect(Object.fromEntries(calls)).toEqual({ miss: 1, hit: 1, error: 1 });
    const duration = points(resourceMetrics, 'gen_ai.client.operation.duration');
    expect(duration.map((p) => p.attributes)).toEqual(expect.arrayContaining([
      { 'gen_ai.operation.name': 'text_completion', 'gen_ai.request.model': 'm' },
      { 'gen_ai.operation.name': 'text_completion', 'gen_ai.request.model': 'm', 'error.type': 'TypeError' },
    ]));
    const tokens = points(resourceMetrics, 'gen_ai.client.token.usage').map((p) => [p.attributes['gen_ai.token.type'], (p.value as { sum: number }).sum]);
    expect(Object.fromEntries(tokens)).toEqual({ input: 7, output: 11 });
    expect(points(resourceMetrics, 'llm_optimizer.call.duration').length).toBe(3);
    const store = points(resourceMetrics, 'llm_optimizer.store.operation.duration').map((p) => p.attributes['llm_optimizer.store.operation']);
    expect(store).toEqual(expect.arrayContaining(['get', 'set']));
    expect(points(resourceMetrics, 'llm_optimizer.cache.entries')[0]?.value).toBe(1);
    expect(points(resourceMetrics, 'llm_optimizer.model_calls')[0]?.value).toBe(2);
    expect(points(resourceMetrics, 'llm_optimizer.efficiency_score')[0]?.value).toBe(engine.getOptimizationReport().summary.efficiency_score);
    await engine.close();
    await meterProvider.shutdown();
  });
});
