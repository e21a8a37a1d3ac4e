// `llm-optimization-engine/testing`: tools for testing code that calls a local LLM, without a
// model, a GPU or the wall clock.
export { createMockModel } from './testing/mock-model.js';
export type { MockModel, MockCompletion, MockCallOptions, MockExecContext } from './testing/mock-model.js';
export type { MockCall, MockModelOptions, SleepFunction } from './testing/mock-model-options.js';
export { createManualClock } from './testing/manual-clock.js';
export type { ManualClock } from './testing/manual-clock.js';
export { startOllamaTestServer } from './testing/ollama-test-server.js';
export type {
  OllamaTestServer, OllamaTestServerOptions, RecordedRequest, RequestOutcome,
} from './testing/ollama-test-server.js';
export type {
  OllamaBackend, BackendModel, BackendGenerateRequest, BackendGenerateResult, BackendEmbedRequest,
  BackendEmbedResult, ChatMessage, DoneReason, ModelPrompt,
} from './testing/backend.js';
export { createLlamaCppBackend } from './testing/llama-cpp-backend.js';
export type { LlamaCppBackend, LlamaCppBackendOptions } from './testing/llama-cpp-backend.js';
export { testCacheStore, TRICKY_VALUES } from './testing/cache-store-suite.js';
export type { CacheStoreSuiteApi, CacheStoreSuiteOptions } from './testing/cache-store-suite.js';
