import type { OptimizedStream } from '../stream/types.js';
import type { CallOptions, CallStatus, ExecContext } from '../types.js';
import { callKeyText, ownOptionsRemoved } from './ai-sdk-key.js';
import {
  callSettings, resolveMiddlewareOptions, type AiSdkCallSettings, type OptimizationMiddlewareOptions, type ResolvedMiddlewareOptions,
} from './ai-sdk-options.js';
import {
  completeAnswer, deliveredPart, deliveredResult, engineUsage, metadataOf, storedPart, storedResult, withMetadata,
  type CacheMetadata, type Data, type Delivery,
} from './ai-sdk-result.js';

/** What the middleware reads of the language model it wraps (an AI SDK `LanguageModelV2`, `V3` or `V4`). */
export interface LanguageModelLike {
  readonly specificationVersion: string;
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: never): PromiseLike<unknown>;
  doStream(options: never): PromiseLike<unknown>;
}

/**
 * What a `wrapGenerate` / `wrapStream` hook receives. Typed loosely on purpose: one middleware
 * object serves AI SDK 6 (v3 calls) and 7 (v4 calls), whose exact types differ.
 */
export interface MiddlewareCall {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own v3 or v4 call options
  readonly params: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own v3 or v4 model
  readonly model: any;
  readonly doGenerate: () => PromiseLike<unknown>;
  readonly doStream: () => PromiseLike<unknown>;
}

/** The middleware `optimizationMiddleware` returns: pass it to `wrapLanguageModel`. */
export interface OptimizationMiddleware<V extends 'v3' | 'v4' = 'v3'> {
  readonly specificationVersion: V;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- resolves to the SDK's own generate result
  wrapGenerate(options: MiddlewareCall): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- resolves to the SDK's own stream result
  wrapStream(options: MiddlewareCall): Promise<any>;
}

/** One call, prepared: its key text, cache settings, and the options the provider gets. */
interface PreparedCall {
  readonly text: string;
  readonly settings: AiSdkCallSettings;
  readonly upstream: Data;
}

/**
 * Language-model middleware that puts an `OptimizationEngine` in front of a model: identical calls
 * (the whole call: prompt with every part, files by content hash, tools, tool choice, sampling
 * settings, response format, provider options) are answered from the cache, concurrent identical
 * calls share one upstream call (one stream), and only complete answers are stored. A stream is
 * stored part by part and replayed the same way. Every answer says what happened in
 * `providerMetadata.llmOptimizationEngine` (`outcome`, `hit`, `key`...).
 *
 * @example
 * ```ts
 * import { generateText, wrapLanguageModel } from 'ai';
 * import { ollama } from 'ai-sdk-ollama';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { optimizationMiddleware } from 'llm-optimization-engine/ai-sdk';
 *
 * const engine = new OptimizationEngine();
 * const model = wrapLanguageModel({ model: ollama('llama3.1:8b'), middleware: optimizationMiddleware({ engine }) });
 * const { text, providerMetadata } = await generateText({ model, prompt: 'Hi', temperature: 0 });
 * providerMetadata?.llmOptimizationEngine?.hit; // true the second time
 * ```
 */
export function optimizationMiddleware<V extends 'v3' | 'v4' = 'v3'>(options: OptimizationMiddlewareOptions & { specificationVersion?: V }): OptimizationMiddleware<V> {
  const resolved = resolveMiddlewareOptions(options);
  const admit = completeAnswer(resolved.storeToolCalls);
  const context: MiddlewareContext = {
    options: resolved,
    admit,
    isComplete: (value) => admit((value as Data)['finishReason'], (value as Data)['content'] as unknown[]),
  };
  return {
    specificationVersion: resolved.specificationVersion as V,
    wrapGenerate: ({ params, model }) => generate(context, params as Data, model as LanguageModelLike),
    wrapStream: ({ params, model }) => stream(context, params as Data, model as LanguageModelLike),
  };
}

/** What every call of one middleware shares, built once. */
interface MiddlewareContext {
  readonly options: ResolvedMiddlewareOptions;
  readonly admit: (reason: unknown, content: readonly unknown[]) => boolean;
  readonly isComplete: (value: unknown) => boolean;
}

function prepare(options: ResolvedMiddlewareOptions, params: Data, model: LanguageModelLike): PreparedCall {
  const given = params['providerOptions'];
  if (given === undefined) return keyed(model, params, options.defaults, params);
  const providerOptions = ownOptionsRemoved(given);
  const upstream = providerOptions === given ? params : { ...params, providerOptions };
  return keyed(model, params, callSettings(options.defaults, given), upstream);
}

/** Stands for the key of a call that cannot be keyed; such a call bypasses the cache. */
const UNKEYABLE = 'ai-sdk:unkeyable';

/**
 * The call with its key text. A call the SDK accepted but the key cannot hold (a value that is not
 * plain data somewhere in its options) is not failed: it goes to the model as a `'bypass'` call,
 * uncached and not shared, still monitored, and its metadata says `outcome: 'bypass'`.
 */
function keyed(model: LanguageModelLike, params: Data, settings: AiSdkCallSettings, upstream: Data): PreparedCall {
  try {
    return { text: callKeyText(model, params), settings, upstream };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { text: UNKEYABLE, settings: { ...settings, cache: 'bypass' }, upstream };
  }
}

function engineOptions(settings: AiSdkCallSettings, params: Data, status: CallStatus): CallOptions {
  const options: CallOptions = { status, values: 'shared' };
  if (settings.scope !== undefined) options.scope = settings.scope;
  if (settings.ttlMs !== undefined) options.ttlMs = settings.ttlMs;
  if (settings.cache !== undefined) options.cache = settings.cache;
  if (settings.staleIfError !== undefined) options.staleIfError = settings.staleIfError;
  const signal = params['abortSignal'];
  if (signal !== undefined) options.signal = signal as AbortSignal;
  return options;
}

async function generate(shared: MiddlewareContext, params: Data, model: LanguageModelLike): Promise<Data> {
  const { options } = shared;
  const call = prepare(options, params, model);
  const status: CallStatus = {};
  let own: Data | undefined;
  const engineCall = engineOptions(call.settings, params, status);
  engineCall.isComplete = shared.isComplete;
  const stored = await options.engine.optimizeAiCall(call.text, model.modelId, async (_prompt, _model, context) => {
    const result = (await model.doGenerate({ ...call.upstream, abortSignal: context.signal } as never)) as Data;
    context.reportUsage(engineUsage(result['usage']));
    own = result;
    return storedResult(result);
  }, engineCall);
  // This caller's own upstream call answered it: its result as the provider gave it (with the HTTP response).
  if (own !== undefined) return withMetadata(own, metadataOf(status, true));
  return deliveredResult(stored, delivery(options, status, false));
}

function delivery(options: ResolvedMiddlewareOptions, status: CallStatus, ranModel: boolean): Delivery {
  const metadata: CacheMetadata = metadataOf(status, ranModel);
  const answeredElsewhere = metadata.outcome === 'hit' || metadata.outcome === 'coalesced';
  return { metadata, zeroUsage: answeredElsewhere && options.hitUsage === 'zero' };
}

async function stream(shared: MiddlewareContext, params: Data, model: LanguageModelLike): Promise<Data> {
  const { options, admit } = shared;
  const call = prepare(options, params, model);
  const status: CallStatus = {};
  let upstream: Data | undefined;
  const parts = options.engine.optimizeAiStream<Data>(call.text, model.modelId, async (_prompt, _model, context) => {
    const result = (await model.doStream({ ...call.upstream, abortSignal: context.signal } as never)) as Data;
    upstream = result;
    return partsOf(result['stream'] as ReadableStream<Data>, context);
  }, {
    ...engineOptions(call.settings, params, status),
    ...(call.settings.replay === undefined ? {} : { replay: call.settings.replay }),
    isComplete: (chunks: readonly Data[]) => completeStream(chunks, admit),
  });
  await parts.ready;
  const ran = upstream !== undefined;
  if (call.settings.cache === 'bypass') status.outcome = 'bypass';
  const out = readable(parts, delivery(options, status, ran));
  if (upstream === undefined) return { stream: out };
  const { request, response } = upstream;
  return { stream: out, ...(request === undefined ? {} : { request }), ...(response === undefined ? {} : { response }) };
}

/** A stream worth storing: it finished with an admitted reason and carried no error part. */
function completeStream(chunks: readonly Data[], admit: (reason: unknown, content: readonly unknown[]) => boolean): boolean {
  let finish: Data | undefined;
  for (const chunk of chunks) {
    if (chunk['type'] === 'error' || chunk['providerExecuted'] === true) return false;
    if (chunk['type'] === 'finish') finish = chunk;
  }
  return finish !== undefined && admit(finish['finishReason'], []);
}

/**
 * The provider's stream as the engine reads it: each part as stored data, usage reported from the
 * `finish` part; `abort()` (every consumer has gone) cancels the provider's stream.
 */
function partsOf(source: ReadableStream<Data>, context: ExecContext): AsyncIterable<Data> & { abort(): void } {
  const reader = source.getReader();
  const cancel = (): Promise<void> => reader.cancel().catch(() => undefined);
  return {
    abort: () => void cancel(),
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Data, undefined>> {
        const { done, value } = await reader.read();
        if (done) return { done: true, value: undefined };
        if (value['type'] === 'finish') context.reportUsage(engineUsage(value['usage']));
        return { done: false, value: storedPart(value) };
      },
      async return(): Promise<IteratorResult<Data, undefined>> {
        await cancel();
        return { done: true, value: undefined };
      },
    }),
  };
}

/** This caller's stream: its own copy of every part, the `finish` part with the cache metadata. */
function readable(parts: OptimizedStream<Data>, finishing: Delivery): ReadableStream<Data> {
  return new ReadableStream<Data>({
    async pull(controller) {
      try {
        const { done, value } = await parts.next();
        if (done) controller.close();
        else controller.enqueue(deliveredPart(value, finishing));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await parts.return();
    },
  });
}
