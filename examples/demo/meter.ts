// Counts what passes through an Ollama-shaped client: requests, Ollama's token counts and timings,
// truncated answers, and each request's latency. The demo puts one meter on the raw client (what
// reached the model) and one on the optimized client (what the services were served).
interface OllamaFigures {
  eval_count?: number;
  eval_duration?: number;
  prompt_eval_count?: number;
  load_duration?: number;
  total_duration?: number;
  done_reason?: string;
}

/** What a meter saw. Durations in ms. */
export interface MeterFigures {
  requests: number;
  byMethod: Record<'generate' | 'chat' | 'embed', number>;
  /** Generated tokens (`eval_count`) in the answers. */
  evalTokens: number;
  /** Ollama's `eval_duration` summed, in ms. */
  evalMs: number;
  promptTokens: number;
  /** Ollama's `load_duration` summed, in ms (cold model loads). */
  loadMs: number;
  /** Ollama's `total_duration` minus `load_duration`, summed, in ms: the model's busy time for these answers. */
  modelMs: number;
  /** Answers that ended with `done_reason: 'length'` (cut by `num_predict`). */
  truncated: number;
  /** Latency of each request, in order of completion, in ms. */
  latenciesMs: number[];
}

export interface Meter<C> {
  readonly client: C;
  readonly figures: MeterFigures;
}

function record(figures: MeterFigures, response: OllamaFigures, latencyMs: number): void {
  figures.evalTokens += response.eval_count ?? 0;
  figures.evalMs += (response.eval_duration ?? 0) / 1e6;
  figures.promptTokens += response.prompt_eval_count ?? 0;
  figures.loadMs += (response.load_duration ?? 0) / 1e6;
  figures.modelMs += ((response.total_duration ?? 0) - (response.load_duration ?? 0)) / 1e6;
  if (response.done_reason === 'length') figures.truncated++;
  figures.latenciesMs.push(latencyMs);
}

/** Wraps the non-streaming `generate`, `chat` and `embed` of `client`; everything else passes through. */
export function meter<C extends object>(client: C): Meter<C> {
  const figures: MeterFigures = {
    requests: 0, byMethod: { generate: 0, chat: 0, embed: 0 }, evalTokens: 0, evalMs: 0, promptTokens: 0, loadMs: 0, modelMs: 0, truncated: 0, latenciesMs: [],
  };
  const wrap = (method: keyof MeterFigures['byMethod']) => async (request: unknown): Promise<unknown> => {
    figures.requests++;
    figures.byMethod[method]++;
    const started = performance.now();
    const call = Reflect.get(client, method) as (request: unknown) => Promise<unknown>;
    const response = await call.call(client, request);
    record(figures, response as OllamaFigures, performance.now() - started);
    return response;
  };
  const overrides: Record<string, unknown> = { generate: wrap('generate'), chat: wrap('chat'), embed: wrap('embed') };
  const proxy = new Proxy(client, {
    get: (target, property, receiver) => (typeof property === 'string' && property in overrides && property in target
      ? overrides[property]
      : Reflect.get(target, property, receiver)),
  });
  return { client: proxy, figures };
}
