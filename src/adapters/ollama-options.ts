import { positiveNumber, knownKeys, nonNegativeNumber, oneOf, plainObject, positiveInteger } from '../internal/validate.js';
import { validateCacheMode, validateScope, validateSignal } from '../internal/arguments.js';
import type { CacheMode, CallStatus } from '../types.js';
import type { ReplayMode } from '../stream/types.js';

/** Cache settings of the adapter's calls: for all of them (`withOptimization`'s options) or one (`optimization` field). */
export interface OllamaCallSettings {
  /** A tenant or namespace: requests in different scopes never share an answer. @default '' */
  scope?: string;
  /** Time to live of the answers stored, in ms. @default the engine cache's `ttlMs` */
  ttlMs?: number;
  /** How calls use the cache (`'default'`, `'bypass'`, `'refresh'`, `'only-if-cached'`). @default 'default' */
  cache?: CacheMode;
  /** When Ollama fails, serve an expired answer if there is one. @default false */
  staleIfError?: boolean;
  /** How a cached stream is replayed: at once, or with its original gaps between chunks. @default 'instant' */
  replay?: ReplayMode;
}

/**
 * The per-request `optimization` field of `generate`, `chat` and `embed`: taken off the request
 * before it is sent to Ollama.
 *
 * @example
 * ```ts
 * await ollama.generate({ model, prompt, optimization: { scope: 'tenant-42', signal: AbortSignal.timeout(30_000) } });
 * ```
 */
export interface RequestOptimization extends OllamaCallSettings {
  /**
   * Stops this caller's wait (a non-streamed call; the `ollama` client cannot cancel those on the
   * wire) or ends this caller's stream (like its `abort()`). Ollama's request is aborted only when
   * no caller sharing it is left.
   */
  signal?: AbortSignal;
  /** Filled in with what happened to this call (hit, miss, key, …). */
  status?: CallStatus;
}

/** Options of `withOptimization`. */
export interface OllamaOptimizationOptions extends OllamaCallSettings {
  /**
   * Concurrent `embed` calls for the same model and settings that arrive within this many ms of the
   * first are sent as one `/api/embed` request with an input array. `0` sends each call on its own.
   * @default 5
   */
  embedBatchWindowMs?: number;
  /** Most inputs in one batched `/api/embed` request; a full batch is sent at once. @default 256 */
  maxEmbedBatch?: number;
}

export interface ResolvedOllamaOptions {
  readonly defaults: OllamaCallSettings;
  readonly embedBatchWindowMs: number;
  readonly maxEmbedBatch: number;
}

/** The settings every adapter call takes (shared with the OpenAI adapter). */
export const SETTINGS = ['scope', 'ttlMs', 'cache', 'staleIfError', 'replay'] as const;

export function resolveOllamaOptions(options: OllamaOptimizationOptions): ResolvedOllamaOptions {
  const record = plainObject('options', options);
  knownKeys('options', record, [...SETTINGS, 'embedBatchWindowMs', 'maxEmbedBatch']);
  return Object.freeze({
    defaults: Object.freeze(checkSettings(options)),
    embedBatchWindowMs: nonNegativeNumber('embedBatchWindowMs', options.embedBatchWindowMs, 5),
    maxEmbedBatch: positiveInteger('maxEmbedBatch', options.maxEmbedBatch, 256),
  });
}

/** The adapter's defaults overridden by a request's own `optimization` field. */
export function requestSettings(defaults: OllamaCallSettings, field: unknown): RequestOptimization {
  const record = plainObject('optimization', field);
  if (record === undefined) return defaults;
  knownKeys('optimization', record, [...SETTINGS, 'signal', 'status']);
  const own = field as RequestOptimization;
  const merged: RequestOptimization = { ...defaults, ...checkSettings(own) };
  const signal = validateSignal(own.signal);
  if (signal !== undefined) merged.signal = signal;
  if (own.status !== undefined) merged.status = plainObject('optimization.status', own.status) as CallStatus;
  return merged;
}

/** The cache settings of an adapter's calls, validated (shared by the adapters). */
export function checkSettings(settings: OllamaCallSettings): OllamaCallSettings {
  const out: OllamaCallSettings = {};
  if (settings.scope !== undefined) out.scope = validateScope(settings.scope);
  if (settings.ttlMs !== undefined) out.ttlMs = positiveNumber('ttlMs', settings.ttlMs, 0);
  if (settings.cache !== undefined) out.cache = validateCacheMode(settings.cache);
  if (settings.staleIfError !== undefined) out.staleIfError = settings.staleIfError === true;
  if (settings.replay !== undefined) out.replay = oneOf('replay', settings.replay, ['instant', 'original'], 'instant');
  return out;
}
