import { createHash } from 'node:crypto';
import { canonicalJson } from '../cache/canonical-json.js';
import type { TokenUsage } from '../types.js';

/** Which request fields the key holds: those Ollama's `/v1` reads, or every field but the volatile ones. */
export type KeyFields = 'ollama' | 'all';

export type OpenAiApi = 'chat' | 'completion' | 'embedding';

/**
 * The fields Ollama's `/v1` reads besides `model` and the prompt (openai/openai.go and
 * docs/openai.md): anything else (`n`, `logit_bias`, `tool_choice`, `user`,
 * `max_completion_tokens`, an `options` object with `num_ctx`, …) is ignored by Ollama, so it must
 * not split the cache. `logprobs` and `top_logprobs` are listed: newer versions return them.
 */
const OLLAMA_FIELDS: Readonly<Record<OpenAiApi, ReadonlySet<string>>> = {
  chat: new Set(['frequency_penalty', 'presence_penalty', 'response_format', 'seed', 'stop', 'stream_options', 'temperature',
    'top_p', 'max_tokens', 'tools', 'reasoning', 'reasoning_effort', 'logprobs', 'top_logprobs']),
  completion: new Set(['frequency_penalty', 'presence_penalty', 'seed', 'stop', 'stream_options', 'temperature', 'top_p',
    'max_tokens', 'suffix', 'logprobs']),
  embedding: new Set(['encoding_format', 'dimensions']),
};

/**
 * Fields no OpenAI-compatible server generates from: who asked, how the call is billed, stored or
 * cached upstream. `stream` is keyed by the engine's stream path itself; `optimization` is ours.
 */
const VOLATILE = new Set(['model', 'messages', 'prompt', 'input', 'stream', 'optimization', 'user', 'safety_identifier',
  'store', 'metadata', 'service_tier', 'prompt_cache_key', 'prompt_cache_retention']);

/** What the engine keys one request by: the prompt as canonical text, the model and the params. */
export interface OpenAiIdentity {
  readonly prompt: string;
  readonly model: string;
  readonly params: Record<string, unknown>;
}

export function openAiIdentity(api: OpenAiApi, request: Record<string, unknown>, fields: KeyFields): OpenAiIdentity {
  const params: Record<string, unknown> = { api };
  const used = fields === 'ollama' ? OLLAMA_FIELDS[api] : undefined;
  for (const field in request) {
    const value = request[field];
    if (!Object.hasOwn(request, field) || value === undefined || VOLATILE.has(field)) continue;
    if (used !== undefined && !used.has(field)) continue;
    params[field] = field === 'stop' && typeof value === 'string' ? [value] : value;
  }
  // The client asks for base64 when no format is given and decodes it: the caller gets floats either way.
  if (api === 'embedding' && (params['encoding_format'] === undefined || params['encoding_format'] === 'float')) delete params['encoding_format'];
  return { prompt: promptText(api, request), model: request['model'] as string, params };
}

/**
 * The prompt as canonical JSON (so the string `'["a"]'` and the array `['a']` stay apart), the
 * messages' inline images by content hash.
 */
function promptText(api: OpenAiApi, request: Record<string, unknown>): string {
  if (api === 'chat') return canonicalJson(hashImages(request['messages']), 'messages');
  return api === 'completion' ? canonicalJson(request['prompt'], 'prompt') : canonicalJson(request['input'], 'input');
}

const DATA_URL = /^data:[^,]{0,100},/;

/** `image_url` parts with a `data:` URL keyed by the sha256 of the URL (a megabyte of base64 costs 71 characters of key). */
function hashImages(messages: unknown): unknown {
  if (!Array.isArray(messages) || !messages.some((m: unknown) => Array.isArray((m as { content?: unknown } | null)?.content))) return messages;
  return messages.map((message: unknown) => {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) return message;
    return { ...(message as object), content: content.map(hashPart) };
  });
}

function hashPart(part: unknown): unknown {
  const image = (part as { type?: unknown; image_url?: unknown } | null)?.image_url;
  const url = typeof image === 'string' ? image : (image as { url?: unknown } | null | undefined)?.url;
  if (typeof url !== 'string' || !DATA_URL.test(url)) return part;
  const hashed = `sha256:${createHash('sha256').update(url).digest('hex')}`;
  return { ...(part as object), image_url: typeof image === 'string' ? hashed : { ...(image as object), url: hashed } };
}

interface Choice {
  index?: number;
  finish_reason?: string | null;
}

/** A whole answer: every choice ended because the model stopped (never `length`, `tool_calls`, `content_filter`). */
export function isCompleteCompletion(response: unknown): boolean {
  const choices = (response as { choices?: Choice[] } | null)?.choices;
  return Array.isArray(choices) && choices.length > 0 && choices.every((c) => c.finish_reason === 'stop');
}

/** A whole stream: every choice that appeared was finished with `stop` (a usage-only chunk has no choices). */
export function isCompleteChunks(chunks: readonly unknown[]): boolean {
  const finish = new Map<number, string | null | undefined>();
  for (const chunk of chunks) {
    for (const c of (chunk as { choices?: Choice[] } | null)?.choices ?? []) {
      const index = c.index ?? 0;
      if (!finish.has(index) || c.finish_reason != null) finish.set(index, c.finish_reason);
    }
  }
  return finish.size > 0 && [...finish.values()].every((reason) => reason === 'stop');
}

/** The response's `usage` as the monitor's token counts. */
export function openAiUsage(value: unknown): TokenUsage {
  const usage = (value as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null } | null)?.usage;
  const out: TokenUsage = {};
  if (typeof usage?.prompt_tokens === 'number') out.promptTokens = usage.prompt_tokens;
  if (typeof usage?.completion_tokens === 'number') out.outputTokens = usage.completion_tokens;
  return out;
}
