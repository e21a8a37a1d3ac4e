// Quick start: `npx tsx examples/basic.ts`. In your project, import from 'llm-optimization-engine'.
import { OptimizationEngine } from '../src/index.js';

// A fake model that takes 300 ms per answer; put your real call here (fetch, ollama, openai…).
let modelCalls = 0;
async function callMyModel(prompt: string, model: string, signal: AbortSignal): Promise<string> {
  modelCalls++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  signal.throwIfAborted();
  return `${model} says: one proactive action for "${prompt}"`;
}

const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });
const ask = (prompt: string) => engine.optimizeAiCall(prompt, 'llama3.1:8b',
  (_prompt, model, { signal }) => callMyModel(prompt, model, signal), { params: { temperature: 0 } });

await Promise.all([ask('Alice, Monday morning'), ask('Alice, Monday morning')]); // concurrent: one model call
console.log(await ask('Alice, Monday morning'));                                 // later: from the cache
console.log(`model calls: ${modelCalls} of 3`, engine.getCacheStats());
await engine.close();
