import { OptimizationEngine } from './engine.js';
import type { CallOptions, ExecFunction, Prompt } from './types.js';

let defaultEngine: OptimizationEngine | undefined;

/** The engine behind the function form, created with default options on first use (and again after it was closed). */
export function getDefaultEngine(): OptimizationEngine {
  if (defaultEngine === undefined || defaultEngine.closed) defaultEngine = new OptimizationEngine();
  return defaultEngine;
}

/**
 * `optimizeAiCall` without managing an engine: calls go through one default engine created on first use.
 *
 * @example
 * ```ts
 * import { optimizeAiCall } from 'llm-optimization-engine';
 * const text = await optimizeAiCall('Suggest a follow-up for …', 'llama3.1:8b', (p, m, { signal }) => ask(p, m, signal));
 * ```
 */
export function optimizeAiCall<T, P extends Prompt = Prompt>(prompt: P, model: string, exec: ExecFunction<T, P>, options?: CallOptions): Promise<T> {
  return getDefaultEngine().optimizeAiCall(prompt, model, exec, options);
}
