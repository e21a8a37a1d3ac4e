import diagnosticsChannel from 'node:diagnostics_channel';
import {
  context, createNoopMeter, metrics, ProxyTracerProvider, SpanKind, SpanStatusCode, trace,
  type Attributes, type Counter, type Histogram, type MeterProvider, type Span, type TracerProvider,
} from '@opentelemetry/api';
import type { OptimizationEngine } from '../engine.js';
import { describe } from '../internal/validate.js';
import { CALL_CHANNEL, STORE_CHANNEL, type CallTraceMessage, type StoreTraceMessage } from './channels.js';

/** Options of {@link instrumentOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where spans go. @default the global provider (`trace.getTracerProvider()`, a no-op until an SDK registers one) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Engines whose gauges (cache entries and bytes, efficiency score, share answered without the
   * model) are observed at each collection. Calls of every engine are traced whatever this says.
   * @default []
   */
  engines?: readonly OptimizationEngine[];
  /**
   * A call made inside a span that is not recording (an unsampled request) gets no span of its own:
   * what the SDK's default `ParentBased` sampler decides anyway, without paying for the SDK's span
   * start (about 2 µs, sampled or not; a hit costs about 3 µs). Set `false` when your sampler may
   * record a child of an unsampled parent. Calls outside any span always ask the sampler.
   * @default true
   */
  followParentSampling?: boolean;
}

/** Stops the instrumentation: unsubscribes from the channels (spans in flight are ended as they finish, without this instrumentation). */
export interface OpenTelemetryInstrumentation {
  disable(): void;
}

const NAME = 'llm-optimization-engine';
const SPAN = Symbol('llm-optimization-engine.span');
const STARTED = Symbol('llm-optimization-engine.started');
/** Semantic-convention buckets of `gen_ai.client.operation.duration`, in seconds. */
const GEN_AI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** Semantic-convention buckets of `gen_ai.client.token.usage`. */
const GEN_AI_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** The buckets of `/metrics`' `llm_optimizer_call_duration_seconds`. */
const CALL_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Traced = CallTraceMessage & { [SPAN]?: Span | undefined };
type TimedStore = StoreTraceMessage & { [STARTED]?: number };

interface Instruments {
  readonly operationDuration: Histogram;
  readonly tokenUsage: Histogram;
  readonly calls: Counter;
  readonly callDuration: Histogram;
  readonly storeDuration: Histogram;
}

/**
 * Turns the engine's tracing channels into OpenTelemetry spans and metrics: a span per call and
 * per stream (GenAI semantic-convention attributes plus the engine's own `llm_optimizer.*`), the
 * GenAI client metrics, and counters and histograms matching `GET /metrics`. Process-wide, like
 * the instrumentations of undici or fastify: every engine's calls are traced. Call once at start-up,
 * after registering your SDK (or pass its providers).
 *
 * @example
 * ```ts
 * import { instrumentOpenTelemetry } from 'llm-optimization-engine/opentelemetry';
 * instrumentOpenTelemetry({ engines: [engine] });
 * ```
 */
export function instrumentOpenTelemetry(options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  if (typeof options !== 'object' || options === null) throw new TypeError(`\`options\` must be an object, received ${describe(options)}`);
  const { tracerProvider, meterProvider, engines = [], followParentSampling = true } = options;
  if (typeof followParentSampling !== 'boolean') throw new TypeError(`\`followParentSampling\` must be a boolean, received ${describe(followParentSampling)}`);
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw new TypeError(`\`tracerProvider\` must be an OpenTelemetry TracerProvider, received ${describe(tracerProvider)}`);
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw new TypeError(`\`meterProvider\` must be an OpenTelemetry MeterProvider, received ${describe(meterProvider)}`);
  }
  if (!Array.isArray(engines) || engines.some((e) => typeof (e as Partial<OptimizationEngine>)?.getCacheStats !== 'function')) {
    throw new TypeError(`\`engines\` must be an array of OptimizationEngine, received ${describe(engines)}`);
  }
  const provider = tracerProvider ?? trace.getTracerProvider();
  const tracer = provider.getTracer(NAME);
  // The global provider is a proxy until an SDK registers: while it is, a span would be a no-op, so none is started.
  const unregistered = provider instanceof ProxyTracerProvider ? () => provider.getDelegate() === NOOP_TRACER_PROVIDER : () => false;
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(NAME);
  const instruments: Instruments = {
    operationDuration: meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's', description: 'GenAI operation duration.', advice: { explicitBucketBoundaries: GEN_AI_DURATION_BUCKETS },
    }),
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}', description: 'Number of input and output tokens used.', advice: { explicitBucketBoundaries: GEN_AI_TOKEN_BUCKETS },
    }),
    calls: meter.createCounter('llm_optimizer.calls', { unit: '{call}', description: 'Calls through the engine by outcome (hit, miss, coalesced, bypass, error).' }),
    callDuration: meter.createHistogram('llm_optimizer.call.duration', {
      unit: 's', description: 'Duration of calls through the engine, by outcome.', advice: { explicitBucketBoundaries: CALL_BUCKETS },
    }),
    storeDuration: meter.createHistogram('llm_optimizer.store.operation.duration', {
      unit: 's', description: 'Duration of shared-store operations, by store, operation and error.', advice: { explicitBucketBoundaries: CALL_BUCKETS },
    }),
  };
  const gauges = observeEngines(meter, engines);

  const onStart = (raw: unknown): void => {
    const message = raw as Traced;
    if (unregistered()) return;
    const parent = context.active();
    if (followParentSampling && trace.getSpan(parent)?.isRecording() === false) return;
    message[SPAN] = tracer.startSpan(`${message.promptKind} ${message.model}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'gen_ai.operation.name': message.promptKind, 'gen_ai.request.model': message.model, 'llm_optimizer.stream': message.operation === 'stream' },
    }, parent);
  };
  const labels = new LabelCache();
  // No meter provider registered: the meter is a no-op for good (the metrics API has no proxy), so the
  // calls to its instruments and the labels built for them are skipped.
  const recorded = isNoopCounter(instruments.calls) ? undefined : instruments;
  const onEnd = (raw: unknown): void => finishCall(raw as Traced, recorded, labels);
  const onStoreStart = (raw: unknown): void => void ((raw as TimedStore)[STARTED] = performance.now());
  const onStoreEnd = (raw: unknown): void => {
    const message = raw as TimedStore;
    const started = message[STARTED];
    if (started === undefined) return;
    instruments.storeDuration.record((performance.now() - started) / 1000, {
      'llm_optimizer.store.name': message.store, 'llm_optimizer.store.operation': message.operation,
      ...(message.error === undefined ? {} : { 'error.type': errorType(message.error) }),
    });
  };
  const subscriptions: [string, (message: unknown) => void][] = [
    [`tracing:${CALL_CHANNEL}:start`, onStart], [`tracing:${CALL_CHANNEL}:asyncEnd`, onEnd],
    [`tracing:${STORE_CHANNEL}:start`, onStoreStart], [`tracing:${STORE_CHANNEL}:asyncEnd`, onStoreEnd],
  ];
  for (const [name, handler] of subscriptions) diagnosticsChannel.subscribe(name, handler);
  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const [name, handler] of subscriptions) diagnosticsChannel.unsubscribe(name, handler);
      gauges();
    },
  };
}

/** Metric attribute objects, built once per label set rather than per call (the hit path records three metrics). */
class LabelCache {
  readonly #outcomes = new Map<string, Attributes>();
  readonly #genAi = new Map<string, Map<string, Attributes>>();

  outcome(outcome: string): Attributes {
    let attributes = this.#outcomes.get(outcome);
    if (attributes === undefined) this.#outcomes.set(outcome, (attributes = Object.freeze({ 'llm_optimizer.outcome': outcome })));
    return attributes;
  }

  /** Per operation and model (looked up by the model string itself, no key built); past 200 models, built per call instead of kept. */
  genAi(operation: 'chat' | 'text_completion', model: string): Attributes {
    let byModel = this.#genAi.get(operation);
    if (byModel === undefined) this.#genAi.set(operation, (byModel = new Map<string, Attributes>()));
    let attributes = byModel.get(model);
    if (attributes === undefined) {
      attributes = Object.freeze({ 'gen_ai.operation.name': operation, 'gen_ai.request.model': model });
      if (byModel.size < 200) byModel.set(model, attributes);
    }
    return attributes;
  }
}

const NOOP_COUNTER = createNoopMeter().createCounter('noop').constructor;
/** What a `ProxyTracerProvider` delegates to before an SDK registers (one instance per copy of the API). */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

function isNoopCounter(counter: Counter): boolean {
  return counter.constructor === NOOP_COUNTER;
}

function finishCall(message: Traced, instruments: Instruments | undefined, labels: LabelCache): void {
  const outcome = message.outcome ?? 'error';
  const type = outcome === 'error' ? errorType(message.error) : undefined;
  const usage = message.usage;
  if (instruments !== undefined) recordMetrics(message, outcome, type, instruments, labels);
  const span = message[SPAN];
  if (span === undefined) return;
  message[SPAN] = undefined;
  if (span.isRecording()) {
    const attributes: Attributes = {
      'llm_optimizer.outcome': outcome,
      'llm_optimizer.cache.mode': message.cacheMode,
      'llm_optimizer.coalesced': outcome === 'coalesced',
    };
    if (message.source !== undefined) attributes['llm_optimizer.cache.source'] = message.source;
    if (message.missCause !== undefined) attributes['llm_optimizer.cache.miss_cause'] = message.missCause;
    if (usage?.promptTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = usage.promptTokens;
    if (usage?.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
    // Routing (another issue) names the tier a call went to on the message; carried when present.
    const tier = (message as { tier?: unknown }).tier;
    if (typeof tier === 'string') attributes['llm_optimizer.tier'] = tier;
    if (type !== undefined) {
      attributes['error.type'] = type;
      // No description: an error's message may quote the prompt.
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.setAttributes(attributes);
  }
  span.end();
}

function recordMetrics(message: Traced, outcome: string, type: string | undefined, instruments: Instruments, labels: LabelCache): void {
  const seconds = Math.max(0, message.durationMs ?? 0) / 1000;
  const genAi = type === undefined ? labels.genAi(message.promptKind, message.model) : { ...labels.genAi(message.promptKind, message.model), 'error.type': type };
  const byOutcome = labels.outcome(outcome);
  instruments.operationDuration.record(seconds, genAi);
  instruments.calls.add(1, byOutcome);
  instruments.callDuration.record(seconds, byOutcome);
  const usage = message.usage;
  if (usage?.promptTokens !== undefined) instruments.tokenUsage.record(usage.promptTokens, { ...genAi, 'gen_ai.token.type': 'input' });
  if (usage?.outputTokens !== undefined) instruments.tokenUsage.record(usage.outputTokens, { ...genAi, 'gen_ai.token.type': 'output' });
}

/** `error.type`: the error's `code` when it has a string one, else its name (never its message). */
function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length <= 64) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length <= 64) return name;
  }
  return '_OTHER';
}

/** Observable gauges and counters read from the engines at each collection; returns what removes them. */
function observeEngines(meter: ReturnType<MeterProvider['getMeter']>, engines: readonly OptimizationEngine[]): () => void {
  if (engines.length === 0) return () => undefined;
  const entries = meter.createObservableGauge('llm_optimizer.cache.entries', { unit: '{entry}', description: 'Entries in the cache.' });
  const bytes = meter.createObservableGauge('llm_optimizer.cache.bytes', { unit: 'By', description: 'Approximate bytes held by the cache.' });
  const score = meter.createObservableGauge('llm_optimizer.efficiency_score', { unit: '1', description: 'Efficiency score of the optimization report (0-100).' });
  const answered = meter.createObservableGauge('llm_optimizer.answered_without_model.ratio', { unit: '1', description: 'Calls answered without the model over those plus model calls.' });
  const modelCalls = meter.createObservableCounter('llm_optimizer.model_calls', { unit: '{call}', description: 'Calls that reached the model (ran exec).' });
  const timeSaved = meter.createObservableCounter('llm_optimizer.time_saved', { unit: 's', description: 'Model time saved by hits and coalescing (measured exec time).' });
  const observables = [entries, bytes, score, answered, modelCalls, timeSaved];
  const callback = (result: { observe(observable: (typeof observables)[number], value: number, attributes?: Attributes): void }): void => {
    engines.forEach((engine, index) => {
      if (engine.closed) return;
      const attributes = { 'llm_optimizer.engine': index };
      const stats = engine.cache.getStats();
      const report = engine.getCacheStats();
      result.observe(entries, stats.size, attributes);
      result.observe(bytes, stats.bytes, attributes);
      result.observe(answered, report.cache.answered_without_model_percent / 100, attributes);
      result.observe(modelCalls, report.cache.model_calls, attributes);
      result.observe(timeSaved, report.performance_impact.time_saved_estimate_seconds, attributes);
      try {
        result.observe(score, engine.getOptimizationReport().summary.efficiency_score, attributes);
      } catch {
        // Left out, as /metrics leaves it out, when the report cannot be built.
      }
    });
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
