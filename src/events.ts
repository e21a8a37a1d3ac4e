import { EventEmitter } from 'eventemitter3';
import type { CacheMode, CallOutcome, MissCause, TokenUsage } from './types.js';
import type { InvalidationCommand } from './stores/cache-store.js';

/** What started a background refresh. */
export type RefreshReason = 'grace' | 'ahead' | 'soft-timeout';
import type { Anomaly } from './monitor/types.js';
import type { WarmUpRecord } from './forecast/warm-up.js';
import type { Logger } from './logger.js';
import type { RouteDecision, RouteReason } from './routing/route-types.js';

export type { Logger } from './logger.js';

interface CallInfo {
  model: string;
  scope: string;
}

/**
 * Every event the engine emits, with its one payload object. Names are kebab-case noun-verb.
 * Listeners run synchronously; one that throws (or rejects) is reported to the logger and never
 * affects the call or the other listeners.
 */
export interface EngineEvents {
  'call-start': CallInfo & { cache: CacheMode; timestamp: number };
  'call-end': CallInfo & {
    outcome: CallOutcome; durationMs: number; key: string | undefined; timestamp: number;
    /** Token counts of the model call behind a miss or bypass, when `exec` or the adapter reported them. */
    usage: TokenUsage | undefined;
  };
  'call-error': CallInfo & { error: unknown; durationMs: number; key: string | undefined; timestamp: number };
  /** `stale` is set (true) when an expired entry was served: see `CallStatus.staleReason`. */
  'cache-hit': CallInfo & { key: string; ageMs: number; source: 'memory' | 'store'; stale?: true };
  'cache-miss': CallInfo & { key: string; cause: MissCause };
  'cache-write': CallInfo & { key: string; bytes: number; ttlMs: number };
  'cache-evict': CallInfo & { key: string; reason: 'evict' | 'delete' | 'clear' | 'overwrite' };
  'call-coalesce': CallInfo & { key: string; waiters: number };
  /**
   * A background refresh ended: `reason` says what started it (`'grace'`: a stale entry served in
   * its grace; `'ahead'`: a hot entry near expiry; `'soft-timeout'`: a caller answered with a stale
   * entry while the model went on), `outcome` whether it stored a new answer, stored nothing (an
   * incomplete answer, or the store answered), failed (`error`; the old entry stays until its grace
   * ends), or was skipped because `freshness.maxBackgroundRefreshes` were already running.
   */
  'cache-refresh': CallInfo & { key: string; reason: RefreshReason; outcome: 'stored' | 'not-stored' | 'error' | 'skipped'; error?: unknown; durationMs: number };
  /**
   * Entries were invalidated: here (`origin: 'local'`, by `engine.delete`, `invalidate` or `clear`)
   * or on another replica, the command reaching this one through the store (`origin: 'remote'`), or
   * every entry shared with the store was dropped because invalidations may have been missed while
   * the store's channel was down (`origin: 'resubscribe'`). `removed` counts in-process entries.
   */
  'cache-invalidate': { origin: 'local' | 'remote' | 'resubscribe'; command: InvalidationCommand; removed: number };
  'store-error': { store: string; operation: string; error: unknown };
  'anomaly-detect': Anomaly;
  'optimization-apply': { type: string; action: string; before: unknown; after: unknown; timestamp: number };
  'optimization-revert': { type: string; action: string; before: unknown; after: unknown; timestamp: number };
  'autonomous-tick': { runs: number; actions: string[]; durationMs: number; timestamp: number };
  /** A routed miss settled on a tier (the same object as `status.route`). */
  'route-decide': RouteDecision;
  /** A cascade asks its large tier after the small one's answer was not good enough. */
  'route-escalate': { route: string; from: string; to: string; reason: RouteReason };
  /** A call was assigned to an experiment's variant. */
  'experiment-assign': { experiment: string; variant: string; scope: string };
  /** A predictive warm-up loaded a model ahead of its forecast traffic (`error` set when the hook rejected). */
  'model-warm-up': WarmUpRecord;
}

export type EngineEventName = keyof EngineEvents;
export type EngineListener<E extends EngineEventName> = (payload: EngineEvents[E]) => unknown;

type AnyListener = (payload: unknown) => unknown;

/**
 * Typed events over eventemitter3 where no listener can break the emitter: each listener is wrapped
 * so a throw or a rejected promise goes to the logger, and the next listener still runs.
 */
export class EventHub {
  readonly #emitter = new EventEmitter();
  readonly #wrappers = new WeakMap<AnyListener, AnyListener>();
  readonly #logger: Logger;
  /** The engine's own observers (warm-up): kept apart so that `off(event)` and `removeAll()` leave them. */
  #internal: EventEmitter | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on<E extends EngineEventName>(event: E, listener: EngineListener<E>, once = false): void {
    if (typeof listener !== 'function') throw new TypeError(`\`listener\` for '${event}' must be a function`);
    const wrapped = this.#wrap(event, listener as AnyListener);
    if (once) this.#emitter.once(event, wrapped);
    else this.#emitter.on(event, wrapped);
  }

  off<E extends EngineEventName>(event: E, listener?: EngineListener<E>): void {
    if (listener === undefined) this.#emitter.removeAllListeners(event);
    else this.#emitter.off(event, this.#wrappers.get(listener as AnyListener) ?? (listener as AnyListener));
  }

  /** Adds an engine-internal observer, guarded like a listener, that `off()` and `removeAll()` do not remove. */
  observe<E extends EngineEventName>(event: E, listener: EngineListener<E>): void {
    this.#internal ??= new EventEmitter();
    this.#internal.on(event, this.#wrap(event, listener as AnyListener));
  }

  has(event: EngineEventName): boolean {
    return this.#emitter.listenerCount(event) > 0 || (this.#internal !== undefined && this.#internal.listenerCount(event) > 0);
  }

  emit<E extends EngineEventName>(event: E, payload: EngineEvents[E]): void {
    this.#emitter.emit(event, payload);
    this.#internal?.emit(event, payload);
  }

  /**
   * Emits a payload built only when someone listens, and built inside the guard: a payload that
   * needs the full key runs the cache's hash, and a hash that throws must not break a call (or an
   * eviction halfway through) any more than a listener may.
   */
  emitBuilt<E extends EngineEventName>(event: E, build: () => EngineEvents[E]): void {
    if (!this.has(event)) return;
    let payload: EngineEvents[E];
    try {
      payload = build();
    } catch (error) {
      this.warn(`The '${event}' event could not be built`, error);
      return;
    }
    this.#emitter.emit(event, payload);
    this.#internal?.emit(event, payload);
  }

  /** Reports what the engine survived to the logger. */
  warn(message: string, error: unknown): void {
    this.#logger.warn(message, error);
  }

  removeAll(): void {
    this.#emitter.removeAllListeners();
  }

  #wrap(event: string, listener: AnyListener): AnyListener {
    let wrapped = this.#wrappers.get(listener);
    if (wrapped === undefined) {
      const report = (error: unknown): void => this.warn(`A '${event}' listener failed`, error);
      wrapped = (payload) => {
        try {
          const result = listener(payload);
          if (result instanceof Promise) result.catch(report);
        } catch (error) {
          report(error);
        }
      };
      this.#wrappers.set(listener, wrapped);
    }
    return wrapped;
  }
}
