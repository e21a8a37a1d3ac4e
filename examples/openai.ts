// The official `openai` client through the engine: `npx tsx examples/openai.ts`.
// With OPENAI_BASE_URL set (e.g. http://127.0.0.1:11434/v1 for Ollama) it talks to that server;
// without, to the package's loopback test server backed by a mock model. In your project, import
// from 'llm-optimization-engine' and 'llm-optimization-engine/openai'.
import OpenAI from 'openai';
import { OptimizationEngine } from '../src/index.js';
import { withOptimization } from '../src/openai.js';
import { createMockModel, startOllamaTestServer } from '../src/testing.js';

export async function runOpenAiExample(baseURL?: string, log: (line: string) => void = console.log): Promise<{ upstream: number }> {
  const local = baseURL === undefined ? await startOllamaTestServer({ backend: createMockModel({ latencyMs: 200 }) }) : undefined;
  const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });
  // The one-line set-up: wrap the client you already have.
  const openai = withOptimization(new OpenAI({ baseURL: baseURL ?? `${local?.url}/v1`, apiKey: 'ollama' }), engine);
  const model = process.env['OPENAI_MODEL'] ?? 'llama3.1:8b';
  const messages = [{ role: 'user' as const, content: 'Suggest one follow-up for a user who booked 3 meetings today' }];

  // Five identical concurrent calls share one request; the next one is a hit.
  await Promise.all(Array.from({ length: 5 }, () => openai.chat.completions.create({ model, messages, temperature: 0 })));
  const answer = await openai.chat.completions.create({ model, messages, temperature: 0 });
  log(`answer: ${answer.choices[0]?.message.content ?? ''}`);

  // Streams: the first is recorded while it streams, the second is replayed chunk by chunk.
  for (let i = 0; i < 2; i++) {
    let text = '';
    for await (const chunk of await openai.chat.completions.create({ model, messages, temperature: 0, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    log(`stream ${i + 1}: ${text.length} characters`);
  }

  // Per-request settings: a tenant's own scope, a deadline for this caller only.
  await openai.chat.completions.create({ model, messages, optimization: { scope: 'tenant-42', signal: AbortSignal.timeout(30_000) } });

  const stats = engine.getCacheStats().cache;
  log(`model calls: ${stats.model_calls}, answered without the model: ${stats.answered_without_model_percent} %`);
  const upstream = local?.requests.filter((r) => r.path === '/v1/chat/completions').length ?? stats.model_calls;
  await engine.close();
  await local?.close();
  return { upstream };
}

if (import.meta.url === `file://${process.argv[1]}`) await runOpenAiExample(process.env['OPENAI_BASE_URL']);
