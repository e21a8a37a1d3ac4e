import { createHash } from 'node:crypto';
import type { BaseMessage } from '@langchain/core/messages';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import type { ChatMessage } from '../types.js';
import { RESOURCE_OPTIONS } from './ollama-request.js';

/**
 * Call options that never reach the model: LangChain's run config (tracing, callbacks, ids,
 * cancellation, concurrency) and the adapter's own `optimization` field. Every other call option
 * (`stop`, `tools`, `tool_choice`, `format`, `outputVersion`, a provider's own…) is keyed.
 */
const VOLATILE_CALL_OPTIONS = new Set([
  'signal', 'callbacks', 'runId', 'runName', 'tags', 'metadata', 'configurable', 'recursionLimit',
  'maxConcurrency', 'timeout', 'promptIndex', 'ls_structured_output_format', 'optimization',
]);

/** Request fields of a model's `invocationParams` that only change how it runs, not what it says. */
const VOLATILE_PARAMS = new Set(['keep_alive', 'keepAlive', 'stream', 'signal']);

/** Strings in non-text content blocks longer than this are keyed by their SHA-256 (images, audio, files). */
const MAX_INLINE_CHARS = 256;

/**
 * What the engine keys one LangChain chat call by. The messages and settings are handed over as
 * JSON text (objects' fields sorted by {@link plainData}), which the engine keys as it keys any
 * string: one native `JSON.stringify` instead of the engine's canonical walk of nested data.
 */
export interface LangChainIdentity {
  readonly prompt: string;
  readonly model: string;
  readonly params: Record<string, unknown>;
}

/** The parts of a chat model the key reads (any `BaseChatModel` has them). */
export interface KeyedModel {
  _llmType(): string;
  _identifyingParams?(): Record<string, unknown>;
  invocationParams?(options?: unknown): unknown;
}

/**
 * Every output-affecting part of a call: the messages (content blocks with binary parts as content
 * hashes, names, tool calls, tool results), the model's type, identity and invocation parameters
 * (model name, temperature, …), and the call options, minus what is volatile (see above).
 */
export function chatIdentity(model: KeyedModel, messages: readonly BaseMessage[], callOptions: Record<string, unknown>): LangChainIdentity {
  const call: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(callOptions)) {
    if (value === undefined || VOLATILE_CALL_OPTIONS.has(name)) continue;
    call[name] = name === 'tools' && Array.isArray(value) ? value.map(openAiTool) : plainData(value, `options.${name}`);
  }
  const invocation = modelParams(model, callOptions);
  const identifying = plainData(model._identifyingParams?.() ?? {}, 'model._identifyingParams()');
  const name = modelName(invocation, identifying, model);
  return { prompt: JSON.stringify(keyedMessages(messages)), model: name, params: { lc: JSON.stringify([model._llmType(), identifying, invocation, call]) } };
}

function modelParams(model: KeyedModel, callOptions: Record<string, unknown>): Record<string, unknown> {
  const raw = plainData(model.invocationParams?.(callOptions) ?? {}, 'model.invocationParams()');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const params: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (VOLATILE_PARAMS.has(field)) continue;
    params[field] = field === 'options' && typeof value === 'object' && value !== null ? withoutResourceOptions(value as Record<string, unknown>) : value;
  }
  return params;
}

function withoutResourceOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) if (!RESOURCE_OPTIONS.has(name)) out[name] = value;
  return out;
}

function modelName(invocation: Record<string, unknown>, identifying: unknown, model: KeyedModel): string {
  const fields = model as unknown as Record<string, unknown>;
  const id = identifying as Record<string, unknown>;
  for (const candidate of [invocation['model'], id['model'], id['model_name'], fields['model'], fields['modelName']]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate;
  }
  return model._llmType() || 'langchain';
}

function openAiTool(tool: unknown, index: number): unknown {
  try {
    return plainData(convertToOpenAITool(tool as Parameters<typeof convertToOpenAITool>[0]), `options.tools[${index}]`);
  } catch {
    return plainData(tool, `options.tools[${index}]`);
  }
}

/**
 * Messages as the key sees them. Ids are left out: LangChain gives each AI message a `run-<uuid>`
 * id, and providers give tool calls random ids, so a conversation replayed with the same content
 * would never hit. Tool-call ids become their order of appearance (`#0`, `#1`…), which keeps which
 * tool result answers which call.
 */
export function keyedMessages(messages: readonly BaseMessage[]): ChatMessage[] {
  const ids = new Map<string, string>();
  const idOf = (id: unknown): string | undefined => {
    if (typeof id !== 'string') return undefined;
    let short = ids.get(id);
    if (short === undefined) ids.set(id, (short = `#${ids.size}`));
    return short;
  };
  return messages.map((message, i) => {
    const m = message as unknown as Record<string, unknown>;
    const type = typeof m['type'] === 'string' ? m['type'] : message.getType();
    const role = type === 'generic' && typeof m['role'] === 'string' ? `generic:${m['role']}` : type;
    const keyed: ChatMessage = { role, content: typeof message.content === 'string' ? message.content : '' };
    if (Array.isArray(message.content)) keyed['blocks'] = message.content.map((block, j) => keyedBlock(block, `messages[${i}].content[${j}]`));
    if (typeof m['name'] === 'string' && m['name'] !== '') keyed['name'] = m['name'];
    const toolCalls = m['tool_calls'];
    if (Array.isArray(toolCalls) && toolCalls.length > 0) {
      keyed['tool_calls'] = toolCalls.map((call: Record<string, unknown>, j) => ({
        name: call['name'], args: plainData(call['args'], `messages[${i}].tool_calls[${j}].args`), id: idOf(call['id']),
      }));
    }
    if (type === 'tool') {
      keyed['tool_call_id'] = idOf(m['tool_call_id']);
      if (m['status'] !== undefined) keyed['status'] = m['status'];
    }
    const extra = additionalKwargs(m['additional_kwargs'], `messages[${i}].additional_kwargs`);
    if (extra !== undefined) keyed['additional_kwargs'] = extra;
    return keyed;
  });
}

/** `additional_kwargs` minus its copy of the tool calls (keyed above, without their random ids). */
function additionalKwargs(value: unknown, path: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(value)) if (field !== 'tool_calls' && v !== undefined) out[field] = plainData(v, `${path}.${field}`);
  return Object.keys(out).length === 0 ? undefined : out;
}

/** A content block: text as it is; in any other block (image, audio, file), long strings and bytes by SHA-256. */
function keyedBlock(block: unknown, path: string): unknown {
  if (typeof block === 'string') return block;
  const record = block as Record<string, unknown> | null;
  if (record !== null && typeof record === 'object' && record['type'] === 'text') return plainData(block, path);
  return plainData(block, path, true);
}

/**
 * Plain JSON data for the key, the way JSON would send it (`toJSON()` used, functions and
 * `undefined` left out), with bytes as their SHA-256. With `hashLong`, strings over
 * {@link MAX_INLINE_CHARS} are hashed too. A cycle is refused with a `TypeError` naming its path.
 */
export function plainData(value: unknown, path: string, hashLong = false, seen = new Set<object>()): unknown {
  if (typeof value === 'string') return hashLong && value.length > MAX_INLINE_CHARS ? `sha256:${sha256(value)}` : value;
  // -0 is 0, as JSON sends it.
  if (typeof value === 'number') return Number.isFinite(value) ? value + 0 : String(value);
  if (typeof value !== 'object' || value === null) return typeof value === 'boolean' || value === null ? value : undefined;
  if (ArrayBuffer.isView(value)) return `sha256:${sha256(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))}`;
  if (value instanceof ArrayBuffer) return `sha256:${sha256(new Uint8Array(value))}`;
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === 'function') return plainData((withJson.toJSON as () => unknown).call(value), path, hashLong, seen);
  if (seen.has(value)) throw new TypeError(`\`${path}\` holds a cycle: it cannot be part of a cache key`);
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item, i) => plainData(item, `${path}[${i}]`, hashLong, seen) ?? null);
  } else {
    // Fields in sorted order, so that the JSON of two equal objects is one text whatever order they were written in.
    const record: Record<string, unknown> = {};
    for (const field of Object.keys(value).sort()) {
      const plain = plainData((value as Record<string, unknown>)[field], `${path}.${field}`, hashLong, seen);
      // An own field even when it is named `__proto__` (an assignment would set the prototype instead).
      if (plain !== undefined) Object.defineProperty(record, field, { value: plain, enumerable: true, writable: true, configurable: true });
    }
    out = record;
  }
  seen.delete(value);
  return out;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * LangChain's `llmKey` without the entries that are not part of the request: a call given a signal
 * gets a `signal:{}` entry (`JSON.stringify` of an `AbortSignal`), which would split the cache
 * between calls that can be cancelled and calls that cannot. Only that exact entry is dropped, so two
 * different keys never become one.
 */
export function stableLlmKey(llmKey: string): string {
  if (!llmKey.includes('signal:')) return llmKey;
  return splitEntries(llmKey).filter((entry) => entry !== 'signal:{}').join(',');
}

/** Entries are `name:JSON`: the name is raw text up to its first colon, the value is JSON (commas only inside strings or brackets). */
function splitEntries(text: string): string[] {
  const entries: string[] = [];
  let start = 0;
  while (start <= text.length) {
    const colon = text.indexOf(':', start);
    const end = colon === -1 ? text.length : valueEnd(text, colon + 1);
    entries.push(text.slice(start, end));
    start = end + 1;
  }
  return entries;
}

/** Index of the comma (or the end) after the JSON value starting at `from`. */
function valueEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) return i;
  }
  return text.length;
}

/**
 * Placeholders LangChain writes into the `prompt` string it gives a `BaseCache` in place of a
 * content block (`getBufferString`): two different images both read `[image]`, so a prompt holding
 * one cannot be told from another and is never cached through `EngineCache`.
 */
const FLATTENED = /\[(?:image|audio|video|file|text-plain file)\]/;

export function isFlattenedPrompt(prompt: string): boolean {
  return prompt.includes('[') && FLATTENED.test(prompt);
}
