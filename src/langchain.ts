// `llm-optimization-engine/langchain`: the engine as LangChain.js's cache, and in front of any chat model.
export { EngineCache } from './adapters/langchain-cache.js';
export { OptimizedChatModel, withOptimization } from './adapters/langchain-model.js';
export type { OptimizationMetadata, OptimizedChatModelCallOptions } from './adapters/langchain-model.js';
export type {
  EngineCacheOptions, LangChainCallSettings, LangChainRequestOptimization, OptimizedChatModelOptions,
} from './adapters/langchain-options.js';
export type { OptimizedStream, ReplayMode } from './stream/types.js';
