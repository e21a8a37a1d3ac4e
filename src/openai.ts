// `llm-optimization-engine/openai`: the engine in front of the official `openai` npm client.
export { withOptimization } from './adapters/openai.js';
export type {
  OpenAIClientLike, OpenAIOptimizationOptions, OptimizedChatCompletions, OptimizedCompletions, OptimizedEmbeddings,
  OptimizedOpenAI, OptimizedOpenAIStream, WithOptimizationField,
} from './adapters/openai.js';
export type { KeyFields } from './adapters/openai-request.js';
export { isCompleteChunks, isCompleteCompletion, openAiUsage } from './adapters/openai-request.js';
export type { OllamaCallSettings as OpenAICallSettings, RequestOptimization } from './adapters/ollama-options.js';
export type { OptimizedStream, ReplayMode } from './stream/types.js';
