import { BaseCache } from '@langchain/core/caches';
import type { Generation } from '@langchain/core/outputs';
import type { OptimizationEngine } from '../engine.js';
import { isOptimizerError } from '../errors.js';
import type { CallOptions } from '../types.js';
import { isFlattenedPrompt, stableLlmKey } from './langchain-key.js';
import { checkEngine, resolveCacheOptions, type EngineCacheOptions, type ResolvedCacheOptions } from './langchain-options.js';
import { decodeResult, encodeResult, isCompleteResult, restoreGeneration, storeGeneration } from './langchain-values.js';

function notCalled(): never {
  throw new Error('EngineCache: lookups never run the model');
}

/**
 * A LangChain.js cache backed by an `OptimizationEngine`: pass it as any model's `cache` and
 * identical calls are answered from the engine's bounded, TTL'd, scoped cache (and its shared
 * store, when the engine has one), with the engine's statistics and events.
 *
 * It follows the `BaseCache` contract, so it sees what LangChain gives a cache: the messages
 * flattened to a string and `llmKey`, the model's call options. A prompt LangChain flattened with
 * an image or file in it (`[image]`) is never cached, a call's `signal` never splits the cache, and
 * only complete answers (finish reason `stop`, never `length`) are stored. What the contract cannot
 * do (streams, coalescing of concurrent calls, a key that sees every message part and the model's own
 * settings) `withOptimization(chatModel, engine)` does.
 *
 * @example
 * ```ts
 * import { ChatOllama } from '@langchain/ollama';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { EngineCache } from 'llm-optimization-engine/langchain';
 *
 * const engine = new OptimizationEngine();
 * const model = new ChatOllama({ model: 'llama3.1:8b', temperature: 0, cache: new EngineCache(engine, { model: 'llama3.1:8b' }) });
 * await model.invoke('Why is the sky blue?'); // the model answers
 * await model.invoke('Why is the sky blue?'); // the cache answers
 * ```
 */
export class EngineCache extends BaseCache<Generation[]> {
  readonly #engine: OptimizationEngine;
  readonly #options: ResolvedCacheOptions;

  constructor(engine: OptimizationEngine, options: EngineCacheOptions = {}) {
    super();
    checkEngine(engine);
    this.#engine = engine;
    this.#options = resolveCacheOptions(options);
  }

  /** The stored generations (each caller gets new message objects), or `null`. */
  async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    if (isFlattenedPrompt(prompt)) return null;
    try {
      const encoded = await this.#engine.optimizeAiCall<string>(prompt, this.#options.model, notCalled, {
        ...this.#callOptions(llmKey), cache: 'only-if-cached',
      });
      return decodeResult(encoded).generations.map(restoreGeneration);
    } catch (error) {
      if (isOptimizerError(error) && error.code === 'ERR_NOT_CACHED') return null;
      throw error;
    }
  }

  /** Stores the generations of a complete answer; a truncated (`length`) or empty one is left out. */
  async update(prompt: string, llmKey: string, value: Generation[]): Promise<void> {
    if (isFlattenedPrompt(prompt) || !Array.isArray(value) || value.length === 0) return;
    const stored = { generations: value.map(storeGeneration) };
    if (!isCompleteResult(stored, this.#options.requireFinishReason)) return;
    const encoded = encodeResult(stored);
    await this.#engine.optimizeAiCall(prompt, this.#options.model, () => encoded, { ...this.#callOptions(llmKey), cache: 'refresh' });
  }

  #callOptions(llmKey: string): CallOptions {
    const { scope, ttlMs } = this.#options;
    const options: CallOptions = { params: { llmKey: stableLlmKey(llmKey) } };
    if (scope !== '') options.scope = scope;
    if (ttlMs !== undefined) options.ttlMs = ttlMs;
    return options;
  }
}
