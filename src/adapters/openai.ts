import type OpenAI from 'openai';
import type { OptimizationEngine } from '../engine.js';
import { knownKeys, oneOf, plainObject } from '../internal/validate.js';
import { describe } from '../internal/validate.js';
import type { OptimizedStream, StreamExecFunction } from '../stream/types.js';
import type { CallOptions, ExecContext } from '../types.js';
import { checkSettings, requestSettings, SETTINGS, type OllamaCallSettings, type RequestOptimization } from './ollama-options.js';
import {
  isCompleteChunks, isCompleteCompletion, openAiIdentity, openAiUsage, type KeyFields, type OpenAiApi, type OpenAiIdentity,
} from './openai-request.js';

/** The per-request field the adapter reads (and removes before the request is sent). */
export interface WithOptimizationField {
  /** Cache settings and a signal for this request only. */
  optimization?: RequestOptimization;
}

/** Options of the OpenAI adapter's `withOptimization`. */
export interface OpenAIOptimizationOptions extends OllamaCallSettings {
  /**
   * Which request fields the key holds. `'ollama'`: those Ollama's `/v1` reads (model, messages or
   * prompt or input, temperature, top_p, seed, stop, max_tokens, frequency and presence penalties,
   * response_format, tools, reasoning, stream_options, logprobs, suffix, dimensions, encoding_format):
   * a field Ollama ignores (`n`, `logit_bias`, `tool_choice`, `max_completion_tokens`, an `options`
   * object) does not split the cache. `'all'`: every field but the volatile ones (`user`, `store`,
   * `metadata`, `service_tier`, `safety_identifier`, `prompt_cache_key`), for any other
   * OpenAI-compatible server (vLLM, llama.cpp, LM Studio, OpenAI itself).
   * @default 'ollama'
   */
  keyFields?: KeyFields;
}

/** A cached or shared stream, with the `controller` an `openai` `Stream` has (aborting it ends this consumer). */
export type OptimizedOpenAIStream<C> = OptimizedStream<C> & { readonly controller: AbortController };

type Chat = OpenAI.Chat.Completions.ChatCompletionCreateParams;
type Text = OpenAI.CompletionCreateParams;
type Options = OpenAI.RequestOptions;
type Streaming<B> = B & { stream: true } & WithOptimizationField;
type Whole<B> = B & { stream?: false | null } & WithOptimizationField;

/** `create` as the optimized client has it, per API. */
export interface OptimizedChatCompletions {
  create(body: Streaming<Chat>, options?: Options): Promise<OptimizedOpenAIStream<OpenAI.ChatCompletionChunk>>;
  create(body: Whole<Chat>, options?: Options): Promise<OpenAI.ChatCompletion>;
}
export interface OptimizedCompletions {
  create(body: Streaming<Text>, options?: Options): Promise<OptimizedOpenAIStream<OpenAI.Completion>>;
  create(body: Whole<Text>, options?: Options): Promise<OpenAI.Completion>;
}
export interface OptimizedEmbeddings {
  create(body: OpenAI.EmbeddingCreateParams & WithOptimizationField, options?: Options): Promise<OpenAI.CreateEmbeddingResponse>;
}

/** Any `create` method (the client's are overloaded per body type). */
type AnyCreate = (body: never, options?: never) => PromiseLike<unknown>;
type Create = (body: Record<string, unknown>, options?: Options) => PromiseLike<unknown>;

/** What `withOptimization` needs of an `openai` client (an `OpenAI` instance). */
export interface OpenAIClientLike {
  chat: { completions: { create: AnyCreate } };
  completions: { create: AnyCreate };
  embeddings: { create: AnyCreate };
}

/** The client `withOptimization` returns: yours, with the three `create` methods going through the engine. */
export type OptimizedOpenAI<T extends OpenAIClientLike> = Omit<T, 'chat' | 'completions' | 'embeddings'> & {
  chat: Omit<T['chat'], 'completions'> & { completions: Omit<T['chat']['completions'], 'create'> & OptimizedChatCompletions };
  completions: Omit<T['completions'], 'create'> & OptimizedCompletions;
  embeddings: Omit<T['embeddings'], 'create'> & OptimizedEmbeddings;
};

interface Resolved {
  readonly defaults: OllamaCallSettings;
  readonly keyFields: KeyFields;
}

/**
 * Puts an `OptimizationEngine` in front of an `openai` client pointed at an OpenAI-compatible server
 * (Ollama's `/v1`). `chat.completions.create`, `completions.create` and `embeddings.create` keep
 * their signatures (`stream: true` and not): identical requests are answered from the cache (only
 * answers whose every choice ended with `finish_reason: 'stop'` are stored), concurrent identical
 * ones share one request or one stream, and a cached stream is replayed chunk by chunk. Every other
 * method and property is your client's own.
 *
 * @example
 * ```ts
 * import OpenAI from 'openai';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { withOptimization } from 'llm-optimization-engine/openai';
 *
 * const openai = withOptimization(new OpenAI({ baseURL: 'http://127.0.0.1:11434/v1', apiKey: 'ollama' }), new OptimizationEngine());
 * const completion = await openai.chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const chunk of await openai.chat.completions.create({ model: 'llama3.1:8b', messages, stream: true })) {
 *   process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * }
 * ```
 */
export function withOptimization<T extends OpenAIClientLike>(client: T, engine: OptimizationEngine, options: OpenAIOptimizationOptions = {}): OptimizedOpenAI<T> {
  checkClient(client, engine);
  const resolved = resolveOptions(options);
  const method = (api: OpenAiApi, resource: { create: AnyCreate }): Create => {
    const original: Create = (body, requestOptions) => (resource as unknown as { create: Create }).create(body, requestOptions);
    return (body, requestOptions) => run(engine, resolved, api, original, body, requestOptions);
  };
  const completions = overlay(client.chat.completions, { create: method('chat', client.chat.completions) });
  return overlay(client, {
    chat: overlay(client.chat, { completions }),
    completions: overlay(client.completions, { create: method('completion', client.completions) }),
    embeddings: overlay(client.embeddings, { create: method('embedding', client.embeddings) }),
  }) as unknown as OptimizedOpenAI<T>;
}

/** `target` with some properties replaced; every other method is the target's own, bound to it. */
function overlay<O extends object>(target: O, own: Record<string, unknown>): O {
  const bound = new WeakMap<object, unknown>();
  return new Proxy(target, {
    get(t, property) {
      if (typeof property === 'string' && Object.hasOwn(own, property)) return own[property];
      const value: unknown = Reflect.get(t, property, t);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value);
      if (fn === undefined) bound.set(value, (fn = (value as (...args: unknown[]) => unknown).bind(t)));
      return fn;
    },
  });
}

/** Never throws: bad input becomes a rejection, as the client's own `create` does. */
function run(
  engine: OptimizationEngine, resolved: Resolved, api: OpenAiApi, original: Create, request: Record<string, unknown>, requestOptions: Options | undefined,
): Promise<unknown> {
  try {
    return start(engine, resolved, api, original, request, requestOptions);
  } catch (error) {
    return Promise.reject(error);
  }
}

function start(
  engine: OptimizationEngine, resolved: Resolved, api: OpenAiApi, original: Create, request: Record<string, unknown>, requestOptions: Options | undefined,
): Promise<unknown> {
  const { optimization, ...body } = plainObject('body', request) ?? {};
  const settings = requestSettings(resolved.defaults, optimization);
  const identity = openAiIdentity(api, body, resolved.keyFields);
  // The caller's signal ends its own wait; the upstream request gets the engine's, which aborts when no caller is left.
  const { signal, ...upstream } = plainObject('options', requestOptions) ?? {};
  const callerSignal = (signal as AbortSignal | undefined) ?? settings.signal;
  if (body['stream'] === true && api !== 'embedding') return stream(engine, identity, settings, callerSignal, (context) => open(original, body, upstream, context));
  const call = callOptions(identity, settings, callerSignal);
  if (api !== 'embedding') call.isComplete = isCompleteCompletion;
  return engine.optimizeAiCall(identity.prompt, identity.model, async (_p, _m, context) => {
    const response = await original({ ...body }, { ...upstream, signal: context.signal });
    context.reportUsage(openAiUsage(response));
    return response;
  }, call);
}

function callOptions(identity: OpenAiIdentity, settings: RequestOptimization, signal: AbortSignal | undefined): CallOptions {
  const { replay: _replay, signal: _signal, ...rest } = settings;
  const call: CallOptions = { ...rest, params: identity.params };
  if (signal !== undefined) call.signal = signal;
  return call;
}

/** A streamed call: resolves once the stream has started (or rejects with the error the server answered), like the client. */
async function stream(
  engine: OptimizationEngine, identity: OpenAiIdentity, settings: RequestOptimization, callerSignal: AbortSignal | undefined,
  openStream: (context: ExecContext) => Promise<AsyncIterable<unknown>>,
): Promise<OptimizedOpenAIStream<unknown>> {
  const controller = new AbortController();
  const signal = callerSignal === undefined ? controller.signal : AbortSignal.any([controller.signal, callerSignal]);
  const exec: StreamExecFunction<unknown> = (_p, _m, context) => openStream(context);
  const result = engine.optimizeAiStream(identity.prompt, identity.model, exec, {
    ...callOptions(identity, settings, signal), isComplete: isCompleteChunks,
    ...(settings.replay === undefined ? {} : { replay: settings.replay }),
  });
  await result.ready;
  return Object.defineProperty(result, 'controller', { value: controller, enumerable: true }) as OptimizedOpenAIStream<unknown>;
}

/** Opens the server's stream; reports usage from the chunk that carries it; `abort()` reaches the client's stream. */
async function open(original: Create, body: Record<string, unknown>, upstream: object, context: ExecContext): Promise<AsyncIterable<unknown>> {
  const source = (await original({ ...body, stream: true }, { ...upstream, signal: context.signal })) as AsyncIterable<unknown> & { controller?: AbortController };
  return {
    abort: () => source.controller?.abort(),
    async *[Symbol.asyncIterator]() {
      for await (const chunk of source) {
        if ((chunk as { usage?: unknown } | null)?.usage != null) context.reportUsage(openAiUsage(chunk));
        yield chunk;
      }
    },
  } as AsyncIterable<unknown>;
}

function resolveOptions(options: OpenAIOptimizationOptions): Resolved {
  const record = plainObject('options', options) ?? {};
  knownKeys('options', record, [...SETTINGS, 'keyFields']);
  return Object.freeze({
    defaults: Object.freeze(checkSettings(options)),
    keyFields: oneOf('keyFields', options.keyFields, ['ollama', 'all'], 'ollama'),
  });
}

function checkClient(client: unknown, engine: unknown): void {
  const c = client as { chat?: { completions?: { create?: unknown } }; completions?: { create?: unknown }; embeddings?: { create?: unknown } } | null;
  if (typeof c !== 'object' || c === null || typeof c.chat?.completions?.create !== 'function'
    || typeof c.completions?.create !== 'function' || typeof c.embeddings?.create !== 'function') {
    throw new TypeError(`\`client\` must be an \`openai\` client (with chat.completions, completions and embeddings), received ${describe(client)}`);
  }
  const e = engine as { optimizeAiCall?: unknown; optimizeAiStream?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.optimizeAiCall !== 'function' || typeof e.optimizeAiStream !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
}
