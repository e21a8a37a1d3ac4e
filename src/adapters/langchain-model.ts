import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel, type BaseChatModelCallOptions, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import type { OptimizationEngine } from '../engine.js';
import { describe } from '../internal/validate.js';
import type { CallOptions, CallStatus, ExecContext } from '../types.js';
import { chatIdentity, type LangChainIdentity } from './langchain-key.js';
import {
  checkEngine, resolveChatModelOptions, type LangChainRequestOptimization, type OptimizedChatModelOptions, type ResolvedChatModelOptions,
} from './langchain-options.js';
import {
  decodeResult, encodeResult, isCompleteChunks, isCompleteResult, restoreChunk, restoreResult, storeChunk, storeResult,
  usageOfMessage, type StoredChunk,
} from './langchain-values.js';
import { requestSettings } from './ollama-options.js';

/** Call options of the wrapped model: the inner model's, plus `optimization` (never sent, never keyed). */
export interface OptimizedChatModelCallOptions extends BaseChatModelCallOptions {
  /** Cache settings, a signal and a status object for this call only. */
  optimization?: LangChainRequestOptimization;
  [option: string]: unknown;
}

/** What a hit or a coalesced answer carries in `response_metadata.optimization`. */
export interface OptimizationMetadata {
  /** How the engine answered: `hit` (from the cache), `coalesced` (shared an identical call in flight), `miss` (the model answered). */
  outcome: CallStatus['outcome'];
}

const ZERO_USAGE = Object.freeze({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });

/**
 * A chat model whose every call goes through an `OptimizationEngine`: `invoke`, `batch`, `stream`,
 * `streamEvents` and everything built on them (chains, agents, `withStructuredOutput`). Keyed on
 * everything that reaches the model (messages with every content part, the model's settings, call
 * options such as `stop` and bound tools), never on callbacks, tags, metadata, run ids or signals.
 * Create it with {@link withOptimization}.
 */
export class OptimizedChatModel<M extends BaseChatModel = BaseChatModel> extends BaseChatModel<OptimizedChatModelCallOptions, AIMessageChunk> {
  /** The model the engine calls on a miss. */
  readonly inner: M;
  readonly #engine: OptimizationEngine;
  readonly #options: ResolvedChatModelOptions;

  static override lc_name(): string {
    return 'OptimizedChatModel';
  }

  constructor(inner: M, engine: OptimizationEngine, options: OptimizedChatModelOptions = {}) {
    super({});
    checkChatModel(inner);
    checkEngine(engine);
    this.inner = inner;
    this.#engine = engine;
    this.#options = resolveChatModelOptions(options);
    this.disableStreaming = inner.disableStreaming;
    this.lc_namespace = ['langchain', 'chat_models', inner._llmType()];
  }

  _llmType(): string {
    // BaseChatModel's constructor asks for it before `inner` is set.
    return (this.inner as M | undefined)?._llmType() ?? 'optimized';
  }

  override _identifyingParams(): Record<string, unknown> {
    return this.inner._identifyingParams();
  }

  override invocationParams(options?: this['ParsedCallOptions']): unknown {
    return this.inner.invocationParams(options);
  }

  /** Binds tools the way the inner model does (its own conversion), as call options of this model. */
  override bindTools(tools: BindToolsInput[], kwargs?: Partial<OptimizedChatModelCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, OptimizedChatModelCallOptions> {
    const inner = this.inner as { bindTools?: (tools: BindToolsInput[], kwargs?: unknown) => unknown };
    if (typeof inner.bindTools !== 'function') throw new TypeError(`The wrapped model (${this.inner._llmType()}) does not support tool calling: it has no \`bindTools\``);
    const bound = inner.bindTools(tools, kwargs) as { bound?: unknown; config?: Record<string, unknown>; kwargs?: Record<string, unknown> };
    const config = bound.bound === this.inner ? { ...bound.kwargs, ...bound.config } : { tools, ...kwargs };
    return this.withConfig(config);
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], _runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    const { optimization, signal, ...rest } = options as OptimizedChatModelCallOptions;
    const call = this.#call(messages, rest, optimization, signal);
    const require = this.#options.requireFinishReason;
    const encoded = await this.#engine.optimizeAiCall<string>(call.identity.prompt, call.identity.model, async (_p, _m, context) => {
      const result = await this.inner._generate(messages, { ...rest, signal: context.signal }, undefined);
      context.signal.throwIfAborted();
      const value = storeResult(result);
      context.reportUsage(usageOfMessage(value.generations[0]?.message?.data));
      return encodeResult(value);
    }, { ...call.options, isComplete: (value) => isCompleteResult(decodeResult(value as string), require) });
    const result = restoreResult(decodeResult(encoded));
    mark(result, call.status.outcome);
    return result;
  }

  override async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    if (this.inner._streamResponseChunks === BaseChatModel.prototype._streamResponseChunks) {
      yield* this.#generateAsStream(messages, options, runManager);
      return;
    }
    const { optimization, signal, ...rest } = options as OptimizedChatModelCallOptions;
    const call = this.#call(messages, rest, optimization, signal);
    const require = this.#options.requireFinishReason;
    const settings = call.settings;
    const stream = this.#engine.optimizeAiStream<StoredChunk>(call.identity.prompt, call.identity.model,
      (_p, _m, context) => this.#upstream(messages, rest, context), {
        ...call.options,
        isComplete: (chunks) => isCompleteChunks(chunks, require),
        ...(settings.replay === undefined ? {} : { replay: settings.replay }),
      });
    let first = true;
    for await (const stored of stream) {
      const chunk = restoreChunk(stored);
      if (call.status.outcome === 'hit') markChunk(chunk, first);
      first = false;
      yield chunk;
      await runManager?.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
    }
  }

  /** The inner model's stream as stored chunks; an aborted stream fails (ChatOllama just ends it). */
  async *#upstream(messages: BaseMessage[], options: Record<string, unknown>, context: ExecContext): AsyncGenerator<StoredChunk> {
    let promptTokens = 0;
    let outputTokens = 0;
    for await (const chunk of this.inner._streamResponseChunks(messages, { ...options, signal: context.signal }, undefined)) {
      context.signal.throwIfAborted();
      const stored = storeChunk(chunk);
      const usage = usageOfMessage(stored.message);
      promptTokens += usage.promptTokens ?? 0;
      outputTokens += usage.outputTokens ?? 0;
      yield stored;
    }
    context.signal.throwIfAborted();
    context.reportUsage({ promptTokens, outputTokens });
  }

  /** A model that cannot stream: its cached answer as one chunk. */
  async *#generateAsStream(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const result = await this._generate(messages, options, runManager);
    const generation = result.generations[0];
    if (generation === undefined) return;
    const m = generation.message as unknown as Record<string, unknown>;
    const fields: Record<string, unknown> = { content: generation.message.content };
    for (const field of ['additional_kwargs', 'response_metadata', 'usage_metadata', 'tool_calls']) if (m[field] !== undefined) fields[field] = m[field];
    const message = new AIMessageChunk(fields);
    const chunk = new ChatGenerationChunk({ text: generation.text, message });
    yield chunk;
    await runManager?.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
  }

  #call(messages: BaseMessage[], rest: Record<string, unknown>, optimization: unknown, signal: AbortSignal | undefined) {
    const settings = requestSettings(this.#options.defaults, optimization);
    const identity: LangChainIdentity = chatIdentity(this.inner, messages, rest);
    const status: CallStatus = settings.status ?? {};
    const { replay: _replay, signal: ownSignal, status: _status, ...engineSettings } = settings;
    const options: CallOptions = { ...engineSettings, params: identity.params, status };
    const callSignal = joinSignals(signal, ownSignal);
    if (callSignal !== undefined) options.signal = callSignal;
    return { identity, status, settings, options };
  }
}

/**
 * Wraps a LangChain.js chat model so that its calls go through the engine: identical calls are
 * answered from the cache (`response_metadata.optimization.outcome === 'hit'`, zero token usage),
 * concurrent identical calls and streams share one model call, streams are recorded and replayed
 * chunk by chunk, and only complete answers are stored.
 *
 * @example
 * ```ts
 * import { ChatOllama } from '@langchain/ollama';
 * import { OptimizationEngine } from 'llm-optimization-engine';
 * import { withOptimization } from 'llm-optimization-engine/langchain';
 *
 * const engine = new OptimizationEngine();
 * const model = withOptimization(new ChatOllama({ model: 'llama3.1:8b', temperature: 0 }), engine, { scope: 'tenant-42' });
 * const answer = await model.invoke('Why is the sky blue?');
 * for await (const chunk of await model.stream('Tell me a story')) process.stdout.write(chunk.text);
 * ```
 */
export function withOptimization<M extends BaseChatModel>(chatModel: M, engine: OptimizationEngine, options: OptimizedChatModelOptions = {}): OptimizedChatModel<M> {
  return new OptimizedChatModel(chatModel, engine, options);
}

function checkChatModel(model: unknown): void {
  const m = model as { _generate?: unknown; _llmType?: unknown } | null;
  if (typeof m !== 'object' || m === null || typeof m._generate !== 'function' || typeof m._llmType !== 'function') {
    throw new TypeError(`\`chatModel\` must be a LangChain chat model (a BaseChatModel such as ChatOllama), received ${describe(model)}`);
  }
}

function joinSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  return AbortSignal.any([a, b]);
}

/** Tells the caller how the engine answered; a hit or a shared answer reports no token usage of its own. */
function mark(result: ChatResult, outcome: CallStatus['outcome']): void {
  for (const generation of result.generations) {
    const message = generation.message as unknown as { response_metadata: Record<string, unknown>; usage_metadata?: unknown };
    message.response_metadata = { ...message.response_metadata, optimization: { outcome } satisfies OptimizationMetadata };
    if ((outcome === 'hit' || outcome === 'coalesced') && message.usage_metadata !== undefined) message.usage_metadata = { ...ZERO_USAGE };
  }
}

function markChunk(chunk: ChatGenerationChunk, first: boolean): void {
  const message = chunk.message as unknown as { response_metadata: Record<string, unknown>; usage_metadata?: unknown };
  if (first) message.response_metadata = { ...message.response_metadata, optimization: { outcome: 'hit' } satisfies OptimizationMetadata };
  if (message.usage_metadata !== undefined) message.usage_metadata = { ...ZERO_USAGE };
}
