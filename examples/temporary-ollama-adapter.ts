// TEMPORARY: a stand-in for `withOptimization` from `llm-optimization-engine/ollama` (branch
// `stream`, issue 5), so the demo runs before the real adapter lands on main. Delete this file and
// change the import in `examples/demo/workload.ts` to `../../src/ollama.js` once `src/ollama.ts` exports
// `withOptimization`.
//
// What it does, deliberately minimal: non-streaming `generate`, `chat` and `embed` go through
// `engine.optimizeAiCall`, keyed on every request field except `model`, the prompt/messages, `stream`
// and `keep_alive`; Ollama's token counts and timings are reported to the engine; an answer that did
// not end with `done_reason: 'stop'` is removed from the cache right after it is stored. Streaming
// requests and every other method pass through to the client untouched.
import type { ChatRequest, EmbedRequest, GenerateRequest, Ollama } from 'ollama';
import type { OptimizationEngine, Prompt, TokenUsage } from '../src/index.js';

type Optimizable = Partial<Pick<Ollama, 'generate' | 'chat' | 'embed'>>;

interface OllamaTimings {
  prompt_eval_count?: number;
  eval_count?: number;
  eval_duration?: number;
  load_duration?: number;
  prompt_eval_duration?: number;
  done_reason?: string;
}

const NS_PER_MS = 1e6;

function usageOf(response: OllamaTimings): TokenUsage {
  return {
    promptTokens: response.prompt_eval_count ?? 0,
    outputTokens: response.eval_count ?? 0,
    generationMs: (response.eval_duration ?? 0) / NS_PER_MS,
    loadMs: (response.load_duration ?? 0) / NS_PER_MS,
    promptMs: (response.prompt_eval_duration ?? 0) / NS_PER_MS,
  };
}

/** Splits a request into the engine's prompt, model and params (`keep_alive` and `stream` left out). */
function keyParts(endpoint: string, request: Record<string, unknown>, promptField: string): { prompt: Prompt; model: string; params: Record<string, unknown> } {
  const { model, [promptField]: prompt, keep_alive: _keepAlive, stream: _stream, ...rest } = request;
  const text = typeof prompt === 'string' ? prompt : JSON.stringify(prompt ?? '');
  return { prompt: text, model: String(model), params: { endpoint, ...rest } };
}

async function optimized<R extends OllamaTimings>(
  engine: OptimizationEngine, endpoint: string, request: Record<string, unknown>, promptField: string, send: () => Promise<R>,
): Promise<R> {
  const { prompt, model, params } = keyParts(endpoint, request, promptField);
  const response = await engine.optimizeAiCall(prompt, model, async (_prompt, _model, { reportUsage }) => {
    const answer = await send();
    reportUsage(usageOf(answer));
    return answer;
  }, { params });
  const complete = endpoint === 'embed' || response.done_reason === 'stop';
  if (!complete) engine.cache.delete(prompt, model, { params });
  return response;
}

/**
 * TEMPORARY stand-in for `withOptimization(client, engine)` of `llm-optimization-engine/ollama`:
 * the same client, with non-streaming `generate`, `chat` and `embed` answered through the engine.
 */
export function withOptimization<C extends Optimizable>(client: C, engine: OptimizationEngine): C {
  const overrides: Record<string, unknown> = {
    generate: (request: GenerateRequest) => (request.stream === true
      ? client.generate?.({ ...request, stream: true })
      : optimized(engine, 'generate', { ...request }, 'prompt', () => client.generate!({ ...request, stream: false }))),
    chat: (request: ChatRequest) => (request.stream === true
      ? client.chat?.({ ...request, stream: true })
      : optimized(engine, 'chat', { ...request }, 'messages', () => client.chat!({ ...request, stream: false }))),
    embed: (request: EmbedRequest) => optimized(engine, 'embed', { ...request }, 'input', () => client.embed!(request)),
  };
  return new Proxy(client, {
    get: (target, property, receiver) => (typeof property === 'string' && property in overrides && property in target
      ? overrides[property]
      : Reflect.get(target, property, receiver)),
  });
}
