// `llm-optimization-engine/ai-sdk`: the engine as Vercel AI SDK middleware (AI SDK 6 and 7).
export { optimizationMiddleware } from './adapters/ai-sdk.js';
export type { LanguageModelLike, MiddlewareCall, OptimizationMiddleware } from './adapters/ai-sdk.js';
export { embeddingOptimizationMiddleware } from './adapters/ai-sdk-embed.js';
export type { EmbeddingCacheMetadata, EmbeddingModelLike, EmbeddingOptimizationMiddleware } from './adapters/ai-sdk-embed.js';
export type { AiSdkCallSettings, EmbeddingOptimizationMiddlewareOptions, OptimizationMiddlewareOptions } from './adapters/ai-sdk-options.js';
export type { CacheMetadata } from './adapters/ai-sdk-result.js';
export type { ReplayMode } from './stream/types.js';
