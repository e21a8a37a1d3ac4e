import { AIMessage, AIMessageChunk, mapStoredMessageToChatMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatGeneration, type ChatResult, type Generation } from '@langchain/core/outputs';
import type { TokenUsage } from '../types.js';
import { plainData } from './langchain-key.js';

/**
 * A message as the cache stores it: plain data (the engine stores and copies only plain data), without
 * its `id` (each answer served gets its own run id from LangChain, as a fresh call would).
 */
export interface StoredMessage {
  type: string;
  data: Record<string, unknown>;
}

export interface StoredGeneration {
  text: string;
  message?: StoredMessage;
  generationInfo?: Record<string, unknown>;
}

export interface StoredResult {
  generations: StoredGeneration[];
  llmOutput?: Record<string, unknown>;
}

const MESSAGE_FIELDS = [
  'content', 'name', 'tool_calls', 'invalid_tool_calls', 'tool_call_chunks', 'additional_kwargs', 'response_metadata', 'usage_metadata',
] as const;

export function storeMessage(message: BaseMessage): StoredMessage {
  const m = message as unknown as Record<string, unknown>;
  const data: Record<string, unknown> = {};
  for (const field of MESSAGE_FIELDS) {
    const value = plainData(m[field], field);
    if (value !== undefined) data[field] = value;
  }
  return { type: message.getType(), data };
}

/** A new message from stored data the caller owns (the engine hands each caller its own copy). */
export function restoreMessage(stored: StoredMessage): BaseMessage {
  if (stored.type === 'ai') return new AIMessage(stored.data);
  return mapStoredMessageToChatMessage({ type: stored.type, data: { content: '', ...stored.data } } as Parameters<typeof mapStoredMessageToChatMessage>[0]);
}

export function storeGeneration(generation: Generation | ChatGeneration): StoredGeneration {
  const stored: StoredGeneration = { text: generation.text };
  const { message } = generation as Partial<ChatGeneration>;
  if (message !== undefined) stored.message = storeMessage(message);
  if (generation.generationInfo !== undefined) stored.generationInfo = plainData(generation.generationInfo, 'generationInfo') as Record<string, unknown>;
  return stored;
}

export function restoreGeneration(stored: StoredGeneration): ChatGeneration | Generation {
  const generation: Generation & { message?: BaseMessage } = { text: stored.text };
  if (stored.message !== undefined) generation.message = restoreMessage(stored.message);
  if (stored.generationInfo !== undefined) generation.generationInfo = stored.generationInfo;
  return generation;
}

export function storeResult(result: ChatResult): StoredResult {
  const stored: StoredResult = { generations: result.generations.map(storeGeneration) };
  if (result.llmOutput !== undefined) stored.llmOutput = plainData(result.llmOutput, 'llmOutput') as Record<string, unknown>;
  return stored;
}

export function restoreResult(stored: StoredResult): ChatResult {
  const result: ChatResult = { generations: stored.generations.map(restoreGeneration) as ChatGeneration[] };
  if (stored.llmOutput !== undefined) result.llmOutput = stored.llmOutput;
  return result;
}

/**
 * A result as one string, which the engine hands out as it is (a string cannot be changed), where an
 * object would be `structuredClone`d on every hit: the JSON of everything but the answers' text,
 * a newline (JSON never holds a raw one), then the texts themselves, so that a hit parses only the
 * small metadata and slices the text (1 KB of answer costs the hit nothing to copy). Each caller
 * gets new objects from it, so no caller can change what the next one gets.
 */
export function encodeResult(result: StoredResult): string {
  const texts: string[] = [];
  const generations = result.generations.map((generation) => {
    const content = generation.message?.data['content'];
    if (generation.message === undefined || typeof content !== 'string' || content !== generation.text) return { ...generation, len: -1 };
    texts.push(content);
    const { content: _content, ...data } = generation.message.data;
    const { text: _text, ...rest } = generation;
    return { ...rest, message: { type: generation.message.type, data }, len: content.length };
  });
  return `${JSON.stringify({ generations, llmOutput: result.llmOutput })}\n${texts.join('')}`;
}

export function decodeResult(encoded: string): StoredResult {
  const newline = encoded.indexOf('\n');
  const head = JSON.parse(encoded.slice(0, newline)) as { generations: (StoredGeneration & { len: number })[]; llmOutput?: Record<string, unknown> };
  let at = newline + 1;
  const generations = head.generations.map(({ len, ...generation }): StoredGeneration => {
    if (len < 0 || generation.message === undefined) return generation;
    const text = encoded.slice(at, (at += len));
    generation.message.data['content'] = text;
    return { ...generation, text };
  });
  return head.llmOutput === undefined ? { generations } : { generations, llmOutput: head.llmOutput };
}

/** One stream chunk as stored: the chunk's text, its message's fields, its generation info. */
export interface StoredChunk {
  text: string;
  message: Record<string, unknown>;
  generationInfo?: Record<string, unknown>;
}

export function storeChunk(chunk: ChatGenerationChunk): StoredChunk {
  const stored: StoredChunk = { text: chunk.text, message: storeMessage(chunk.message).data };
  if (chunk.generationInfo !== undefined) stored.generationInfo = plainData(chunk.generationInfo, 'generationInfo') as Record<string, unknown>;
  return stored;
}

export function restoreChunk(stored: StoredChunk): ChatGenerationChunk {
  const fields: ConstructorParameters<typeof ChatGenerationChunk>[0] = {
    text: stored.text,
    message: new AIMessageChunk(stored.message),
  };
  if (stored.generationInfo !== undefined) fields.generationInfo = stored.generationInfo;
  return new ChatGenerationChunk(fields);
}

/**
 * Finish reasons that mean the model ended its answer itself. Every provider names it its own way:
 * OpenAI and Ollama `stop`, Anthropic `end_turn` / `stop_sequence`, Gemini `STOP`; a tool call
 * (`tool_calls`, `tool_use`) is complete too, since the bound tools are part of the key.
 */
const COMPLETE_REASONS = new Set(['stop', 'end_turn', 'stop_sequence', 'STOP', 'tool_calls', 'tool_use', 'function_call']);

/** The finish reason a provider reported in a message's `response_metadata` or a generation's info, if any. */
export function finishReason(...sources: (Record<string, unknown> | undefined)[]): unknown {
  for (const source of sources) {
    if (source === undefined) continue;
    const reason = source['finish_reason'] ?? source['done_reason'] ?? source['stop_reason'] ?? source['finishReason'];
    if (reason !== undefined && reason !== null) return reason;
  }
  return undefined;
}

/**
 * A complete answer: its finish reason is one of {@link COMPLETE_REASONS}. An answer that names
 * none (test fakes, some providers) counts as complete unless `requireFinishReason`; one that
 * names another (`length`, `max_tokens`, `content_filter`, `MAX_TOKENS`…) is never stored.
 */
export function isCompleteReason(reason: unknown, requireFinishReason: boolean): boolean {
  if (reason === undefined) return !requireFinishReason;
  return typeof reason === 'string' && COMPLETE_REASONS.has(reason);
}

export function isCompleteGeneration(generation: StoredGeneration, requireFinishReason: boolean): boolean {
  const metadata = generation.message?.data['response_metadata'] as Record<string, unknown> | undefined;
  return isCompleteReason(finishReason(metadata, generation.generationInfo), requireFinishReason);
}

export function isCompleteResult(result: StoredResult, requireFinishReason: boolean): boolean {
  return result.generations.length > 0 && result.generations.every((g) => isCompleteGeneration(g, requireFinishReason));
}

/** A stream is complete when the last finish reason it carried is a complete one. */
export function isCompleteChunks(chunks: readonly StoredChunk[], requireFinishReason: boolean): boolean {
  if (chunks.length === 0) return false;
  for (let i = chunks.length - 1; i >= 0; i--) {
    const chunk = chunks[i] as StoredChunk;
    const reason = finishReason(chunk.message['response_metadata'] as Record<string, unknown> | undefined, chunk.generationInfo);
    if (reason !== undefined) return isCompleteReason(reason, requireFinishReason);
  }
  return !requireFinishReason;
}

/** LangChain's `usage_metadata` as the monitor's token usage. */
export function usageOfMessage(data: Record<string, unknown> | undefined): TokenUsage {
  const usage = data?.['usage_metadata'] as { input_tokens?: unknown; output_tokens?: unknown } | undefined;
  const out: TokenUsage = {};
  if (typeof usage?.input_tokens === 'number') out.promptTokens = usage.input_tokens;
  if (typeof usage?.output_tokens === 'number') out.outputTokens = usage.output_tokens;
  return out;
}
