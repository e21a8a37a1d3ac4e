import type { CacheInternals } from '../cache/response-cache.js';
import type { Entry } from '../cache/entry.js';
import type { Envelope } from '../cache/envelope.js';
import type { Clock } from '../clock.js';
import type { Call } from '../call-path.js';
import { OptimizerError } from '../errors.js';
import type { EventHub } from '../events.js';
import { oneOf, plainObject, describe } from '../internal/validate.js';
import type { SelfHealing } from '../optimizer/self-heal.js';
import type { Throttle } from '../optimizer/throttle.js';
import type { CallOptions, CallOutcome, ExecFunction, MissCause, Prompt, TokenUsage } from '../types.js';
import { DeferredStream } from './deferred-stream.js';
import { failedSource, replaySource, StreamConsumer, type ConsumerEnd } from './stream-consumer.js';
import { StreamFlight } from './stream-flight.js';
import type { OptimizedStream, ReplayMode, StreamCallOptions, StreamExecFunction } from './types.js';

/**
 * The params key that keeps stream entries apart from `optimizeAiCall` entries of the same request:
 * one holds a chunk list, the other a single value.
 */
export const STREAM_PARAM = 'llmoe:stream';

/** What the stream path needs of the engine: its cache, clock, events and throttle, and its call bookkeeping. */
export interface StreamHost {
  readonly internals: CacheInternals;
  readonly clock: Clock;
  readonly events: EventHub;
  readonly throttle: Throttle;
  /** The engine's circuit breakers and retries, which every upstream stream goes through. */
  readonly healing: SelfHealing;
  prepare(prompt: Prompt, model: string, exec: ExecFunction<unknown>, options: CallOptions): Call<unknown>;
  /** Counts and records a hit (a stale one: not counted) and returns a private copy of the value. */
  hit(call: Call<unknown>, entry: Entry, stale: boolean): unknown;
  end(call: Call<unknown>, outcome: CallOutcome, now: number, key: string | undefined, usage?: TokenUsage): void;
  fail(call: Call<unknown>, error: unknown): void;
  store(call: Call<unknown>, value: unknown, execMs: number, usage: TokenUsage): Entry | undefined;
  /** Adds what a coalesced call saved to the engine's savings. */
  saved(durationMs: number, usage: TokenUsage | undefined): void;
  /** Reads the call's key from the shared store (a hit is promoted to L1); `undefined` when there is no store. */
  readShared(call: Call<unknown>, signal: AbortSignal): Promise<Envelope | undefined> | undefined;
  /** Records a hit served from the shared store and returns a private copy of its value. */
  storeHit(call: Call<unknown>, found: Envelope): unknown;
  /** Writes a stored answer to the shared store as well (fire-and-forget, fail-open; nothing without a store). */
  share(call: Call<unknown>, value: unknown, execMs: number, usage: TokenUsage): void;
  /** The model a stream runs: the call's own, or the tier its route picks (a stream is routed by rules; a cascade streams its small tier). */
  tierOf(call: Call<unknown>): string;
}

type Role = 'miss' | 'coalesced' | 'bypass';

/** One consumer of a live flight and whether its call was recorded yet. */
interface Member {
  readonly call: Call<unknown>;
  readonly role: Role;
  consumer: StreamConsumer<unknown> | undefined;
  recorded: boolean;
  fellBack: boolean;
  onAbort: (() => void) | undefined;
}

type Admission = (chunks: readonly unknown[]) => boolean;

/**
 * `optimizeAiStream`: looks a stream up in the engine's cache (a hit replays the stored chunk
 * list), joins an identical stream in flight, or starts one, and stores complete streams.
 */
export class StreamCalls {
  readonly #host: StreamHost;
  readonly #flights = new Map<string, StreamFlight<unknown>>();
  readonly #members = new Map<StreamFlight<unknown>, Set<Member>>();
  readonly #offsets = new WeakMap<Entry, readonly number[]>();
  /** Shared-store reads in progress, each ended by `abortAll`. */
  readonly #lookups = new Set<AbortController>();

  constructor(host: StreamHost) {
    this.#host = host;
  }

  open<C>(prompt: Prompt, model: string, exec: StreamExecFunction<C>, options: StreamCallOptions<C>): OptimizedStream<C> {
    let call: Call<unknown>;
    let replay: ReplayMode;
    let admit: Admission;
    try {
      replay = oneOf('replay', options.replay, ['instant', 'original'], 'instant');
      admit = admission(options.isComplete as Admission | undefined);
      const params = { ...plainObject('params', options.params), [STREAM_PARAM]: true };
      call = this.#host.prepare(prompt, model, exec, { ...options, params });
    } catch (error) {
      return failed(error);
    }
    try {
      return this.#lookup(call, exec as StreamExecFunction<unknown>, admit, replay) as OptimizedStream<C>;
    } catch (error) {
      // A custom hash run for the key may throw; `optimizeAiStream` still returns a stream that fails.
      return failed(error);
    }
  }

  #lookup(call: Call<unknown>, exec: StreamExecFunction<unknown>, admit: Admission, replay: ReplayMode): OptimizedStream<unknown> {
    if (call.mode === 'default' || call.mode === 'only-if-cached') {
      const entry = this.#host.internals.lookup(call.id, call.fp, call.start);
      if (entry !== undefined) return this.#replay(call, entry, replay, false);
      call.stale = this.#host.internals.lastMiss.stale;
      call.missCause = this.#host.internals.lastMiss.cause;
    }
    return this.#miss(call, exec, admit, replay);
  }

  /** Ends every stream in flight with `reason` (the engine is closing). */
  abortAll(reason: unknown): void {
    for (const lookup of [...this.#lookups]) lookup.abort(reason);
    for (const flight of [...this.#members.keys()]) flight.cancel(reason);
  }

  #replay(call: Call<unknown>, entry: Entry, replay: ReplayMode, stale: boolean): OptimizedStream<unknown> {
    if (stale && call.status !== undefined) call.status.stale = true;
    const chunks = asChunks(this.#host.hit(call, entry, stale));
    return new StreamConsumer(replaySource(chunks, this.#offsets.get(entry)), noop, Promise.resolve(), { replay, signal: call.signal });
  }

  #miss(call: Call<unknown>, exec: StreamExecFunction<unknown>, admit: Admission, replay: ReplayMode): OptimizedStream<unknown> {
    const { internals } = this.#host;
    const key = internals.keyFor(call.id);
    call.key = key;
    if (call.status !== undefined) call.status.key = key;
    if (call.mode === 'bypass') return this.#attach(call, this.#start(call, exec, admit, undefined), 'bypass');
    const cause = call.mode === 'refresh' ? 'refresh' : call.missCause;
    const fetch = (): OptimizedStream<unknown> => this.#fetch(call, exec, admit, replay, cause);
    if (call.mode === 'refresh' || this.#flights.has(key)) return fetch();
    return this.#readShared(call, replay, fetch) ?? fetch();
  }

  /**
   * L1 missed and no identical stream is in flight here: read the shared store first (within its
   * deadline, fail-open). A hit replays the stored chunk list (now also in L1); a miss goes on to
   * `fetch`. Undefined when there is no store.
   */
  #readShared(call: Call<unknown>, replay: ReplayMode, fetch: () => OptimizedStream<unknown>): OptimizedStream<unknown> | undefined {
    const lookup = new AbortController();
    const read = this.#host.readShared(call, lookup.signal);
    if (read === undefined) return undefined;
    const { signal } = call;
    const onAbort = (): void => lookup.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#lookups.add(lookup);
    const pending = read
      .then((found) => {
        lookup.signal.throwIfAborted();
        if (found === undefined) return fetch();
        const chunks = asChunks(this.#host.storeHit(call, found));
        return new StreamConsumer(replaySource(chunks), noop, Promise.resolve(), { replay, signal });
      })
      .catch((error: unknown) => {
        this.#host.fail(call, error);
        return failed(error);
      })
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        this.#lookups.delete(lookup);
      });
    return new DeferredStream(pending, lookup);
  }

  #fetch(call: Call<unknown>, exec: StreamExecFunction<unknown>, admit: Admission, replay: ReplayMode, cause: MissCause): OptimizedStream<unknown> {
    const { events } = this.#host;
    const key = call.key ?? '';
    if (call.status !== undefined) call.status.missCause = cause;
    if (events.has('cache-miss')) events.emit('cache-miss', { key, model: call.model, scope: call.id.scope, cause });
    if (call.mode === 'only-if-cached') {
      if (call.stale !== undefined && (call.options.staleIfError ?? call.arm?.settings.staleIfError) === true) return this.#replay(call, call.stale, replay, true);
      const error = new OptimizerError('ERR_NOT_CACHED', `No cached stream for this request (key ${key}) and \`cache\` is 'only-if-cached'`);
      this.#host.fail(call, error);
      return failed(error);
    }
    const flight = this.#flights.get(key);
    if (flight === undefined) return this.#attach(call, this.#start(call, exec, admit, key), 'miss');
    if (events.has('call-coalesce')) {
      events.emit('call-coalesce', { key, model: call.model, scope: call.id.scope, waiters: flight.consumers + 1 });
    }
    return this.#attach(call, flight, 'coalesced');
  }

  #start(call: Call<unknown>, exec: StreamExecFunction<unknown>, admit: Admission, key: string | undefined): StreamFlight<unknown> {
    const { clock, throttle, healing } = this.#host;
    const flight = new StreamFlight<unknown>(clock, (f) => this.#settled(f, call, admit, key));
    if (key !== undefined) this.#flights.set(key, flight);
    this.#members.set(flight, new Set());
    const model = this.#host.tierOf(call);
    flight.start(
      (signal, usage) => exec(call.prompt, model, {
        signal, key: call.key ?? '', wantsLogprobs: false, reportUsage: (u) => Object.assign(usage, u), reportLogprobs: () => undefined,
      }),
      (work, signal) => throttle.run(work, signal),
      (attempt, signal, delivered) => healing.runStream(model, attempt, signal, delivered),
    );
    return flight;
  }

  #attach(call: Call<unknown>, flight: StreamFlight<unknown>, role: Role): OptimizedStream<unknown> {
    const member: Member = { call, role, consumer: undefined, recorded: false, fellBack: false, onAbort: undefined };
    flight.join();
    this.#members.get(flight)?.add(member);
    const ready = flight.ready.then(undefined, (error: unknown) => (member.fellBack ? undefined : Promise.reject(error)));
    ready.catch(() => undefined);
    const { signal } = call;
    const consumer = new StreamConsumer(flight, (how, error) => this.#left(flight, member, how, error), ready, { signal });
    member.consumer = consumer;
    // While the flight runs, an abort must reach a consumer that is not reading (so that it leaves
    // and the upstream can stop); once the flight has settled, the consumer checks the signal itself.
    if (signal !== undefined) {
      member.onAbort = () => consumer.abort(signal.reason);
      signal.addEventListener('abort', member.onAbort, { once: true });
    }
    return consumer;
  }

  /** A consumer stopped reading: record its call if the flight has not, and let the flight go if it was the last. */
  #left(flight: StreamFlight<unknown>, member: Member, how: ConsumerEnd, error: unknown): void {
    if (member.onAbort !== undefined) member.call.signal?.removeEventListener('abort', member.onAbort);
    this.#members.get(flight)?.delete(member);
    if (!member.recorded) {
      member.recorded = true;
      if (how === 'abort') this.#host.fail(member.call, error);
      else this.#host.end(member.call, member.role, this.#host.clock.now(), member.call.key, member.role === 'coalesced' ? undefined : flight.usage);
    }
    flight.leave();
  }

  #settled(flight: StreamFlight<unknown>, call: Call<unknown>, admit: Admission, key: string | undefined): void {
    if (key !== undefined && this.#flights.get(key) === flight) this.#flights.delete(key);
    const members = this.#members.get(flight) ?? new Set<Member>();
    this.#members.delete(flight);
    if (flight.state === 'done' && key !== undefined) this.#admit(flight, call, admit);
    const now = this.#host.clock.now();
    for (const member of members) {
      // Whatever the end, drop the abort listener now: a long-lived caller signal would otherwise keep
      // the flight and its chunks alive for a consumer that is never read again.
      if (member.onAbort !== undefined) member.call.signal?.removeEventListener('abort', member.onAbort);
      if (member.recorded) continue;
      member.recorded = true;
      if (flight.state === 'done') this.#record(member, flight, now);
      else this.#failed(member, flight.error);
    }
  }

  #admit(flight: StreamFlight<unknown>, call: Call<unknown>, admit: Admission): void {
    let complete: boolean;
    try {
      complete = admit(flight.chunks);
    } catch {
      complete = false;
    }
    if (!complete) {
      if (call.status !== undefined) call.status.stored = false;
      return;
    }
    const entry = this.#host.store(call, flight.chunks, flight.durationMs, flight.usage);
    if (entry !== undefined) this.#offsets.set(entry, flight.offsetsMs);
    this.#host.share(call, flight.chunks, flight.durationMs, flight.usage);
  }

  #record(member: Member, flight: StreamFlight<unknown>, now: number): void {
    const { call, role } = member;
    if (role === 'coalesced') {
      this.#host.saved(flight.durationMs, flight.usage);
      this.#host.end(call, 'coalesced', now, call.key);
    } else {
      this.#host.end(call, role, now, call.key, flight.usage);
    }
  }

  /** The flight failed: serve a stale entry where allowed and nothing was read yet, else record the error. */
  #failed(member: Member, error: unknown): void {
    const { call, consumer } = member;
    const stale = call.stale;
    if (stale !== undefined && (call.options.staleIfError ?? call.arm?.settings.staleIfError) === true && consumer?.unread === true) {
      if (call.status !== undefined) call.status.stale = true;
      consumer.fallBackTo(replaySource(asChunks(this.#host.hit(call, stale, true)), this.#offsets.get(stale)));
      member.fellBack = true;
      return;
    }
    this.#host.fail(call, error);
  }
}

function noop(): void {}

function failed<C>(error: unknown): OptimizedStream<C> {
  const ready = Promise.reject(error);
  ready.catch(() => undefined);
  return new StreamConsumer<C>(failedSource(error), noop, ready);
}

function asChunks(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [value];
}

function admission(isComplete: Admission | undefined): Admission {
  // Without `isComplete` the generic path cannot see truncation; it can at least refuse an empty stream.
  if (isComplete === undefined) return (chunks) => chunks.length > 0;
  if (typeof isComplete !== 'function') throw new TypeError(`\`isComplete\` must be a function, received ${describe(isComplete)}`);
  return isComplete;
}
