import type {
  BackendEmbedRequest, BackendEmbedResult, BackendGenerateRequest, BackendGenerateResult, DoneReason,
  ModelPrompt, OllamaBackend,
} from './backend.js';
import { throwIfAborted, waitForAbort } from './abort.js';
import { createPrng, embeddingFor } from './deterministic.js';
import { describeValue, expectPositiveInteger } from './option-checks.js';
import { resolveMockOptions } from './mock-model-options.js';
import type { MockCall, MockModelOptions, ResolvedMockOptions } from './mock-model-options.js';

/** The context the engine passes to a work function; the mock reads `signal` and calls `reportUsage`. */
export interface MockExecContext {
  readonly signal?: AbortSignal;
  readonly key?: string;
  /** When present (the engine provides it), the mock reports its token counts through it. */
  readonly reportUsage?: (usage: { promptTokens?: number; outputTokens?: number }) => void;
}

/** A full answer with the details an Ollama response carries. */
export interface MockCompletion {
  readonly text: string;
  readonly chunks: readonly string[];
  readonly doneReason: DoneReason;
  readonly promptEvalCount: number;
  readonly evalCount: number;
}

/** Per-call options of {@link MockModel.complete} and {@link MockModel.stream}. */
export interface MockCallOptions {
  /**
   * Aborts the call: it rejects promptly with the signal's reason, even while hanging or sleeping.
   * @default undefined (the call cannot be aborted; a hanging call then never settles)
   */
  readonly signal?: AbortSignal;
  /**
   * Stop after this many tokens (Ollama's `num_predict`); the answer then reports `'length'`.
   * @default undefined (the whole answer)
   */
  readonly maxTokens?: number;
  /**
   * Called with each chunk as it is produced.
   * @default undefined
   */
  readonly onChunk?: (chunk: string) => void;
}

/** A deterministic fake LLM; see {@link createMockModel}. */
export interface MockModel {
  /**
   * The engine's work-function signature: resolves with the answer text. A plain bound function,
   * safe to pass around: `engine.optimizeAiCall(prompt, model, mock.exec)`.
   */
  readonly exec: (prompt: ModelPrompt, model: string, context?: MockExecContext) => Promise<string>;
  /** The same call with the Ollama details (chunks, token counts, done reason). */
  complete(prompt: ModelPrompt, model: string, options?: MockCallOptions): Promise<MockCompletion>;
  /** Streams the answer's chunks. The call starts (and is counted) when iteration starts. */
  stream(prompt: ModelPrompt, model: string, options?: Pick<MockCallOptions, 'signal' | 'maxTokens'>): AsyncIterable<string>;
  /** Deterministic unit vectors, one per input; counts as one call. */
  embed(input: string | readonly string[], model: string, options?: { readonly signal?: AbortSignal }): Promise<number[][]>;
  /** Calls started since creation or the last `reset()`. */
  readonly calls: number;
  /** One entry per call, in order. */
  readonly callLog: readonly MockCall[];
  /** Clears `calls` and `callLog` and restarts the failure PRNG from `seed`. */
  reset(): void;
  /** This model as an {@link OllamaBackend} (`startOllamaTestServer` also accepts the mock itself). */
  readonly backend: OllamaBackend;
}

class MockModelImpl implements MockModel {
  readonly #options: ResolvedMockOptions;
  #log: MockCall[] = [];
  #random: () => number;

  readonly backend: OllamaBackend;

  constructor(options: ResolvedMockOptions, models: OllamaBackend['models']) {
    this.#options = options;
    this.#random = createPrng(options.seed);
    this.backend = Object.freeze({
      models,
      generate: (request: BackendGenerateRequest) => this.#generateForBackend(request),
      embed: (request: BackendEmbedRequest) => this.#embedForBackend(request),
    });
  }

  get calls(): number {
    return this.#log.length;
  }

  get callLog(): readonly MockCall[] {
    return [...this.#log];
  }

  reset(): void {
    this.#log = [];
    this.#random = createPrng(this.#options.seed);
  }

  exec = async (prompt: ModelPrompt, model: string, context?: MockExecContext): Promise<string> => {
    const answer = await this.complete(prompt, model, context?.signal === undefined ? {} : { signal: context.signal });
    context?.reportUsage?.({ promptTokens: answer.promptEvalCount, outputTokens: answer.evalCount });
    return answer.text;
  };

  complete = async (prompt: ModelPrompt, model: string, options: MockCallOptions = {}): Promise<MockCompletion> => {
    const run = this.#run(prompt, model, options);
    for (let step = await run.next(); ; step = await run.next()) {
      if (step.done === true) return step.value;
      options.onChunk?.(step.value);
    }
  };

  stream = (prompt: ModelPrompt, model: string, options: Pick<MockCallOptions, 'signal' | 'maxTokens'> = {}): AsyncIterable<string> =>
    ({ [Symbol.asyncIterator]: () => this.#run(prompt, model, options) });

  embed = async (input: string | readonly string[], model: string, options: { readonly signal?: AbortSignal } = {}): Promise<number[][]> => {
    const inputs = typeof input === 'string' ? [input] : input;
    const call = this.#begin('embed', inputs.join('\n'), model);
    await this.#prepare(call, options.signal);
    return inputs.map((text) => embeddingFor(`${model}\n${text}`, this.#options.embeddingDimensions));
  };

  /** One call: yields the chunks as they are due, returns the whole answer. */
  async *#run(prompt: ModelPrompt, model: string, options: Pick<MockCallOptions, 'signal' | 'maxTokens'>): AsyncGenerator<string, MockCompletion> {
    if (options.maxTokens !== undefined) expectPositiveInteger('maxTokens', options.maxTokens);
    const call = this.#begin('generate', prompt, model);
    await this.#prepare(call, options.signal);
    const answer = this.#answer(call, options.maxTokens);
    for (const [index, chunk] of answer.chunks.entries()) {
      if (index > 0) await this.#chunkDelay(options.signal);
      throwIfAborted(options.signal);
      yield chunk;
    }
    return answer;
  }

  /** Records the call and rolls the failure dice synchronously, so call order fixes the outcome. */
  #begin(kind: MockCall['kind'], prompt: ModelPrompt, model: string): MockCall & { readonly fails: boolean } {
    const call: MockCall = Object.freeze({ index: this.#log.length + 1, kind, prompt, model, time: this.#options.now() });
    this.#log.push(call);
    const { failEvery, failRate } = this.#options;
    const roll = this.#random();
    const fails = (failEvery !== undefined && call.index % failEvery === 0) || roll < failRate;
    return { ...call, fails };
  }

  /** Hang, latency and injected failure: everything that happens before the first chunk. */
  async #prepare(call: MockCall & { readonly fails: boolean }, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (this.#options.hang(call)) await waitForAbort(signal);
    const latency = this.#options.latencyMs(call);
    if (latency > 0) await this.#options.sleep(latency, signal);
    throwIfAborted(signal);
    if (call.fails) throw this.#options.error(call);
  }

  async #chunkDelay(signal: AbortSignal | undefined): Promise<void> {
    if (this.#options.chunkDelayMs > 0) await this.#options.sleep(this.#options.chunkDelayMs, signal);
  }

  #answer(call: MockCall, maxTokens: number | undefined): MockCompletion {
    const { respond, split, countTokens, doneReason } = this.#options;
    const text = respond(call.prompt, call.model);
    if (typeof text !== 'string') throw new TypeError(`\`respond\` must return a string, returned ${describeValue(text)}`);
    const all = split(text);
    const chunks: string[] = [];
    let evalCount = 0;
    for (const chunk of all) {
      if (maxTokens !== undefined && evalCount >= maxTokens) break;
      chunks.push(chunk);
      evalCount += Math.max(1, countTokens(chunk));
    }
    const kept = chunks.join('');
    const truncated = chunks.length < all.length;
    return Object.freeze({
      text: kept,
      chunks: Object.freeze(chunks),
      doneReason: doneReason?.(call, kept) ?? (truncated ? 'length' : 'stop'),
      promptEvalCount: countTokens(typeof call.prompt === 'string' ? call.prompt : call.prompt.map((m) => m.content).join('\n')),
      evalCount,
    });
  }

  async #generateForBackend(request: BackendGenerateRequest): Promise<BackendGenerateResult> {
    const started = this.#options.now();
    const prompt = request.system === undefined || typeof request.prompt !== 'string'
      ? request.prompt
      : [{ role: 'system', content: request.system }, { role: 'user', content: request.prompt }];
    const numPredict = request.options['num_predict'];
    const maxTokens = typeof numPredict === 'number' && numPredict > 0 ? numPredict : undefined;
    const answer = await this.complete(prompt, request.model, {
      signal: request.signal, onChunk: request.onText, ...(maxTokens === undefined ? {} : { maxTokens }),
    });
    const totalDurationNs = Math.round((this.#options.now() - started) * 1e6);
    return {
      doneReason: answer.doneReason,
      promptEvalCount: answer.promptEvalCount,
      evalCount: answer.evalCount,
      totalDurationNs,
      loadDurationNs: 0,
      promptEvalDurationNs: 0,
      evalDurationNs: totalDurationNs,
    };
  }

  async #embedForBackend(request: BackendEmbedRequest): Promise<BackendEmbedResult> {
    const vectors = await this.embed(request.input, request.model, { signal: request.signal });
    const embeddings = request.dimensions === undefined ? vectors : vectors.map((vector) => vector.slice(0, request.dimensions));
    const promptEvalCount = request.input.reduce((sum, text) => sum + this.#options.countTokens(text), 0);
    return { embeddings, promptEvalCount };
  }
}

/**
 * Creates a deterministic fake LLM: the same prompt and model always give the same answer, with
 * latency, failures and hangs injected on demand and driven by an injectable clock.
 *
 * @example
 * ```ts
 * const clock = createManualClock();
 * const mock = createMockModel({ clock, latencyMs: 500 });
 * const answer = mock.exec('Hello', 'llama3.1:8b');
 * clock.advance(500);
 * await answer; // a deterministic string; mock.calls === 1
 * ```
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function createMockModel(options: MockModelOptions = {}): MockModel {
  const resolved = resolveMockOptions(options);
  const models = resolved.models.map((name) => Object.freeze({ name, sizeBytes: 1024, family: 'mock', parameterSize: '0B', quantizationLevel: 'F32' }));
  return new MockModelImpl(resolved, Object.freeze(models));
}
