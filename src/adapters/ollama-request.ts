import { createHash } from 'node:crypto';
import type { ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, GenerateRequest, GenerateResponse, Message } from 'ollama';
import type { ChatMessage, TokenUsage } from '../types.js';

/** Request fields that never change the answer: kept out of the key. `stream` is keyed by the engine's stream path itself. */
const VOLATILE = new Set(['model', 'prompt', 'messages', 'input', 'stream', 'keep_alive', 'optimization']);

/** `options` that only change how the model runs (threads, GPU placement, memory mapping), not what it says. */
export const RESOURCE_OPTIONS = new Set(['num_thread', 'num_gpu', 'main_gpu', 'low_vram', 'use_mmap', 'use_mlock', 'numa']);

/** What the engine keys one Ollama request by. */
export interface OllamaIdentity {
  prompt: string | ChatMessage[];
  model: string;
  params: Record<string, unknown>;
}

/** Every output-affecting field of a request except the prompt, with images reduced to content hashes. */
function keyParams(api: string, request: object): Record<string, unknown> {
  const params: Record<string, unknown> = { api };
  const fields = request as Record<string, unknown>;
  for (const field in fields) {
    const value = fields[field];
    if (!Object.hasOwn(fields, field) || VOLATILE.has(field) || value === undefined) continue;
    if (field === 'images') params[field] = hashImages(value as (Uint8Array | string)[]);
    else if (field === 'options') params[field] = outputOptions(value as Record<string, unknown>);
    else params[field] = value;
  }
  return params;
}

/** The options without those that only place the work; the caller's own object when it has none (the key is made at once, before any await). */
function outputOptions(options: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const name in options) {
    if (!RESOURCE_OPTIONS.has(name) || !Object.hasOwn(options, name)) continue;
    out ??= { ...options };
    delete out[name];
  }
  return out ?? options;
}

/**
 * An image as the client sends it (base64), hashed: a `Uint8Array` and its base64 string are the
 * same image. A string the client would read as a file path is keyed by the path, not the content.
 */
function hashImages(images: readonly (Uint8Array | string)[]): string[] {
  return images.map(contentHash);
}

/** The content hash of binary data as a client sends it (base64): a `Uint8Array` and its base64 string hash alike. */
export function contentHash(data: Uint8Array | string): string {
  const base64 = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return `sha256:${createHash('sha256').update(base64).digest('hex')}`;
}

export function generateIdentity(request: GenerateRequest): OllamaIdentity {
  return { prompt: request.prompt ?? '', model: request.model, params: keyParams('generate', request) };
}

export function chatIdentity(request: ChatRequest): OllamaIdentity {
  const prompt = (request.messages ?? []).map((message): ChatMessage => {
    const keyed: ChatMessage = { ...message, content: message.content ?? '' };
    if (message.images !== undefined) keyed['images'] = hashImages(message.images);
    return keyed;
  });
  return { prompt, model: request.model, params: keyParams('chat', request) };
}

export function embedIdentity(request: EmbedRequest): OllamaIdentity {
  return { prompt: JSON.stringify(request.input), model: request.model, params: keyParams('embed', request) };
}

/** The request the client gets: a copy (the client writes encoded images into it) with `stream` set. */
export function chatBody(request: ChatRequest, stream: boolean): ChatRequest {
  const body: ChatRequest = { ...request, stream };
  if (request.messages !== undefined) body.messages = request.messages.map((m): Message => ({ ...m }));
  return body;
}

/** A complete answer: Ollama says it is done because the model stopped, not because it hit `num_predict` (`length`). */
export function isCompleteResponse(response: Partial<GenerateResponse | ChatResponse> | undefined): boolean {
  return response?.done === true && response.done_reason === 'stop';
}

export function isCompleteStream(chunks: readonly Partial<GenerateResponse | ChatResponse>[]): boolean {
  return isCompleteResponse(chunks.at(-1));
}

const NS_PER_MS = 1e6;

/** Ollama's counts and timings (nanoseconds) as the monitor's usage (milliseconds). */
export function usageOf(response: Partial<GenerateResponse | ChatResponse | EmbedResponse>, share = 1): TokenUsage {
  const usage: TokenUsage = {};
  const r = response as Partial<GenerateResponse>;
  if (typeof r.prompt_eval_count === 'number') usage.promptTokens = Math.round(r.prompt_eval_count * share);
  if (typeof r.eval_count === 'number') usage.outputTokens = r.eval_count;
  if (typeof r.eval_duration === 'number') usage.generationMs = r.eval_duration / NS_PER_MS;
  if (typeof r.prompt_eval_duration === 'number') usage.promptMs = (r.prompt_eval_duration / NS_PER_MS) * share;
  if (typeof r.load_duration === 'number') usage.loadMs = (r.load_duration / NS_PER_MS) * share;
  return usage;
}
