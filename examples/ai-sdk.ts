// The engine as Vercel AI SDK middleware: `npx tsx examples/ai-sdk.ts`. Talks to the Ollama at
// OLLAMA_HOST when set (with OLLAMA_MODEL, default llama3.1:8b); otherwise starts the package's
// loopback Ollama test server over a mock model, so it runs anywhere. In your project, import from
// 'llm-optimization-engine' and 'llm-optimization-engine/ai-sdk'.
import { embedMany, generateText, streamText, wrapEmbeddingModel, wrapLanguageModel } from 'ai';
import { createOllama } from 'ai-sdk-ollama';
import { OptimizationEngine } from '../src/index.js';
import { embeddingOptimizationMiddleware, optimizationMiddleware } from '../src/ai-sdk.js';
import { createMockModel, startOllamaTestServer } from '../src/testing.js';

const server = process.env['OLLAMA_HOST'] ? undefined : await startOllamaTestServer({ backend: createMockModel({ models: ['llama3.1:8b', 'nomic-embed-text'], latencyMs: 300 }) });
const ollama = createOllama({ baseURL: server?.url ?? process.env['OLLAMA_HOST'] ?? '' });

const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });
// The one-line set-up: every call of `model` now goes through the engine.
const model = wrapLanguageModel({ model: ollama(process.env['OLLAMA_MODEL'] ?? 'llama3.1:8b'), middleware: optimizationMiddleware({ engine }) });

const ask = () => generateText({ model, prompt: 'In one sentence: why is the sky blue?', temperature: 0 });
const first = await ask();
const second = await ask(); // the same call: answered from the cache
console.log(first.text);
console.log('second call:', second.providerMetadata?.['llmOptimizationEngine'], 'usage:', second.usage.totalTokens);

// Streams are recorded part by part and replayed the same way; identical streams in flight share one.
const chats = () => server?.requests.filter((r) => r.path === '/api/chat').length ?? 0;
const before = chats();
const [a, b] = [streamText({ model, prompt: 'Count to five.' }), streamText({ model, prompt: 'Count to five.' })];
const same = (await a.text) === (await b.text);
console.log(`two concurrent streams: same text ${same}, requests ${server ? chats() - before : '(not counted on a real Ollama)'}`);

// Per call: a tenant's scope (never shared with another's) or a cache mode, in providerOptions.
await generateText({ model, prompt: 'Hello', providerOptions: { llmOptimizationEngine: { scope: 'tenant-42' } } });

// Embeddings: each value cached on its own, new values batched.
const embedder = wrapEmbeddingModel({ model: ollama.embedding('nomic-embed-text'), middleware: embeddingOptimizationMiddleware({ engine }) });
await embedMany({ model: embedder, values: ['alpha', 'beta'] });
const again = await embedMany({ model: embedder, values: ['alpha', 'beta', 'gamma'] });
console.log('embedMany of two seen values and a new one:', again.providerMetadata?.['llmOptimizationEngine']);

console.log(engine.getCacheStats().cache);
await engine.close();
await server?.close();
