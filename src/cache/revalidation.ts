import type { Call } from '../call-path.js';
import type { Clock } from '../clock.js';
import type { EventHub, RefreshReason } from '../events.js';
import { elapsedMs } from '../internal/elapsed.js';
import type { Entry } from './entry.js';
import type { Envelope } from './envelope.js';
import type { ResolvedFreshness } from './freshness.js';
import type { CacheInternals } from './response-cache.js';
import type { Flight, SingleFlight } from './single-flight.js';
import type { StoreTier } from './tiered.js';

/** What the freshness machinery did (engine stats: `stale_served`, `background_refreshes`…). */
export interface FreshnessCounts {
  /** Calls answered with an expired entry (grace, soft timeout, stale-if-error). */
  staleServed: number;
  /** Background refreshes started, by reason. */
  refreshes: Record<RefreshReason, number>;
  /** Background refreshes that failed (the old entry stayed until its grace ended). */
  refreshFailures: number;
  /** Refreshes not started because `maxBackgroundRefreshes` were running. */
  refreshesSkipped: number;
}

/** What `wait` answers when the soft timeout passed first. */
export const SOFT = Symbol('soft timeout');

export interface RevalidationDeps {
  readonly internals: CacheInternals;
  readonly clock: Clock;
  readonly events: EventHub;
  readonly tier2: StoreTier | undefined;
  readonly freshness: ResolvedFreshness;
  readonly flights: SingleFlight<unknown>;
  /** Flights answered by another instance through the store (the call path reports their callers as coalesced). */
  readonly answeredByStore: WeakMap<Flight<unknown>, Envelope>;
  /** Runs `exec` for a flight and stores its answer (the call path's `#run`). */
  readonly run: (call: Call<unknown>, flight: Flight<unknown>) => Promise<unknown>;
}

/**
 * Background work that keeps answers fresh (ADR 0065): refreshes of stale or nearly expired entries,
 * and computations a caller left to finish after a soft timeout. Each is a single-flight computation
 * holding its own place among the flight's waiters; each ends in one `cache-refresh` event.
 */
export class Revalidation {
  readonly counts: FreshnessCounts = { staleServed: 0, refreshes: { grace: 0, ahead: 0, 'soft-timeout': 0 }, refreshFailures: 0, refreshesSkipped: 0 };
  readonly #deps: RevalidationDeps;
  /** Background refreshes running or queued. */
  #background = 0;
  /** Flights counted as background work (once each, however many callers left them to it). */
  readonly #tracked = new WeakSet<Flight<unknown>>();

  constructor(deps: RevalidationDeps) {
    this.#deps = deps;
  }

  /**
   * Refreshes `entry` in the background, once per key: nothing starts when a computation of the key
   * is in flight already (a caller's miss, or another refresh), and a caller missing the key later
   * joins this one. The refresh holds its own place among the flight's waiters, so callers that join
   * and leave never abort it; `close()` does. It runs under the throttle like any model call, at most
   * `maxBackgroundRefreshes` at once. It never rejects: its end is a `cache-refresh` event.
   */
  start(call: Call<unknown>, entry: Entry, reason: RefreshReason): void {
    const key = call.key ?? this.#deps.internals.keyFor(call.id);
    call.key = key;
    const running = this.#deps.flights.get(key) !== undefined;
    if (!running && this.#background >= this.#deps.freshness.maxBackgroundRefreshes) {
      this.counts.refreshesSkipped++;
      this.#ended(call, key, reason, 'skipped', this.#deps.clock.now());
      return;
    }
    if (call.status !== undefined) call.status.revalidating = true;
    if (running) return;
    const refresh: Call<unknown> = { ...call, status: undefined, signal: undefined, stale: entry, mode: 'default' };
    const flight = this.#deps.flights.start(key, (f) => this.#run(refresh, f, entry, reason));
    flight.waiters++;
    this.track(refresh, flight, reason);
  }

  /** Counts a background computation and reports its end; its rejection is handled here. */
  track(call: Call<unknown>, flight: Flight<unknown>, reason: RefreshReason): void {
    if (this.#tracked.has(flight)) return;
    this.#tracked.add(flight);
    const started = this.#deps.clock.now();
    this.#background++;
    this.counts.refreshes[reason]++;
    flight.promise.then(
      () => {
        // Stored here, or promoted from the store: either way a newer entry than the one refreshed.
        const entry = this.#deps.internals.peek(call.id, call.fp, this.#deps.clock.now());
        this.#ended(call, flight.key, reason, entry !== undefined && entry.createdAt >= started ? 'stored' : 'not-stored', started);
      },
      (error: unknown) => {
        this.counts.refreshFailures++;
        this.#ended(call, flight.key, reason, 'error', started, error);
      },
    ).finally(() => this.#background--);
  }

  #ended(call: Call<unknown>, key: string, reason: RefreshReason, outcome: 'stored' | 'not-stored' | 'error' | 'skipped', started: number, error?: unknown): void {
    if (!this.#deps.events.has('cache-refresh')) return;
    const durationMs = elapsedMs(started, this.#deps.clock.now());
    this.#deps.events.emit('cache-refresh', {
      model: call.model, scope: call.id.scope, key, reason, outcome, durationMs, ...(outcome === 'error' ? { error } : {}),
    });
  }

  /**
   * A background refresh: the shared store first (another replica may have refreshed the entry),
   * then `exec` under the store's lock. Ahead of expiry, the store's copy counts only if it outlives
   * the entry being refreshed by far (otherwise it is that same answer, about to expire too).
   */
  async #run(call: Call<unknown>, flight: Flight<unknown>, entry: Entry, reason: RefreshReason): Promise<unknown> {
    const tier2 = this.#deps.tier2;
    const key = flight.key;
    if (tier2 === undefined) return this.#deps.run(call, flight);
    const fresher = (): boolean => {
      if (reason !== 'ahead') return true;
      const now = this.#deps.clock.now();
      const promoted = this.#deps.internals.peek(call.id, call.fp, now);
      return promoted !== undefined && promoted.expiresAt - now > 2 * Math.max(0, entry.expiresAt - now);
    };
    const answered = (found: Envelope): void => void this.#deps.answeredByStore.set(flight, found);
    const found = await tier2.read(key, call.id, call.fp, flight.controller.signal);
    if (found !== undefined && fresher()) {
      answered(found);
      return found.value;
    }
    return tier2.compute(key, call.id, call.fp, flight.controller.signal, () => this.#deps.run(call, flight), answered, fresher);
  }

  /**
   * Waits for a flight; with `softTimeoutMs` and an expired entry at hand, answers with that entry
   * once the wait passes it (`SOFT`): the computation goes on in the background, holding its own
   * place among the waiters so that this caller leaving later does not abort it, and stores its answer.
   */
  async wait<T>(call: Call<T>, flight: Flight<T>): Promise<T | typeof SOFT> {
    const wait = (this.#deps.flights as SingleFlight<T>).wait(flight, call.signal);
    const { stale, softTimeoutMs } = call;
    if (stale === undefined || softTimeoutMs === undefined || call.mode !== 'default') return wait;
    let timer: NodeJS.Timeout | undefined;
    // Not unref'd: the caller waits on it.
    const soft = new Promise<typeof SOFT>((resolve) => (timer = setTimeout(() => resolve(SOFT), softTimeoutMs)));
    try {
      const first = await Promise.race([wait, soft]);
      if (first !== SOFT) return first;
    } finally {
      clearTimeout(timer);
    }
    wait.catch(() => undefined);
    flight.waiters++;
    if (call.status !== undefined) call.status.revalidating = true;
    this.track(call, flight, 'soft-timeout');
    return SOFT;
  }

}
