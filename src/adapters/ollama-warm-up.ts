import type { GenerateRequest, GenerateResponse } from 'ollama';
import type { WarmUpContext } from '../forecast/warm-up.js';
import { describe } from '../internal/validate.js';

/** What `ollamaWarmUp` needs of an `ollama` client: a non-streaming `generate`. */
export interface OllamaGenerateClient {
  generate(request: GenerateRequest & { stream?: false }): Promise<GenerateResponse>;
}

/**
 * The warm-up hook for Ollama: an empty `generate` request, which loads the model without
 * generating anything, with `keep_alive` set to the warm-up's `keepAliveMs` (in whole seconds).
 * Pass your own client, not the one `withOptimization` returns: a warm-up is not a call to cache.
 *
 * @example
 * ```ts
 * import { Ollama } from 'ollama';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { ollamaWarmUp } from 'llm-optimization-engine/ollama';
 *
 * const ollama = new Ollama();
 * const engine = new OptimizationEngine({ warmUp: { run: ollamaWarmUp(ollama) } });
 * ```
 */
export function ollamaWarmUp(client: OllamaGenerateClient): (model: string, context: WarmUpContext) => Promise<unknown> {
  if (typeof client !== 'object' || client === null || typeof client.generate !== 'function') {
    throw new TypeError(`\`client\` must be an ollama client with generate(), received ${describe(client)}`);
  }
  return async (model, { keepAliveMs, signal }) => {
    signal.throwIfAborted();
    const request = { model, prompt: '', stream: false as const, keep_alive: `${Math.max(1, Math.ceil(keepAliveMs / 1000))}s` };
    return client.generate(request);
  };
}
