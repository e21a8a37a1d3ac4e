import type { CallStatus, TokenUsage } from '../types.js';
import { NAMESPACE } from './ai-sdk-key.js';

/** A generate result or a stream part, as the middleware handles them: plain data. */
export type Data = Record<string, unknown>;

/** What a caller's answer says about the cache: `providerMetadata.llmOptimizationEngine`. */
export interface CacheMetadata {
  /** `'hit'` (from the cache), `'coalesced'` (shared an identical call in flight), `'miss'` (this call ran the model), `'bypass'`. */
  outcome: 'hit' | 'coalesced' | 'miss' | 'bypass';
  /** Whether the answer came from the cache. */
  hit: boolean;
  /** The cache key of the call. */
  key?: string;
  /** A hit: age of the stored answer, in ms. */
  ageMs?: number;
  /** A hit: the in-process cache or the shared store. */
  source?: 'memory' | 'store';
  /** The tokens the answer cost when the model generated it (a hit or a coalesced call, whose own `usage` is zero). */
  cachedUsage?: { inputTokens?: number; outputTokens?: number };
}

/**
 * A deep copy of plain data with `undefined` fields left out: fresh objects and arrays, bytes
 * copied, a `Date` as a new `Date`; strings and numbers shared (immutable). Anything else (an `Error`
 * in an error part) is passed as it is: such parts are never stored.
 */
export function copy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
    return out;
  }
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof Date) return new Date(value.getTime());
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Data = {};
  const fields = Object.keys(value);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    const v = (value as Data)[field];
    if (v !== undefined) out[field] = copy(v);
  }
  return out;
}

/** Freezes plain data in place, all the way down: a stored answer nothing may change. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (ArrayBuffer.isView(value)) return value;
  for (const field of Object.keys(value)) deepFreeze((value as Data)[field]);
  return Object.freeze(value);
}

/**
 * What is stored of a generate result: the answer and what describes it, as plain JSON data (so a
 * shared store can hold it), frozen. Not stored: the request (it holds the prompt) and the HTTP
 * response (headers, raw body) of the call that produced it. The timestamp is kept as ms.
 */
export function storedResult(result: Data): Data {
  const response = result['response'] as Data | undefined;
  const stored = copy({
    content: result['content'],
    structuredOutputText: result['structuredOutputText'],
    finishReason: result['finishReason'],
    usage: result['usage'],
    providerMetadata: result['providerMetadata'],
    warnings: result['warnings'] ?? [],
    response: response === undefined ? undefined : {
      id: response['id'], modelId: response['modelId'], timestamp: timeOf(response['timestamp']),
    },
  }) as Data;
  return deepFreeze(stored);
}

/** A stream part as stored: plain data (a `response-metadata` timestamp as ms); an `error` part as it is. */
export function storedPart(part: Data): Data {
  if (part['type'] === 'error') return part;
  const stored = copy(part) as Data;
  if (part['type'] === 'response-metadata' && part['timestamp'] !== undefined) stored['timestamp'] = timeOf(part['timestamp']);
  return deepFreeze(stored);
}

function timeOf(timestamp: unknown): unknown {
  return timestamp instanceof Date ? timestamp.getTime() : timestamp;
}

function dateOf(timestamp: unknown): unknown {
  return typeof timestamp === 'number' ? new Date(timestamp) : timestamp;
}

/** How a caller's copy of a stored answer is finished: its metadata, and which usage it reports. */
export interface Delivery {
  /** This caller's own object: it becomes its `providerMetadata.llmOptimizationEngine`. */
  readonly metadata: CacheMetadata;
  /** Report zero usage (a hit or a coalesced call with `hitUsage: 'zero'`). */
  readonly zeroUsage: boolean;
}

/**
 * A caller's answer from a stored generate result: a copy-on-write shell. Its own top-level object,
 * content (array and parts), response (with a new `Date`) and provider metadata object; the parts no
 * caller has reason to change (finish reason, usage, warnings, the provider's metadata entries) are
 * the stored, frozen ones, so a caller who tries gets a `TypeError` and the next caller is unaffected.
 */
export function deliveredResult(stored: Data, delivery: Delivery): Data {
  sealed(stored);
  const out: Data = {};
  const fields = Object.keys(stored);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    const v = stored[field];
    if (field === 'content') out[field] = copyContent(v as readonly Data[]);
    else if (field === 'response') out[field] = responseOut(v as Data);
    else if (field !== 'usage' && field !== 'providerMetadata') out[field] = v;
  }
  return finish(out, stored, delivery);
}

/** A stored answer read back from a shared store is a fresh object: frozen once, like one stored here. */
function sealed(stored: Data): void {
  if (!Object.isFrozen(stored)) deepFreeze(stored);
}

/** Content parts, a text part (the usual answer) copied without walking it. */
function copyContent(content: readonly Data[]): Data[] {
  const out = new Array<Data>(content.length);
  for (let i = 0; i < content.length; i++) {
    const part = content[i] as Data;
    out[i] = part['type'] === 'text' && Object.keys(part).length === 2 ? { type: 'text', text: part['text'] } : (copy(part) as Data);
  }
  return out;
}

function responseOut(response: Data): Data {
  const out: Data = {};
  for (const field of Object.keys(response)) out[field] = field === 'timestamp' ? dateOf(response[field]) : response[field];
  return out;
}

/** A caller's own copy of a stored stream part; the `finish` part carries the cache metadata. */
export function deliveredPart(stored: Data, delivery: Delivery): Data {
  const type = stored['type'];
  if (type === 'error') return stored;
  if (type === 'text-delta' && Object.keys(stored).length === 3) return { type, id: stored['id'], delta: stored['delta'] };
  if (type !== 'finish') {
    const out = copy(stored) as Data;
    if (type === 'response-metadata') out['timestamp'] = dateOf(out['timestamp']);
    return out;
  }
  sealed(stored);
  const out: Data = {};
  for (const field of Object.keys(stored)) if (field !== 'usage' && field !== 'providerMetadata') out[field] = stored[field];
  return finish(out, stored, delivery);
}

/** Adds the cache metadata to an answer this call got from the model itself (a miss or a bypass). */
export function withMetadata(result: Data, metadata: CacheMetadata): Data {
  return { ...result, providerMetadata: { ...(result['providerMetadata'] as Data | undefined), [NAMESPACE]: metadata } };
}

/** Sets a copy's usage (zeroed for a hit) and provider metadata (the stored one's plus the cache's). */
function finish(out: Data, stored: Data, delivery: Delivery): Data {
  const usage = stored['usage'];
  // Built for this caller alone (see `metadataOf`): completed in place.
  const { metadata } = delivery;
  if (metadata.outcome === 'hit' || metadata.outcome === 'coalesced') metadata.cachedUsage = tokensOf(usage);
  if (usage !== undefined) out['usage'] = delivery.zeroUsage ? zeroedOf(usage as Data) : usage;
  out['providerMetadata'] = { ...(stored['providerMetadata'] as Data | undefined), [NAMESPACE]: metadata };
  return out;
}

/** The zero usage of a stored usage, made once per stored answer and frozen like it. */
const zeroes = new WeakMap<Data, unknown>();

function zeroedOf(usage: Data): unknown {
  let zero = zeroes.get(usage);
  if (zero === undefined) zeroes.set(usage, (zero = deepFreeze(zeroed(usage))));
  return zero;
}

/** The same usage shape with every count zero (no model processed a token for this call); the provider's raw usage left out. */
function zeroed(usage: unknown): unknown {
  if (typeof usage === 'number') return 0;
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return usage;
  const out: Data = {};
  const fields = Object.keys(usage);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    if (field !== 'raw') out[field] = zeroed((usage as Data)[field]);
  }
  return out;
}

/** Input and output tokens of a usage of any specification version (v2: numbers; v3, v4: `{ total }`). */
export function tokensOf(usage: unknown): { inputTokens?: number; outputTokens?: number } {
  const out: { inputTokens?: number; outputTokens?: number } = {};
  if (typeof usage !== 'object' || usage === null) return out;
  const input = countOf((usage as Data)['inputTokens']);
  const output = countOf((usage as Data)['outputTokens']);
  if (input !== undefined) out.inputTokens = input;
  if (output !== undefined) out.outputTokens = output;
  return out;
}

function countOf(field: unknown): number | undefined {
  if (typeof field === 'number') return field;
  const total = (field as Data | undefined)?.['total'];
  return typeof total === 'number' ? total : undefined;
}

/** The engine's usage (for its monitor and savings) from an SDK usage. */
export function engineUsage(usage: unknown): TokenUsage {
  const { inputTokens, outputTokens } = tokensOf(usage);
  const out: TokenUsage = {};
  if (inputTokens !== undefined) out.promptTokens = inputTokens;
  if (outputTokens !== undefined) out.outputTokens = outputTokens;
  return out;
}

/** The unified finish reason of any specification version (v2: a string; v3, v4: `{ unified, raw }`). */
export function finishReasonOf(reason: unknown): string | undefined {
  if (typeof reason === 'string') return reason;
  const unified = (reason as Data | undefined)?.['unified'];
  return typeof unified === 'string' ? unified : undefined;
}

/**
 * Admission: only a complete answer is stored. `stop`, and `tool-calls` when allowed; never
 * `length`, `content-filter`, `error`, `other` or an unknown reason; never an answer with tools the
 * provider ran itself (their results are not a function of the call).
 */
export function completeAnswer(storeToolCalls: boolean): (reason: unknown, content: readonly unknown[]) => boolean {
  return (reason, content) => {
    const unified = finishReasonOf(reason);
    if (unified !== 'stop' && !(storeToolCalls && unified === 'tool-calls')) return false;
    return !content.some((part) => (part as Data | null)?.['providerExecuted'] === true);
  };
}

/** The cache metadata of a call from its filled-in status; `ranModel`: this caller's own upstream call answered it. */
export function metadataOf(status: CallStatus, ranModel: boolean): CacheMetadata {
  const outcome = status.outcome === 'bypass' ? 'bypass' : status.outcome === 'hit' ? 'hit' : ranModel ? 'miss' : 'coalesced';
  const metadata: CacheMetadata = { outcome, hit: outcome === 'hit' };
  if (status.key !== undefined) metadata.key = status.key;
  if (outcome === 'hit') {
    if (status.ageMs !== undefined) metadata.ageMs = status.ageMs;
    if (status.source !== undefined) metadata.source = status.source;
  }
  return metadata;
}
