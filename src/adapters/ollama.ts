import type {
  ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, GenerateRequest, GenerateResponse,
} from 'ollama';
import type { OptimizationEngine } from '../engine.js';
import { describe } from '../internal/validate.js';
import type { OptimizedStream, StreamExecFunction } from '../stream/types.js';
import type { CallOptions, ExecContext } from '../types.js';
import { EmbedBatcher } from './embed-batcher.js';
import {
  chatBody, chatIdentity, embedIdentity, generateIdentity, isCompleteResponse, isCompleteStream, usageOf,
  type OllamaIdentity,
} from './ollama-request.js';
import {
  requestSettings, resolveOllamaOptions, type OllamaOptimizationOptions, type RequestOptimization, type ResolvedOllamaOptions,
} from './ollama-options.js';

/** The per-request field the adapter reads (and removes before the request is sent). */
export interface WithOptimizationField {
  /** Cache settings and a signal for this request only. */
  optimization?: RequestOptimization;
}

/** A stream from Ollama's side of the API: the chunks it would send. */
type Streamed = GenerateResponse | ChatResponse;

/** What `withOptimization` needs of an `ollama` client (an `Ollama` instance, or the default export). */
export interface OllamaClientLike {
  generate(request: GenerateRequest & { stream: true }): Promise<AsyncIterable<GenerateResponse> & { abort(): void }>;
  generate(request: GenerateRequest & { stream?: false }): Promise<GenerateResponse>;
  chat(request: ChatRequest & { stream: true }): Promise<AsyncIterable<ChatResponse> & { abort(): void }>;
  chat(request: ChatRequest & { stream?: false }): Promise<ChatResponse>;
  embed(request: EmbedRequest): Promise<EmbedResponse>;
}

/** `generate`, `chat` and `embed` as the optimized client has them. */
export interface OptimizedOllamaMethods {
  /** A stream: an async iterable with `abort()`, like the `ollama` client's `AbortableAsyncIterator`. */
  generate(request: GenerateRequest & { stream: true } & WithOptimizationField): Promise<OptimizedStream<GenerateResponse>>;
  generate(request: GenerateRequest & { stream?: false } & WithOptimizationField): Promise<GenerateResponse>;
  chat(request: ChatRequest & { stream: true } & WithOptimizationField): Promise<OptimizedStream<ChatResponse>>;
  chat(request: ChatRequest & { stream?: false } & WithOptimizationField): Promise<ChatResponse>;
  embed(request: EmbedRequest & WithOptimizationField): Promise<EmbedResponse>;
}

/** The client `withOptimization` returns: yours, with `generate`, `chat` and `embed` going through the engine. */
export type OptimizedOllama<T> = Omit<T, keyof OptimizedOllamaMethods> & OptimizedOllamaMethods;

type Api = 'generate' | 'chat';

/**
 * Puts an `OptimizationEngine` in front of an `ollama` client. `generate`, `chat` and `embed` keep
 * their signatures (`stream: true` and `false`): identical requests are answered from the cache,
 * concurrent identical ones share one request (one stream), and concurrent `embed` calls are
 * batched. Every other method and property is your client's own, called on your client.
 *
 * @example
 * ```ts
 * import { Ollama } from 'ollama';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { withOptimization } from 'llm-optimization-engine/ollama';
 *
 * const engine = new OptimizationEngine({ cache: { ttlMs: 10 * 60_000 } });
 * const ollama = withOptimization(new Ollama({ host: 'http://127.0.0.1:11434' }), engine);
 * const { response } = await ollama.generate({ model: 'llama3.1:8b', prompt: 'Hi', options: { temperature: 0 } });
 * for await (const part of await ollama.chat({ model: 'llama3.1:8b', messages, stream: true })) {
 *   process.stdout.write(part.message.content);
 * }
 * ```
 */
export function withOptimization<T extends OllamaClientLike>(
  client: T,
  engine: OptimizationEngine,
  options: OllamaOptimizationOptions = {},
): OptimizedOllama<T> {
  checkClient(client, engine);
  const resolved = resolveOllamaOptions(options);
  const methods = createMethods(client, engine, resolved);
  const bound = new WeakMap<object, unknown>();
  return new Proxy(client, {
    get(target, property) {
      // The optimized methods are arrow functions over `client`: safe to hand out unbound.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      if (property === 'generate' || property === 'chat' || property === 'embed') return methods[property];
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value);
      if (fn === undefined) bound.set(value, (fn = (value as (...args: unknown[]) => unknown).bind(target)));
      return fn;
    },
  }) as unknown as OptimizedOllama<T>;
}

function createMethods(client: OllamaClientLike, engine: OptimizationEngine, options: ResolvedOllamaOptions): OptimizedOllamaMethods {
  const batcher = new EmbedBatcher(client, options.embedBatchWindowMs, options.maxEmbedBatch);
  const run = async (api: Api, request: (GenerateRequest | ChatRequest) & WithOptimizationField): Promise<unknown> => {
    const { optimization, ...body } = request;
    const settings = requestSettings(options.defaults, optimization);
    const identity = api === 'generate' ? generateIdentity(body as GenerateRequest) : chatIdentity(body);
    if (body.stream === true) return stream(engine, identity, settings, (model, context) => open(client, api, { ...body, model }, context));
    // `model` is the request's own, or the tier a route of the engine picked for it.
    return engine.optimizeAiCall(identity.prompt, identity.model, async (_p, model, context) => {
      const sent = { ...body, model, ...(context.wantsLogprobs ? { logprobs: true } : {}) };
      const response = await (api === 'generate'
        ? client.generate({ ...(sent as GenerateRequest), stream: false })
        : client.chat(chatBody(sent, false) as ChatRequest & { stream: false }));
      context.reportUsage(usageOf(response));
      return withLogprobsReported(response, context, body.logprobs === true);
    }, callOptions(identity, settings, isCompleteResponse as (value: unknown) => boolean));
  };
  return {
    generate: ((request: GenerateRequest & WithOptimizationField) => run('generate', request)) as OptimizedOllamaMethods['generate'],
    chat: ((request: ChatRequest & WithOptimizationField) => run('chat', request)) as OptimizedOllamaMethods['chat'],
    embed: async (request) => {
      const { optimization, ...body } = request;
      const settings = requestSettings(options.defaults, optimization);
      const identity = embedIdentity(body);
      return engine.optimizeAiCall(identity.prompt, identity.model, async (_p, _m, context) => {
        const response = await batcher.embed(body, context.signal);
        context.reportUsage(usageOf(response));
        return response;
      }, callOptions(identity, settings, undefined));
    },
  };
}

function callOptions(identity: OllamaIdentity, settings: RequestOptimization, isComplete: ((value: unknown) => boolean) | undefined): CallOptions {
  const { replay: _replay, ...rest } = settings;
  const call: CallOptions = { ...rest, params: identity.params };
  if (isComplete !== undefined) call.isComplete = isComplete;
  return call;
}

/** A streamed call: resolves once the stream has started (or with the error Ollama answered), like the client. */
async function stream(
  engine: OptimizationEngine,
  identity: OllamaIdentity,
  settings: RequestOptimization,
  openStream: (model: string, context: ExecContext) => Promise<AsyncIterable<Streamed>>,
): Promise<OptimizedStream<Streamed>> {
  const exec: StreamExecFunction<Streamed> = (_p, model, context) => openStream(model, context);
  const result = engine.optimizeAiStream(identity.prompt, identity.model, exec, {
    ...callOptions(identity, settings, undefined), isComplete: isCompleteStream,
    ...(settings.replay === undefined ? {} : { replay: settings.replay }),
  });
  await result.ready;
  return result;
}

/** Opens Ollama's stream; reports its timings from the final chunk; `abort()` reaches the client's iterator. */
async function open(client: OllamaClientLike, api: Api, body: GenerateRequest | ChatRequest, context: ExecContext): Promise<AsyncIterable<Streamed>> {
  const upstream = api === 'generate'
    ? await client.generate({ ...(body as GenerateRequest), stream: true })
    : await client.chat(chatBody(body, true) as ChatRequest & { stream: true });
  return {
    abort: () => upstream.abort(),
    async *[Symbol.asyncIterator]() {
      for await (const chunk of upstream as AsyncIterable<Streamed>) {
        if (chunk.done) context.reportUsage(usageOf(chunk));
        yield chunk;
      }
    },
  } as AsyncIterable<Streamed>;
}

/**
 * Passes the answer's token log-probabilities to the router (a cascade asked for them), and takes
 * them off the answer when the request itself did not ask: the caller gets (and the cache keeps)
 * the response it asked for.
 */
function withLogprobsReported<R extends GenerateResponse | ChatResponse>(response: R, context: ExecContext, asked: boolean): R {
  const logprobs = (response as { logprobs?: unknown }).logprobs;
  if (!Array.isArray(logprobs)) return response;
  context.reportLogprobs(logprobs.map((l: { logprob?: unknown } | null) => (typeof l?.logprob === 'number' ? l.logprob : Number.NaN)));
  if (asked) return response;
  const { logprobs: _dropped, ...rest } = response as R & { logprobs?: unknown };
  return rest as R;
}

function checkClient(client: unknown, engine: unknown): void {
  const c = client as Partial<Record<keyof OllamaClientLike, unknown>> | null;
  if (typeof c !== 'object' || c === null || typeof c.generate !== 'function' || typeof c.chat !== 'function' || typeof c.embed !== 'function') {
    throw new TypeError(`\`client\` must be an \`ollama\` client (with generate, chat and embed), received ${describe(client)}`);
  }
  const e = engine as { optimizeAiCall?: unknown; optimizeAiStream?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.optimizeAiCall !== 'function' || typeof e.optimizeAiStream !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
}
