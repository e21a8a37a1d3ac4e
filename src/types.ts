import type { RouteDecision } from './routing/route-types.js';

/** One chat message, as the Ollama chat API and most chat clients shape it. */
export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** What the model is asked: a plain prompt or a conversation. */
export type Prompt = string | readonly ChatMessage[];

/** Token counts of one model call, when the adapter or `exec` knows them. */
export interface TokenUsage {
  /** Tokens of the prompt the model processed. */
  promptTokens?: number;
  /** Tokens the model generated. */
  outputTokens?: number;
  /** Time the model spent generating, in ms (for tokens per second). */
  generationMs?: number;
  /** Time spent loading the model before the call could start (a cold load), in ms. */
  loadMs?: number;
  /** Time spent processing the prompt, in ms. */
  promptMs?: number;
}

/** The third argument of your `exec` function. */
export interface ExecContext {
  /** Aborts when every caller waiting on this computation has gone (or the engine closes). Pass it to your model call. */
  signal: AbortSignal;
  /** The cache key of this request (`v1:` + sha256, with the scope). Stable across processes and versions of the same key scheme. */
  key: string;
  /** Report token counts for this call: they feed the monitor and `cost_saved_usd`. Optional to call. */
  reportUsage(usage: TokenUsage): void;
  /**
   * True when the engine's router wants the answer's token log-probabilities (a cascade route's
   * small tier): ask the model for them (Ollama: `logprobs: true`) and pass them to `reportLogprobs`.
   */
  readonly wantsLogprobs: boolean;
  /**
   * Report the answer's token log-probabilities (natural log, one per generated token). A cascade
   * route escalates to its large tier when their mean (or, with `minTokenLogprob`, any of them) is low.
   * Optional to call; ignored outside a cascade.
   */
  reportLogprobs(logprobs: readonly number[]): void;
}

/** Your model call: it receives the prompt as you passed it (a string stays a string). It may return a value or a promise; its errors reach every caller unchanged. */
export type ExecFunction<T, P extends Prompt = Prompt> = (prompt: P, model: string, context: ExecContext) => T | PromiseLike<T>;

/** How one call uses the cache. */
export type CacheMode =
  /** Serve from cache, join an identical call in flight, otherwise run `exec` and store its result. */
  | 'default'
  /** Neither read, write nor coalesce: exactly a direct `exec` call, still monitored. */
  | 'bypass'
  /** Skip the lookup, run `exec` and store the fresh result (joins an identical refresh in flight). */
  | 'refresh'
  /** Serve from cache or fail with `OptimizerError` code `ERR_NOT_CACHED`; never runs `exec`. */
  | 'only-if-cached';

/** What happened to one call. */
export type CallOutcome = 'hit' | 'miss' | 'coalesced' | 'bypass' | 'error';

/**
 * Why a lookup found nothing usable: never cached, expired, evicted for room, refused admission by the
 * cache's policy (`rejected`: the entry lost its place to more frequently used ones before it was
 * admitted; see the cache option `policy`), or a `cache: 'refresh'` call.
 */
export type MissCause = 'new' | 'expired' | 'evicted' | 'rejected' | 'refresh';

/**
 * Filled in by a call when passed as `options.status` (lru-cache style tracing).
 * Fields are set as the call proceeds; `outcome` is always set when the call settles.
 */
export interface CallStatus {
  outcome?: CallOutcome;
  /** The cache key, when it was computed (always on a miss; on a hit only if asked for). */
  key?: string;
  /** Set on a miss: why nothing was served from cache. */
  missCause?: MissCause;
  /** Where a hit came from: the in-process cache or the shared store. */
  source?: 'memory' | 'store';
  /** Time the call took, in ms, by the engine's clock. */
  durationMs?: number;
  /** Set on a hit: age of the entry served, in ms. */
  ageMs?: number;
  /**
   * True when an expired entry was served: within its grace (`graceMs`), because the model took
   * longer than `softTimeoutMs`, or because `exec` failed and `staleIfError` allowed it. See `staleReason`.
   */
  stale?: boolean;
  /** Why an expired entry was served (set with `stale`). */
  staleReason?: 'grace' | 'soft-timeout' | 'error';
  /**
   * True when a background refresh of this key runs after this call answered: started by it (a
   * stale entry in its grace, a hot entry refreshed ahead of expiry, a soft timeout) or already
   * running. Its outcome is a `cache-refresh` event.
   */
  revalidating?: boolean;
  /** The error, when `outcome` is `'error'`. */
  error?: unknown;
  /** True when the result was written to the cache. */
  stored?: boolean;
  /** Set on a routed miss (the call named a logical model of the engine's `routes`): which tier answered, and why. */
  route?: RouteDecision;
  /** Set when the call was assigned to an arm of a running experiment. */
  experiment?: { name: string; variant: string };
}

/** Per-call options of `optimizeAiCall`. */
export interface CallOptions {
  /**
   * Every output-affecting setting (temperature, seed, top_p, num_ctx, system, format, tools…). Part of
   * the key: two params are the same request exactly when they are the same JSON data (object keys
   * sorted, so `{ a, b }` and `{ b, a }` are one request; `undefined` fields absent; a `Date`, or any
   * object with `toJSON()`, as what it sends). Binary data (typed arrays, `Buffer`) counts by kind and
   * bytes. A `Map`, `Set`, `RegExp`, class instance, function, `NaN` or cycle is refused with a
   * `TypeError` naming its path (`params.options.stop`). Keys starting `llmoe:` are the engine's.
   * @example `{ temperature: 0, seed: 42, options: { num_ctx: 4096 } }`
   */
  params?: Record<string, unknown>;
  /** A tenant or namespace: calls in different scopes never share an entry or a computation. @default '' */
  scope?: string;
  /** Aborts this caller's wait (and `exec`, once no other caller waits on it). */
  signal?: AbortSignal;
  /** Time to live of the entry this call writes, in ms. @default the cache's `ttlMs` */
  ttlMs?: number;
  /** How this call uses the cache. @default 'default' */
  cache?: CacheMode;
  /** When `exec` fails (or the circuit is open), serve an expired entry instead of the error. @default false */
  staleIfError?: boolean;
  /** An object this call fills in with what happened. */
  status?: CallStatus;
  /**
   * Stale-while-revalidate: an entry expired less than this many ms ago is served at once, and
   * refreshed in the background (once per key, shared with any caller's miss of that key).
   * @default the engine's `freshness.graceMs` (0: an expired entry is a miss)
   */
  graceMs?: number;
  /**
   * When an expired entry exists (beyond its grace) and the model has not answered within this
   * many ms, answer with that entry; the computation goes on and stores its answer.
   * @default the engine's `freshness.softTimeoutMs` (none: wait for the model)
   */
  softTimeoutMs?: number;
  /**
   * Labels stored with the entry this call writes (in memory and in the shared store), so that
   * `engine.invalidate({ tag })` removes every entry carrying one. At most 16, each a non-empty
   * string of at most 128 characters. Not part of the key.
   * @example `['catalog', 'product:42']`
   */
  tags?: readonly string[];
  /**
   * Admission: whether a successful result is a complete answer worth storing (e.g. Ollama's
   * `done_reason === 'stop'`, not a truncated `'length'`). An incomplete result still reaches the
   * caller (and callers sharing the call), it is just not cached. @default every result is stored
   */
  isComplete?(value: unknown): boolean;
  /**
   * How cached values are handed out. `'copy'`: the cache keeps its own copy and every caller gets a
   * private one (`structuredClone`), so no caller can change what the next one gets. `'shared'`: the
   * value `exec` returned is stored as it is and that same object is handed to every caller, with no
   * copy (large values on a hot path): only for callers that never mutate it, because they
   * deep-freeze it or copy what they hand on, as the framework adapters do. An entry read back from a
   * shared store (L2) is a fresh object either way. @default 'copy'
   */
  values?: ValueMode;
}

/** How cached values are handed out: a private copy per caller, or one shared object. */
export type ValueMode = 'copy' | 'shared';
