import type { EmbedRequest, EmbedResponse } from 'ollama';
import type { CallStatus } from '../types.js';
import { EmbedBatcher } from './embed-batcher.js';
import { NAMESPACE, ownOptionsRemoved } from './ai-sdk-key.js';
import { callSettings, resolveEmbeddingOptions, type EmbeddingOptimizationMiddlewareOptions, type ResolvedEmbeddingOptions } from './ai-sdk-options.js';
import type { Data } from './ai-sdk-result.js';

/** What the middleware reads of the embedding model it wraps (an AI SDK `EmbeddingModelV3` or `V4`). */
export interface EmbeddingModelLike {
  readonly specificationVersion: string;
  readonly provider: string;
  readonly modelId: string;
  readonly maxEmbeddingsPerCall?: unknown;
  doEmbed(options: never): PromiseLike<unknown>;
}

/** The middleware `embeddingOptimizationMiddleware` returns: pass it to `wrapEmbeddingModel`. */
export interface EmbeddingOptimizationMiddleware<V extends 'v3' | 'v4' = 'v3'> {
  readonly specificationVersion: V;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own v3 or v4 call options, model and result
  wrapEmbed(options: { readonly params: any; readonly model: any; readonly doEmbed: () => PromiseLike<unknown> }): Promise<any>;
}

/** Fields of an embedding call that never change the vectors (`values` is keyed one by one). */
const NOT_KEYED = new Set(['values', 'abortSignal', 'headers', 'providerOptions']);

/** Outcomes of one `doEmbed` call's values: `providerMetadata.llmOptimizationEngine`. */
export interface EmbeddingCacheMetadata {
  /** Values answered from the cache. */
  hits: number;
  /** Values that shared an identical value's request in flight. */
  coalesced: number;
  /** Values this call sent to the model. */
  misses: number;
}

/**
 * Embedding-model middleware: every value is cached on its own (an `embedMany` whose values were
 * partly seen before sends only the new ones), identical values in flight share one request, and
 * values not in the cache that arrive within `embedBatchWindowMs` (one `embedMany`'s, or concurrent
 * `embed` calls') go to the model in one request, the way the Ollama adapter batches `/api/embed`.
 *
 * @example
 * ```ts
 * import { embedMany, wrapEmbeddingModel } from 'ai';
 * const model = wrapEmbeddingModel({ model: ollama.embedding('nomic-embed-text'), middleware: embeddingOptimizationMiddleware({ engine }) });
 * const { embeddings } = await embedMany({ model, values: ['a', 'b'] });
 * ```
 */
export function embeddingOptimizationMiddleware<V extends 'v3' | 'v4' = 'v3'>(
  options: EmbeddingOptimizationMiddlewareOptions & { specificationVersion?: V },
): EmbeddingOptimizationMiddleware<V> {
  const resolved = resolveEmbeddingOptions(options);
  const batchers = new WeakMap<object, EmbedBatcher>();
  const batcherOf = (model: EmbeddingModelLike): EmbedBatcher => {
    let batcher = batchers.get(model);
    if (batcher === undefined) batchers.set(model, (batcher = createBatcher(model, resolved)));
    return batcher;
  };
  return {
    specificationVersion: resolved.specificationVersion as V,
    wrapEmbed: ({ params, model }) => embed(resolved, params as Data, model as EmbeddingModelLike, batcherOf(model as EmbeddingModelLike)),
  };
}

/** The shared batcher, speaking to the model through the Ollama-shaped client it was built for. */
function createBatcher(model: EmbeddingModelLike, options: ResolvedEmbeddingOptions): EmbedBatcher {
  const perCall = model.maxEmbeddingsPerCall;
  const max = typeof perCall === 'number' && perCall > 0 ? Math.min(perCall, options.maxEmbedBatch) : options.maxEmbedBatch;
  const client = {
    async embed(request: EmbedRequest): Promise<EmbedResponse> {
      const settings = (request as unknown as { settings: Data }).settings;
      const values = typeof request.input === 'string' ? [request.input] : request.input;
      const result = (await model.doEmbed({ ...settings, values } as never)) as Data;
      const tokens = (result['usage'] as Data | undefined)?.['tokens'];
      return { model: model.modelId, embeddings: result['embeddings'] as number[][], ...(typeof tokens === 'number' ? { prompt_eval_count: tokens } : {}) } as EmbedResponse;
    },
  };
  return new EmbedBatcher(client, options.embedBatchWindowMs, max);
}

async function embed(options: ResolvedEmbeddingOptions, params: Data, model: EmbeddingModelLike, batcher: EmbedBatcher): Promise<Data> {
  const settings = callSettings(options.defaults, params['providerOptions'], ['scope', 'ttlMs', 'cache']);
  const providerOptions = ownOptionsRemoved(params['providerOptions']);
  // What the model gets besides the values; calls batch together only when all of it (headers too) is the same.
  const sent: Data = {};
  const keyed: Data = { 'ai-sdk': model.specificationVersion, provider: model.provider };
  for (const field in params) {
    const v = params[field];
    if (field === 'values' || field === 'abortSignal' || v === undefined) continue;
    sent[field] = field === 'providerOptions' ? providerOptions : v;
    if (!NOT_KEYED.has(field)) keyed[field] = v;
  }
  if (providerOptions !== undefined) keyed['providerOptions'] = providerOptions;
  const signal = params['abortSignal'] as AbortSignal | undefined;
  const metadata: EmbeddingCacheMetadata = { hits: 0, coalesced: 0, misses: 0 };
  let tokens = 0;
  const one = async (value: string): Promise<number[]> => {
    const status: CallStatus = {};
    let ran = false;
    const vector = await options.engine.optimizeAiCall(value, model.modelId, async (_prompt, _model, context) => {
      const response = await batcher.embed({ model: model.modelId, input: value, settings: sent } as unknown as EmbedRequest, context.signal);
      ran = true;
      const share = response.prompt_eval_count;
      if (typeof share === 'number') {
        tokens += share;
        context.reportUsage({ promptTokens: share });
      }
      return Object.freeze(response.embeddings[0] ?? []);
    }, { ...settings, params: keyed, status, values: 'shared', ...(signal === undefined ? {} : { signal }) });
    if (status.outcome === 'hit') metadata.hits++;
    else if (ran) metadata.misses++;
    else metadata.coalesced++;
    return vector.slice();
  };
  const values = params['values'] as readonly string[];
  const embeddings = await Promise.all(values.map(one));
  return { embeddings, usage: { tokens }, providerMetadata: { [NAMESPACE]: { ...metadata } }, warnings: [] };
}
