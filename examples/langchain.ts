// LangChain.js through the engine: `npx tsx examples/langchain.ts`. Uses the Ollama at OLLAMA_HOST when
// set, otherwise the package's loopback Ollama test server (a mock model), so it runs anywhere.
// In your project, import from 'llm-optimization-engine' and 'llm-optimization-engine/langchain'.
import { pathToFileURL } from 'node:url';
import { ChatOllama } from '@langchain/ollama';
import { OptimizationEngine } from '../src/index.js';
import { EngineCache, withOptimization } from '../src/langchain.js';
import { createMockModel, startOllamaTestServer } from '../src/testing.js';

export interface ExampleFigures {
  invokeOutcomes: (string | undefined)[];
  streamedTexts: string[];
  cacheOutcome: string | undefined;
  stats: ReturnType<OptimizationEngine['getCacheStats']>['cache'];
}

export async function runExample(baseUrl: string, log: (line: string) => void = console.log): Promise<ExampleFigures> {
  const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });

  // 1. The wrapper: invoke, batch and stream go through the engine, keyed on everything the model sees.
  const model = withOptimization(new ChatOllama({ model: 'llama3.1:8b', baseUrl, temperature: 0 }), engine, { scope: 'tenant-42' });
  const first = await model.invoke('Why is the sky blue? One sentence.');
  const second = await model.invoke('Why is the sky blue? One sentence.');          // from the cache
  const outcome = (m: typeof first) => (m.response_metadata['optimization'] as { outcome?: string } | undefined)?.outcome;
  log(`invoke: ${outcome(first)}, then ${outcome(second)}: ${second.text}`);

  // Five identical streams at once: one request to Ollama, every reader gets the same chunks.
  const read = async () => {
    let text = '';
    for await (const chunk of await model.stream('Tell me a two-line story.')) text += typeof chunk.content === 'string' ? chunk.content : '';
    return text;
  };
  const streamedTexts = await Promise.all([read(), read(), read(), read(), read()]);
  log(`5 concurrent streams, ${new Set(streamedTexts).size} distinct text(s): ${streamedTexts[0] ?? ''}`);

  // 2. The BaseCache: any LangChain model's `cache` option (what LangChain's cache contract allows: no streams).
  let cacheOutcome: string | undefined;
  engine.once('cache-hit', () => (cacheOutcome = 'hit'));
  const cached = new ChatOllama({ model: 'llama3.1:8b', baseUrl, temperature: 0, cache: new EngineCache(engine, { model: 'llama3.1:8b', scope: 'tenant-42' }) });
  await cached.invoke('Name three primary colours.');
  await cached.invoke('Name three primary colours.');
  log(`EngineCache: second call ${cacheOutcome ?? 'missed'}`);

  const stats = engine.getCacheStats().cache;
  log(`cache: ${JSON.stringify(stats)}`);
  await engine.close();
  return { invokeOutcomes: [outcome(first), outcome(second)], streamedTexts, cacheOutcome, stats };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const host = process.env['OLLAMA_HOST'];
  const server = host === undefined || host === '' ? await startOllamaTestServer({ backend: createMockModel({ chunkDelayMs: 5 }).backend }) : undefined;
  try {
    await runExample(server?.url ?? (host?.includes('://') === true ? host : `http://${host ?? ''}`));
  } finally {
    await server?.close();
  }
}
