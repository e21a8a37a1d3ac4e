import diagnosticsChannel from 'node:diagnostics_channel';
import type { CacheMode, CallOutcome, MissCause, Prompt, TokenUsage } from '../types.js';

/** Name of the tracing channel of calls and streams: `tracing:llm-optimization-engine:call:start`, `…:end`, `…:asyncStart`, `…:asyncEnd`, `…:error`. */
export const CALL_CHANNEL = 'llm-optimization-engine:call';
/** Name of the tracing channel of shared-store operations (`get`, `set`, `delete`, `acquire`, `wait`, `release`, `close`). */
export const STORE_CHANNEL = 'llm-optimization-engine:store';

/**
 * The message of the call channel: one object per call or stream, the same object at every event
 * of it. `start` and `end` are published when the call was validated (its synchronous part);
 * `asyncStart` and `asyncEnd` when its outcome is known (after `error` for a failed call), with the
 * end fields filled in. Names, counts and the key only: never the prompt, its params or the answer.
 */
export interface CallTraceMessage {
  operation: 'call' | 'stream';
  /** The prompt's shape: `chat` for a message array, `text_completion` for a string (the GenAI operation name). */
  promptKind: 'chat' | 'text_completion';
  model: string;
  scope: string;
  cacheMode: CacheMode;
  /** Set at `asyncStart`. */
  outcome: CallOutcome | undefined;
  /** The cache key, once computed (always on a miss). */
  key: string | undefined;
  /** Where a hit came from (`memory` or the shared `store`); also `store` for a call another instance answered through the store's lock. */
  source: 'memory' | 'store' | undefined;
  /** Why the in-process lookup missed (`refresh` for `cache: 'refresh'`). */
  missCause: MissCause | undefined;
  /** By the engine's clock, ms. */
  durationMs: number | undefined;
  usage: TokenUsage | undefined;
  /** Set before `error`: the call's error, unchanged. */
  error: unknown;
}

/** The message of the store channel; `error` is set for a failed operation (the engine then failed open). */
export interface StoreTraceMessage {
  store: string;
  operation: string;
  error?: unknown;
}

export const callChannel = diagnosticsChannel.tracingChannel<string, CallTraceMessage>(CALL_CHANNEL);
export const storeChannel = diagnosticsChannel.tracingChannel<string, StoreTraceMessage>(STORE_CHANNEL);

type Tracing = typeof callChannel | typeof storeChannel;

/** Property reads only: the price of tracing when nobody subscribes (Node 20.13+ has `hasSubscribers` on the tracing channel itself). */
function subscribed(c: Tracing): boolean {
  return c.start.hasSubscribers || c.end.hasSubscribers || c.asyncStart.hasSubscribers || c.asyncEnd.hasSubscribers || c.error.hasSubscribers;
}

/** Publishes `start` and `end` of a validated call; undefined (nothing built) when nobody subscribes. */
export function traceCallStart(operation: 'call' | 'stream', prompt: Prompt, model: string, scope: string, cacheMode: CacheMode): CallTraceMessage | undefined {
  if (!subscribed(callChannel)) return undefined;
  // Every field from the start: one object shape for every message, whatever the call's end sets.
  const message: CallTraceMessage = {
    operation, promptKind: typeof prompt === 'string' ? 'text_completion' : 'chat', model, scope, cacheMode,
    outcome: undefined, key: undefined, source: undefined, missCause: undefined, durationMs: undefined, usage: undefined, error: undefined,
  };
  callChannel.start.publish(message);
  callChannel.end.publish(message);
  return message;
}

/** Publishes the end of a call: `error` first when it failed, then `asyncStart` and `asyncEnd`. */
export function traceCallEnd(message: CallTraceMessage, outcome: CallOutcome, durationMs: number, key: string | undefined, usage: TokenUsage | undefined, missCause: MissCause): void {
  message.outcome = outcome;
  message.durationMs = durationMs;
  message.key = key;
  message.usage = usage;
  if (outcome === 'hit') message.source ??= 'memory';
  if (outcome === 'miss' || outcome === 'coalesced') message.missCause = missCause;
  if (outcome === 'error') callChannel.error.publish(message);
  callChannel.asyncStart.publish(message);
  callChannel.asyncEnd.publish(message);
}

/** Runs one store operation inside the store channel's events when someone subscribes (its result is not published: it may be a cached answer). */
export function traceStore<T>(store: string, operation: string, run: () => Promise<T>): Promise<T> {
  if (!subscribed(storeChannel)) return run();
  const message: StoreTraceMessage = { store, operation };
  return storeChannel.start.runStores(message, () => {
    try {
      return run().then(
        (value) => {
          storeChannel.asyncStart.publish(message);
          storeChannel.asyncEnd.publish(message);
          return value;
        },
        (error: unknown) => {
          message.error = error;
          storeChannel.error.publish(message);
          storeChannel.asyncStart.publish(message);
          storeChannel.asyncEnd.publish(message);
          throw error;
        },
      );
    } catch (error) {
      message.error = error;
      storeChannel.error.publish(message);
      throw error;
    } finally {
      storeChannel.end.publish(message);
    }
  });
}
