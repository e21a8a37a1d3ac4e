import type { OptimizationEngine } from '../engine.js';
import { describe, knownKeys, nonNegativeNumber, oneOf, plainObject, positiveInteger } from '../internal/validate.js';
import { checkSettings, SETTINGS, type OllamaCallSettings } from './ollama-options.js';
import { NAMESPACE } from './ai-sdk-key.js';

/**
 * Cache settings of the middleware's calls: for all of them (the middleware's options), or for one
 * call in `providerOptions.llmOptimizationEngine` (taken off before the call reaches the provider).
 *
 * @example
 * ```ts
 * await generateText({ model, prompt, providerOptions: { llmOptimizationEngine: { scope: 'tenant-42', cache: 'refresh' } } });
 * ```
 */
export type AiSdkCallSettings = OllamaCallSettings;

/** Options of `optimizationMiddleware`. */
export interface OptimizationMiddlewareOptions extends AiSdkCallSettings {
  /** The engine whose cache, coalescing and monitor the calls go through. */
  engine: OptimizationEngine;
  /**
   * Also store answers that end in tool calls (`finishReason` `'tool-calls'`). The key holds the
   * whole call, tools and tool choice included, so a stored tool call answers only the same question
   * with the same tools; your tools still run on every call (only the model's choice is cached).
   * Answers with provider-executed tools (the provider ran them: their results may change) are never stored.
   * @default true
   */
  storeToolCalls?: boolean;
  /**
   * The `usage` a cached (or coalesced) answer reports. `'zero'`: the tokens this call made a model
   * process, which is none (what it cost when it was generated is in
   * `providerMetadata.llmOptimizationEngine.cachedUsage`). `'original'`: the stored answer's usage.
   * @default 'zero'
   */
  hitUsage?: 'zero' | 'original';
  /**
   * The middleware specification the returned object declares: `'v3'` for AI SDK 6 (whose
   * `wrapLanguageModel` requires it); AI SDK 7 accepts either and hands every middleware v4 calls.
   * The middleware reads v2, v3 and v4 calls and results alike.
   * @default 'v3'
   */
  specificationVersion?: 'v3' | 'v4';
}

/** Options of `embeddingOptimizationMiddleware`. */
export interface EmbeddingOptimizationMiddlewareOptions extends Omit<AiSdkCallSettings, 'replay' | 'staleIfError'> {
  /** The engine whose cache, coalescing and monitor the calls go through. */
  engine: OptimizationEngine;
  /**
   * Values not in the cache that arrive within this many ms of the first (from one `embedMany`, or
   * concurrent `embed` calls) for the same model and settings go to the model in one request. `0`
   * sends each value on its own.
   * @default 5
   */
  embedBatchWindowMs?: number;
  /** Most values in one request; a full batch is sent at once (also capped by the model's `maxEmbeddingsPerCall`). @default 256 */
  maxEmbedBatch?: number;
  /** @default 'v3' (see `OptimizationMiddlewareOptions.specificationVersion`) */
  specificationVersion?: 'v3' | 'v4';
}

export interface ResolvedMiddlewareOptions {
  readonly engine: OptimizationEngine;
  readonly defaults: AiSdkCallSettings;
  readonly storeToolCalls: boolean;
  readonly hitUsage: 'zero' | 'original';
  readonly specificationVersion: 'v3' | 'v4';
}

export interface ResolvedEmbeddingOptions {
  readonly engine: OptimizationEngine;
  readonly defaults: AiSdkCallSettings;
  readonly embedBatchWindowMs: number;
  readonly maxEmbedBatch: number;
  readonly specificationVersion: 'v3' | 'v4';
}

export function resolveMiddlewareOptions(options: OptimizationMiddlewareOptions): ResolvedMiddlewareOptions {
  const record = plainObject('options', options) ?? {};
  knownKeys('options', record, ['engine', ...SETTINGS, 'storeToolCalls', 'hitUsage', 'specificationVersion']);
  const { storeToolCalls } = options;
  if (storeToolCalls !== undefined && typeof storeToolCalls !== 'boolean') {
    throw new TypeError(`\`storeToolCalls\` must be a boolean, received ${describe(storeToolCalls)}`);
  }
  return Object.freeze({
    engine: checkEngine(options.engine),
    defaults: Object.freeze(checkSettings(options)),
    storeToolCalls: storeToolCalls ?? true,
    hitUsage: oneOf('hitUsage', options.hitUsage, ['zero', 'original'], 'zero'),
    specificationVersion: oneOf('specificationVersion', options.specificationVersion, ['v3', 'v4'], 'v3'),
  });
}

export function resolveEmbeddingOptions(options: EmbeddingOptimizationMiddlewareOptions): ResolvedEmbeddingOptions {
  const record = plainObject('options', options) ?? {};
  knownKeys('options', record, ['engine', 'scope', 'ttlMs', 'cache', 'embedBatchWindowMs', 'maxEmbedBatch', 'specificationVersion']);
  return Object.freeze({
    engine: checkEngine(options.engine),
    defaults: Object.freeze(checkSettings(options)),
    embedBatchWindowMs: nonNegativeNumber('embedBatchWindowMs', options.embedBatchWindowMs, 5),
    maxEmbedBatch: positiveInteger('maxEmbedBatch', options.maxEmbedBatch, 256),
    specificationVersion: oneOf('specificationVersion', options.specificationVersion, ['v3', 'v4'], 'v3'),
  });
}

/** The middleware's defaults overridden by the call's `providerOptions.llmOptimizationEngine`, if any. */
export function callSettings(defaults: AiSdkCallSettings, providerOptions: unknown, allowed: readonly string[] = SETTINGS): AiSdkCallSettings {
  const own = (providerOptions as Record<string, unknown> | undefined)?.[NAMESPACE];
  if (own === undefined) return defaults;
  const name = `providerOptions.${NAMESPACE}`;
  const record = plainObject(name, own);
  try {
    knownKeys(name, record, allowed);
    return { ...defaults, ...checkSettings(record as AiSdkCallSettings) };
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      if (error.message.startsWith('`') && !error.message.startsWith(`\`${name}`)) error.message = `\`${name}.${error.message.slice(1)}`;
    }
    throw error;
  }
}

function checkEngine(engine: unknown): OptimizationEngine {
  const e = engine as { optimizeAiCall?: unknown; optimizeAiStream?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.optimizeAiCall !== 'function' || typeof e.optimizeAiStream !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
  return engine as OptimizationEngine;
}
