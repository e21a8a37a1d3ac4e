// Observability costs (issue 15): the hit path with nobody subscribed to the tracing channels, with a
// no-op subscriber, with OpenTelemetry instrumented but nothing recording (no SDK; an SDK whose
// sampler records nothing), and recording. Every figure is a ratio against the uninstrumented engine
// run in the same process, contenders interleaved. With OBS_BASELINE_DIST=<path to another build's
// dist/>, the same hit path of that build runs too (e.g. the commit before the channels existed):
// the price of the channels when nobody subscribes.
import diagnosticsChannel from 'node:diagnostics_channel';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OptimizationEngine } from '../dist/index.js';
import { instrumentOpenTelemetry } from '../dist/opentelemetry.js';
import { BATCH_MADE, promptSource, templates } from './core.mjs';

const MODEL = 'llama3.1:8b';
const BATCH = 20_000;
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function primed(Engine, texts) {
  const engine = new Engine();
  const exec = () => 'x'.repeat(400);
  for (const t of texts) await engine.optimizeAiCall(t, MODEL, exec);
  return { engine, hit: (p) => engine.optimizeAiCall(p, MODEL, exec) };
}

/**
 * ns of process CPU time (user + system) per call of `fn` over `count` fresh prompts, timing only
 * the calls. CPU time, not wall time: on a machine shared with other jobs, descheduling alone moves
 * wall-clock figures by more than the effects measured here.
 */
async function cpuFresh(texts, count, fn) {
  const make = promptSource(texts);
  let micros = 0;
  let calls = 0;
  for (let done = 0; done < count; done += BATCH_MADE) {
    const batch = make();
    const start = process.cpuUsage();
    for (let i = 0; i < BATCH_MADE; i++) await fn(batch[i]);
    const used = process.cpuUsage(start);
    micros += used.user + used.system;
    calls += BATCH_MADE;
  }
  return (micros * 1000) / calls;
}

/**
 * Median ns per hit of each contender over `rounds`, after a warm-up round; the order of the
 * contenders rotates every round, since on a shared machine the position in a round alone moves a
 * figure by more than the effects measured here.
 */
async function rotatingRace(contenders, rounds = 12) {
  const names = Object.keys(contenders);
  for (const name of names) await contenders[name]();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      samples[name].push(await contenders[name]());
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const base = samples[names[0]];
  return {
    medians: Object.fromEntries(names.map((n) => [n, median(samples[n])])),
    // Each round's ratio to the first contender of the same round, then the median: slow drifts of
    // the machine's load cancel out within a round.
    ratios: Object.fromEntries(names.map((n) => [n, median(samples[n].map((v, r) => v / base[r]))])),
  };
}

/** Runs `time` with `enable()` in force, undone afterwards, so contenders interleave in one process. */
const under = (enable, time) => async () => {
  const disable = enable();
  try {
    return await time();
  } finally {
    disable();
  }
};

function noopSubscriber() {
  const names = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((e) => `tracing:llm-optimization-engine:call:${e}`);
  const handler = () => undefined;
  for (const n of names) diagnosticsChannel.subscribe(n, handler);
  return () => names.forEach((n) => diagnosticsChannel.unsubscribe(n, handler));
}

export async function benchObservability(length = 2000) {
  const texts = templates(length);
  const { engine, hit } = await primed(OptimizationEngine, texts);
  const run = () => cpuFresh(texts, BATCH, hit);
  const offProvider = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
  const exporter = new InMemorySpanExporter();
  const recordingProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider();
  const contenders = {
    no_subscriber: run,
    noop_channel_subscriber: under(noopSubscriber, run),
    otel_api_only_no_sdk: under(() => {
      const i = instrumentOpenTelemetry({ tracerProvider: trace.getTracerProvider(), meterProvider: metrics.getMeterProvider() });
      return () => i.disable();
    }, run),
    otel_root_sampler_records_nothing: under(() => {
      const i = instrumentOpenTelemetry({ tracerProvider: offProvider, meterProvider: metrics.getMeterProvider() });
      return () => i.disable();
    }, run),
    otel_root_sampler_records_nothing_with_sdk_meter: under(() => {
      const i = instrumentOpenTelemetry({ tracerProvider: offProvider, meterProvider });
      return () => i.disable();
    }, run),
    otel_recording_every_span: under(() => {
      const i = instrumentOpenTelemetry({ tracerProvider: recordingProvider, meterProvider });
      return () => {
        i.disable();
        exporter.reset();
      };
    }, run),
  };
  let baseline;
  if (process.env.OBS_BASELINE_DIST) {
    const { OptimizationEngine: Before } = await import(new URL(`${process.env.OBS_BASELINE_DIST.replace(/\/$/, '')}/index.js`, `file://${process.cwd()}/`).href);
    baseline = await primed(Before, texts);
    contenders.build_before_channels = () => cpuFresh(texts, BATCH, baseline.hit);
  }
  const { medians, ratios } = await rotatingRace(contenders);
  const inRequest = await unsampledRequests(run, recordingProvider, meterProvider);
  if (exporter.getFinishedSpans().length > 0) throw new Error('a span was recorded inside an unsampled request');
  if (engine.getCacheStats().cache.misses !== texts.length) throw new Error('the hit path missed');
  await engine.close();
  await baseline?.engine.close();
  await meterProvider.shutdown();
  const base = medians.no_subscriber;
  const out = { prompt_chars: length, clock: 'process CPU time; ns: median of 12 rotating rounds; ratio: median of per-round ratios', ns_per_hit_no_subscriber: round(base) };
  for (const [name, ns] of Object.entries(medians)) {
    if (name === 'no_subscriber') continue;
    out[`${name}_ns`] = round(ns);
    out[`${name}_ratio`] = round(ratios[name], 3);
  }
  out.in_unsampled_request = inRequest;
  out.goal_otel_not_recording_at_most = 1.1;
  return out;
}

/**
 * A service's usual set-up: OpenTelemetry's AsyncLocalStorage context manager, and each call made
 * inside an incoming request's span, here unsampled (what an HTTP instrumentation puts in context
 * for a request its sampler dropped). The provider's default sampler (ParentBased) would record
 * nothing; the instrumentation skips the SDK's span start. Baseline: the same, uninstrumented.
 * A no-op subscriber stays on the call channel throughout: subscribing the first handler of a
 * channel and removing its last one swaps the channel's prototype, which costs every publishing
 * site its inline caches; a service subscribes once, a bench toggling per round would measure that.
 */
async function unsampledRequests(run, tracerProvider, meterProvider) {
  const keepActive = noopSubscriber();
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const request = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0 });
  const inside = (time) => () => context.with(trace.setSpan(context.active(), request), time);
  try {
    const { medians, ratios } = await rotatingRace({
      no_instrumentation: inside(run),
      otel_instrumented: under(() => {
        const i = instrumentOpenTelemetry({ tracerProvider });
        return () => i.disable();
      }, inside(run)),
      otel_instrumented_with_sdk_meter: under(() => {
        const i = instrumentOpenTelemetry({ tracerProvider, meterProvider });
        return () => i.disable();
      }, inside(run)),
    });
    return {
      baseline: 'no OpenTelemetry; AsyncLocalStorage context manager and a no-op channel subscriber for every contender',
      ns_per_hit_no_instrumentation: round(medians.no_instrumentation),
      otel_instrumented_ns: round(medians.otel_instrumented),
      otel_instrumented_ratio: round(ratios.otel_instrumented, 3),
      otel_instrumented_with_sdk_meter_ns: round(medians.otel_instrumented_with_sdk_meter),
      otel_instrumented_with_sdk_meter_ratio: round(ratios.otel_instrumented_with_sdk_meter, 3),
    };
  } finally {
    context.disable();
    keepActive();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchObservability());
