import { basename } from 'node:path';
import type * as LlamaCpp from 'node-llama-cpp';
import type { BackendGenerateRequest, BackendGenerateResult, OllamaBackend } from './backend.js';
import { throwIfAborted } from './abort.js';
import { expectOptionsObject, expectPositiveInteger, expectString, rejectUnknownKeys } from './option-checks.js';

/** Options of {@link createLlamaCppBackend}. */
export interface LlamaCppBackendOptions {
  /**
   * Path of a GGUF model file. The npm package ships no model: pass your own path (the repository
   * keeps `models/stories260K.gguf`, 1.2 MB, for its own tests).
   * @example `modelPath: fileURLToPath(new URL('../models/stories260K.gguf', import.meta.url))`
   */
  readonly modelPath: string;
  /**
   * Name the server serves the model under (a request may omit `:latest`).
   * @default the file name without `.gguf`, plus `:latest` (e.g. `stories260K:latest`)
   */
  readonly modelName?: string;
  /**
   * CPU threads for evaluation. More threads than cores makes generation far slower, not faster.
   * @default 1
   */
  readonly threads?: number;
  /**
   * Context window in tokens.
   * @default the model's training context (chosen by node-llama-cpp)
   */
  readonly contextSize?: number;
  /**
   * Tokens generated when the request sets no positive `num_predict` (Ollama would run to the end
   * of the context; a test wants a bound).
   * @default 128
   */
  readonly maxTokens?: number;
}

/** An {@link OllamaBackend} over a real GGUF model; call `close()` to free the native memory. */
export interface LlamaCppBackend extends OllamaBackend {
  /** Waits for queued requests, then unloads the model (a later request loads it again). */
  close(): Promise<void>;
}

interface Loaded {
  readonly llama: LlamaCpp.Llama;
  readonly model: LlamaCpp.LlamaModel;
  readonly context: LlamaCpp.LlamaContext;
  readonly completion: LlamaCpp.LlamaCompletion;
  readonly loadDurationNs: number;
}

type Resolved = Required<Omit<LlamaCppBackendOptions, 'contextSize'>> & Pick<LlamaCppBackendOptions, 'contextSize'>;

function resolveOptions(input: unknown): Resolved {
  const options = expectOptionsObject('createLlamaCppBackend', input) as Partial<LlamaCppBackendOptions>;
  rejectUnknownKeys('createLlamaCppBackend', options, ['modelPath', 'modelName', 'threads', 'contextSize', 'maxTokens']);
  const modelPath = expectString('modelPath', options.modelPath);
  const fileName = basename(modelPath).replace(/\.gguf$/i, '');
  const name = expectString('modelName', options.modelName ?? fileName);
  return Object.freeze({
    modelPath,
    modelName: name.includes(':') ? name : `${name}:latest`,
    threads: expectPositiveInteger('threads', options.threads ?? 1),
    maxTokens: expectPositiveInteger('maxTokens', options.maxTokens ?? 128),
    ...(options.contextSize === undefined ? {} : { contextSize: expectPositiveInteger('contextSize', options.contextSize) }),
  });
}

/** Ollama's sampling `options` in node-llama-cpp's terms; greedy (temperature 0) unless asked otherwise. */
function samplingOptions(options: Readonly<Record<string, unknown>>, maxTokens: number): LlamaCpp.LlamaCompletionGenerationOptions {
  const numberOf = (key: string): number | undefined => (typeof options[key] === 'number' ? options[key] : undefined);
  const numPredict = numberOf('num_predict');
  const stop = options['stop'];
  return {
    maxTokens: numPredict !== undefined && numPredict > 0 ? numPredict : maxTokens,
    temperature: numberOf('temperature') ?? 0,
    ...definedEntries({ seed: numberOf('seed'), topK: numberOf('top_k'), topP: numberOf('top_p'), minP: numberOf('min_p') }),
    ...(Array.isArray(stop) ? { customStopTriggers: stop.filter((item): item is string => typeof item === 'string') } : {}),
  };
}

const definedEntries = (record: Record<string, number | undefined>): Record<string, number> =>
  Object.fromEntries(Object.entries(record).filter((entry): entry is [string, number] => entry[1] !== undefined));

/** The text the model continues: stories260K and its kind have no chat template, so messages are joined. */
function promptText(request: BackendGenerateRequest): string {
  const body = typeof request.prompt === 'string' ? request.prompt : request.prompt.map((message) => message.content).join('\n');
  return request.system === undefined || request.system === '' ? body : `${request.system}\n${body}`;
}

class LlamaCppBackendImpl implements LlamaCppBackend {
  readonly #options: Resolved;
  #loading: Promise<Loaded> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #loadReported = false;
  readonly models: OllamaBackend['models'];

  constructor(options: Resolved) {
    this.#options = options;
    this.models = Object.freeze([Object.freeze({ name: options.modelName, family: 'llama' })]);
  }

  /** One context, one sequence: requests run one at a time, in arrival order. */
  generate(request: BackendGenerateRequest): Promise<BackendGenerateResult> {
    const run = this.#queue.then(() => this.#generateNow(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#queue;
    const loading = this.#loading;
    this.#loading = undefined;
    if (loading === undefined) return;
    const loaded = await loading.catch(() => undefined);
    if (loaded === undefined) return;
    await loaded.context.dispose();
    await loaded.model.dispose();
    await loaded.llama.dispose();
  }

  async #generateNow(request: BackendGenerateRequest): Promise<BackendGenerateResult> {
    throwIfAborted(request.signal);
    const loaded = await this.#load();
    throwIfAborted(request.signal);
    const text = promptText(request);
    const context: number[] = text === '' ? [] : [...loaded.model.tokenize(text)];
    const promptEvalCount = context.length;
    if (promptEvalCount === 0) return { doneReason: 'stop', promptEvalCount: 0, evalCount: 0, context };
    const started = performance.now();
    const { metadata } = await loaded.completion.generateCompletionWithMeta(text, {
      ...samplingOptions(request.options, this.#options.maxTokens),
      signal: request.signal,
      onTextChunk: request.onText,
      onToken: (tokens) => { context.push(...tokens); },
    });
    const evalDurationNs = Math.round((performance.now() - started) * 1e6);
    const loadDurationNs = this.#loadReported ? 0 : loaded.loadDurationNs;
    this.#loadReported = true;
    return {
      doneReason: metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      promptEvalCount, evalCount: context.length - promptEvalCount, context, loadDurationNs, evalDurationNs, promptEvalDurationNs: 0,
      totalDurationNs: loadDurationNs + evalDurationNs,
    };
  }

  #load(): Promise<Loaded> {
    if (this.#loading === undefined) {
      this.#loadReported = false;
      this.#loading = loadModel(this.#options);
      this.#loading.catch(() => { this.#loading = undefined; });
    }
    return this.#loading;
  }
}

async function loadModel(options: Resolved): Promise<Loaded> {
  const started = performance.now();
  // A computed specifier keeps bundlers from inlining node-llama-cpp: it is loaded only when this
  // backend is used, so the testing entry works without it installed.
  const specifier = 'node-llama-cpp';
  const lib = (await import(specifier)) as typeof LlamaCpp;
  const llama = await lib.getLlama({ gpu: false, logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  const context = await model.createContext({
    threads: options.threads,
    ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
  });
  const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
  return { llama, model, context, completion, loadDurationNs: Math.round((performance.now() - started) * 1e6) };
}

/**
 * An {@link OllamaBackend} that runs a real GGUF model on the CPU through `node-llama-cpp` (an
 * optional dependency, imported on first use). Greedy by default, so the same prompt gives the
 * same text; honours `num_predict` (`done_reason: 'length'` when reached), `temperature`, `seed`,
 * `top_k`, `top_p`, `min_p` and `stop`; streams text as it is produced. No embeddings.
 *
 * @example
 * ```ts
 * const backend = createLlamaCppBackend({ modelPath: '/models/stories260K.gguf' });
 * const server = await startOllamaTestServer({ backend });
 * // new Ollama({ host: server.url }).generate({ model: 'stories260K', prompt: 'Once upon a time' })
 * await server.close();
 * await backend.close();
 * ```
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function createLlamaCppBackend(options: LlamaCppBackendOptions): LlamaCppBackend {
  return new LlamaCppBackendImpl(resolveOptions(options));
}
