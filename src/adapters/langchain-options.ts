import { describe, knownKeys, plainObject } from '../internal/validate.js';
import { validateScope } from '../internal/arguments.js';
import { positiveNumber } from '../internal/validate.js';
import type { OptimizationEngine } from '../engine.js';
import { checkSettings, type OllamaCallSettings, type RequestOptimization } from './ollama-options.js';

/** Cache settings of the wrapper's calls: for all of them (`withOptimization`'s options) or one (the `optimization` call option). */
export type LangChainCallSettings = OllamaCallSettings;

/**
 * The `optimization` call option of the wrapped model: cache settings, a signal and a status object
 * for one call. Never sent to the model and never part of the key.
 *
 * @example
 * ```ts
 * await model.invoke(messages, { optimization: { scope: 'tenant-42', status } });
 * ```
 */
export type LangChainRequestOptimization = RequestOptimization;

/** Options of `withOptimization(chatModel, engine, options)`. */
export interface OptimizedChatModelOptions extends LangChainCallSettings {
  /**
   * Store only answers whose provider reported a finish reason that means "done" (`stop`,
   * `end_turn`, `tool_calls`…). By default an answer with no finish reason at all (test fakes, some
   * providers) is stored too; one with any other reason (`length`, `max_tokens`…) never is.
   * @default false
   */
  requireFinishReason?: boolean;
}

/** Options of `new EngineCache(engine, options)`. */
export interface EngineCacheOptions {
  /** A tenant or namespace: entries of different scopes are never shared. @default '' */
  scope?: string;
  /** Time to live of the answers stored, in ms. @default the engine cache's `ttlMs` */
  ttlMs?: number;
  /**
   * The model name the engine files these calls under (statistics, events, circuits), and part of
   * the key. LangChain's `llmKey` does not always name the model: `ChatOllama`'s holds only the call
   * options, so give each model its own name here when several share one engine and scope.
   * @default 'langchain'
   */
  model?: string;
  /** As {@link OptimizedChatModelOptions.requireFinishReason}. @default false */
  requireFinishReason?: boolean;
}

export interface ResolvedChatModelOptions {
  readonly defaults: LangChainCallSettings;
  readonly requireFinishReason: boolean;
}

export function resolveChatModelOptions(options: OptimizedChatModelOptions): ResolvedChatModelOptions {
  const record = plainObject('options', options);
  knownKeys('options', record, ['scope', 'ttlMs', 'cache', 'staleIfError', 'replay', 'requireFinishReason']);
  const { requireFinishReason, ...settings } = options;
  return Object.freeze({
    defaults: Object.freeze(checkSettings(settings)),
    requireFinishReason: booleanOption('requireFinishReason', requireFinishReason),
  });
}

export interface ResolvedCacheOptions {
  readonly scope: string;
  readonly ttlMs: number | undefined;
  readonly model: string;
  readonly requireFinishReason: boolean;
}

export function resolveCacheOptions(options: EngineCacheOptions): ResolvedCacheOptions {
  const record = plainObject('options', options);
  knownKeys('options', record, ['scope', 'ttlMs', 'model', 'requireFinishReason']);
  const { model } = options;
  if (model !== undefined && (typeof model !== 'string' || model === '')) {
    throw new TypeError(`\`model\` must be a non-empty string, received ${describe(model)}`);
  }
  return Object.freeze({
    scope: options.scope === undefined ? '' : validateScope(options.scope),
    ttlMs: options.ttlMs === undefined ? undefined : positiveNumber('ttlMs', options.ttlMs, 0),
    model: model ?? 'langchain',
    requireFinishReason: booleanOption('requireFinishReason', options.requireFinishReason),
  });
}

function booleanOption(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`\`${name}\` must be a boolean, received ${describe(value)}`);
  return value;
}

export function checkEngine(engine: unknown): asserts engine is OptimizationEngine {
  const e = engine as { optimizeAiCall?: unknown; optimizeAiStream?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.optimizeAiCall !== 'function' || typeof e.optimizeAiStream !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
}
