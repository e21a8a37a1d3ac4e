// `llm-optimization-engine/ollama`: the engine in front of the `ollama` npm client.
export { withOptimization } from './adapters/ollama.js';
export type {
  OllamaClientLike, OptimizedOllama, OptimizedOllamaMethods, WithOptimizationField,
} from './adapters/ollama.js';
export type { OllamaCallSettings, OllamaOptimizationOptions, RequestOptimization } from './adapters/ollama-options.js';
export { createOllamaHealthProbe } from './adapters/ollama-health.js';
export type { OllamaListClient } from './adapters/ollama-health.js';
export { isCompleteResponse, isCompleteStream, usageOf as ollamaUsage } from './adapters/ollama-request.js';
export type { OptimizedStream, ReplayMode } from './stream/types.js';
export { ollamaWarmUp } from './adapters/ollama-warm-up.js';
export type { OllamaGenerateClient } from './adapters/ollama-warm-up.js';
