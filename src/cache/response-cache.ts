import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { clockOption, knownKeys, oneOf, plainObject, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { MissCause, Prompt } from '../types.js';
import { validateModel, validatePrompt, validateScope, validateTags } from '../internal/arguments.js';
import type { InvalidationCommand } from '../stores/cache-store.js';
import {
  canonicalParams, fingerprint, fullKey, requestIdentity, resolveHash,
  type HashOption, type RequestIdentity,
} from './cache-key.js';
import { Entry, estimateBytes, isolate, isStorable, type HeaderInfo } from './entry.js';
import { MemoryTier, type RemovalReason } from './memory-tier.js';
import { POLICY_NAMES, type PolicyName } from './policy/policy.js';
import type { AccessPatterns, CacheStats, HitCounter } from './stats.js';
import { CacheStatistics } from './stats.js';
import { elapsedMs } from '../internal/elapsed.js';
import { storedCopy } from '../internal/value-copy.js';

/** Options of {@link ResponseCache} (and `OptimizationEngine`'s `cache` option). */
export interface ResponseCacheOptions {
  /** How long an entry is served, in ms. @default 3_600_000 (one hour) */
  ttlMs?: number;
  /** Most entries held; beyond it the policy evicts one (see `policy`). @default 1000 */
  maxEntries?: number;
  /** Most bytes held (UTF-16 size of prompts and values, approximately). @default Infinity */
  maxBytes?: number;
  /** Largest single entry stored; larger values are returned to the caller but not cached. @default maxBytes */
  maxEntryBytes?: number;
  /**
   * Hash of the canonical request that makes the full key (used by stores and reported in events).
   * `'md5'` reproduces the original service's keys. The in-process lookup never waits for it.
   * @default 'sha256'
   */
  hash?: HashOption;
  /** Source of time in ms. @default a monotonic `Date.now()` */
  clock?: Clock;
  /**
   * What the cache keeps when it is full (see docs/cache-policy.md for the measured hit ratios).
   * `'w-tinylfu'`: a small LRU window, then admission by recent frequency into a segmented LRU, the
   * window resized by a hill climber (Caffeine's design); a new key that loses to a more popular one
   * is refused, and its next miss has the cause `rejected`. `'s3-fifo'`, `'sieve'`: FIFO-based
   * policies; `'lru'`: least recently used.
   * @default 'w-tinylfu'
   * @example new ResponseCache({ maxEntries: 10_000, policy: 'lru' })
   */
  policy?: PolicyName;
}

/** Identifies an entry beyond prompt and model. */
export interface EntryOptions {
  /** Output-affecting settings, part of the key: equal when they are the same JSON data (see `CallOptions.params`). */
  params?: Record<string, unknown>;
  /** Tenant or namespace; entries of different scopes are never shared. @default '' */
  scope?: string;
}

/** Options of {@link ResponseCache.set}. */
export interface SetOptions extends EntryOptions {
  /** Time to live of this entry, in ms. @default the cache's `ttlMs` */
  ttlMs?: number;
  /** Labels for `invalidate({ tag })` (see `CallOptions.tags`). */
  tags?: readonly string[];
}

/** Which entries `invalidate` removes: those matching every field given (at least one). */
export interface InvalidateFilter {
  scope?: string;
  model?: string;
  tag?: string;
}

/** Distinct headers (scope × model × params) kept interned; past it the table starts over (entries keep theirs). */
const MAX_INTERNED = 10_000;

const OPTION_KEYS = ['ttlMs', 'maxEntries', 'maxBytes', 'maxEntryBytes', 'hash', 'clock', 'policy'] as const;

interface ResolvedOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly hash: (text: string) => string;
  readonly clock: Clock;
  readonly policy: PolicyName;
}

/** What the engine needs of a cache beyond its public methods. Not exported from the package. */
export interface CacheInternals {
  readonly clock: Clock;
  identify(prompt: Prompt, model: string, options: EntryOptions | undefined): RequestIdentity;
  /** A fresh entry at time `now` (count it with `countHit`), or undefined (counted as a miss; see `lastMiss`). */
  lookup(id: RequestIdentity, fp: number, now: number): Entry | undefined;
  /** A fresh entry at time `now`, counting nothing (a second look after an await). */
  peek(id: RequestIdentity, fp: number, now: number): Entry | undefined;
  readonly lastMiss: { cause: MissCause; stale: Entry | undefined };
  write(id: RequestIdentity, fp: number, value: unknown, meta: WriteMeta): Entry | undefined;
  /** The cache's current default TTL, in ms (`resize({ ttlMs })` changes it). */
  ttlMs(): number;
  keyOf(entry: Entry): string;
  keyFor(id: RequestIdentity): string;
  countHit(entry: Entry): void;
  onRemove: ((entry: Entry, reason: RemovalReason) => void) | undefined;
  /** Every entry, most recently used first (for snapshots). */
  entries(): Iterable<Entry>;
  /** Tags an entry was written with (empty for most). */
  tagsOf(entry: Entry): readonly string[];
  /** Removes the in-process entries a command names; returns how many. */
  invalidate(command: InvalidationCommand): number;
}

export interface WriteMeta {
  ttlMs?: number | undefined;
  execMs?: number;
  tokens?: number;
  key?: string | undefined;
  tags?: readonly string[] | undefined;
  /** Store `value` itself, not a copy (`values: 'shared'`). */
  shared?: boolean;
}

const internalsOf = new WeakMap<ResponseCache, CacheInternals>();

/** @internal The engine's view of a cache. */
export function cacheInternals(cache: ResponseCache): CacheInternals {
  return internalsOf.get(cache) as CacheInternals;
}

/**
 * An in-process cache of model answers (W-TinyLFU by default, see the `policy` option) with TTL, bounds on entries and bytes, hit and miss
 * statistics and access-pattern analysis. Usable alone; `OptimizationEngine` owns one as `engine.cache`.
 *
 * @example
 * ```ts
 * const cache = new ResponseCache({ ttlMs: 60_000, maxEntries: 500 });
 * cache.set('Summarise: …', 'llama3.1:8b', answer, { params: { temperature: 0 } });
 * cache.get('Summarise: …', 'llama3.1:8b', { params: { temperature: 0 } }); // → answer
 * ```
 */
export class ResponseCache {
  // Replaced (never mutated) by `resize({ ttlMs })`; closures that captured it read only its clock and hash.
  #options: ResolvedOptions;
  readonly #tier: MemoryTier;
  readonly #stats = new CacheStatistics();
  readonly #internals: CacheInternals;
  readonly #headers = new Map<string, HeaderInfo>();
  /** Tags of the entries written with some; untagged entries (most) pay nothing for the feature. */
  readonly #tagged = new Map<Entry, readonly string[]>();
  readonly #epoch: number;

  constructor(options: ResponseCacheOptions = {}) {
    this.#options = resolveOptions(options);
    this.#epoch = this.#options.clock.now();
    const { maxEntries, maxBytes, policy } = this.#options;
    this.#tier = new MemoryTier({ maxEntries, maxBytes }, (entry, reason) => {
      this.#stats.noteRemoval(reason);
      if (this.#tagged.size !== 0) this.#tagged.delete(entry);
      this.#internals.onRemove?.(entry, reason);
    }, { policy });
    this.#internals = this.#createInternals();
    internalsOf.set(this, this.#internals);
  }

  /** The resolved options (frozen). */
  get options(): Readonly<Omit<ResolvedOptions, 'hash'>> {
    return this.#options;
  }

  /** Entries held (expired ones included until they are overwritten or evicted). */
  get size(): number {
    return this.#tier.size;
  }

  /** The cached value, or `undefined` when there is none or it has expired. Counts a hit or a miss. */
  get<T = unknown>(prompt: Prompt, model: string, options?: EntryOptions): T | undefined {
    const id = this.#internals.identify(prompt, model, options);
    const entry = this.#internals.lookup(id, fingerprint(id), this.#options.clock.now());
    if (entry === undefined) return undefined;
    this.#internals.countHit(entry);
    return isolate(entry.value) as T;
  }

  /** Stores a value. Returns false when it was not stored (too large for `maxEntryBytes`, or not cloneable). */
  set(prompt: Prompt, model: string, value: unknown, options?: SetOptions): boolean {
    const id = this.#internals.identify(prompt, model, options);
    const ttlMs = options?.ttlMs === undefined ? undefined : positiveNumber('ttlMs', options.ttlMs, 0);
    const tags = validateTags(options?.tags);
    return this.#internals.write(id, fingerprint(id), value, { ttlMs, tags }) !== undefined;
  }

  /** Removes an entry; true when there was one. */
  delete(prompt: Prompt, model: string, options?: EntryOptions): boolean {
    const id = this.#internals.identify(prompt, model, options);
    const entry = this.#tier.find(id);
    if (entry === undefined) return false;
    this.#tier.remove(entry, 'delete');
    return true;
  }

  /**
   * Removes every entry, or with `scope` every entry of that scope. Statistics are kept. In-process
   * only: `engine.clear()` also clears the shared store and reaches every replica.
   */
  clear(options: { scope?: string } = {}): void {
    const record = plainObject('options', options) ?? {};
    knownKeys('options', record, ['scope']);
    if (options.scope === undefined) this.#tier.clear();
    else this.#internals.invalidate({ type: 'match', scope: validateScope(options.scope) });
  }

  /**
   * Removes every entry matching all the fields given: of a scope, of a model, carrying a tag.
   * Returns how many were removed. In-process only: `engine.invalidate()` also reaches the shared
   * store and every replica.
   */
  invalidate(filter: InvalidateFilter): number {
    return this.#internals.invalidate(matchCommand(filter));
  }

  /**
   * Changes the bounds or the default TTL at run time (the auto-optimizer uses this); evicts at once
   * when over the bounds. A new `ttlMs` applies to entries written from now on; `maxBytes: Infinity`
   * removes the byte bound.
   */
  resize(limits: { maxEntries?: number; maxBytes?: number; ttlMs?: number }): void {
    const maxEntries = positiveInteger('maxEntries', limits.maxEntries, this.#tier.limits.maxEntries);
    const maxBytes = limits.maxBytes === Infinity ? Infinity : positiveNumber('maxBytes', limits.maxBytes, this.#tier.limits.maxBytes);
    const ttlMs = positiveNumber('ttlMs', limits.ttlMs, this.#options.ttlMs);
    this.#tier.resize({ maxEntries, maxBytes });
    if (ttlMs !== this.#options.ttlMs) this.#options = Object.freeze({ ...this.#options, ttlMs });
  }

  /** Counters since the cache was created. */
  getStats(): CacheStats {
    return this.#stats.snapshot({
      size: this.#tier.size,
      bytes: this.#tier.bytes,
      maxEntries: this.#tier.limits.maxEntries,
      maxBytes: this.#tier.limits.maxBytes,
      ttlMs: this.#options.ttlMs,
    });
  }

  /** Hot keys, hit rates per model and per scope, and why misses happened. */
  analyzeAccessPatterns(options: { top?: number } = {}): AccessPatterns {
    const top = positiveInteger('top', options.top, 10);
    const now = this.#options.clock.now();
    const tier = this.#tier;
    const hot = [...tier.entries()].map((e) => ({ e, hits: tier.hitsOf(e) })).filter((h) => h.hits > 0).sort((a, b) => b.hits - a.hits).slice(0, top);
    return this.#stats.patterns(
      hot.map(({ e, hits }) => ({ key: this.#internals.keyOf(e), model: e.model, scope: e.scope, hits, ageMs: elapsedMs(e.createdAt, now) })),
    );
  }

  #createInternals(): CacheInternals {
    const options = this.#options;
    const tier = this.#tier;
    const stats = this.#stats;
    const lastMiss: { cause: MissCause; stale: Entry | undefined } = { cause: 'new', stale: undefined };
    const keyOf = (entry: Entry): string => (entry.key ??= fullKey(entry, options.hash));
    return {
      clock: options.clock,
      onRemove: undefined,
      lastMiss,
      keyOf,
      keyFor: (id) => fullKey(id, options.hash),
      identify: (prompt, model, entryOptions) => identify(prompt, model, entryOptions),
      peek(id, fp, now) {
        const entry = tier.find(id, fp);
        return entry !== undefined && entry.isFresh(now) ? entry : undefined;
      },
      lookup(id, fp, now) {
        const entry = tier.find(id, fp, true);
        if (entry !== undefined && entry.isFresh(now)) return entry;
        lastMiss.stale = entry;
        if (entry !== undefined) tier.noteExpired(entry);
        lastMiss.cause = entry === undefined ? tier.miss(fp) : 'expired';
        stats.countMiss(id.model, id.scope, lastMiss.cause);
        return undefined;
      },
      countHit(entry) {
        tier.countHit(entry);
        stats.countHit(entry.info.counters, entry.execMs, entry.tokens);
      },
      write: (id, fp, value, meta) => this.#write(id, fp, value, meta),
      ttlMs: () => this.#options.ttlMs,
      entries: () => tier.entries(),
      tagsOf: (entry) => this.#tagged.get(entry) ?? NO_TAGS,
      invalidate: (command) => this.#invalidate(command, keyOf),
    };
  }

  #invalidate(command: InvalidationCommand, keyOf: (entry: Entry) => string): number {
    if (command.type === 'match' && command.scope === undefined && command.model === undefined && command.tag === undefined) {
      const size = this.#tier.size;
      this.#tier.clear();
      return size;
    }
    const doomed: Entry[] = [];
    if (command.type === 'keys') {
      const keys = new Set(command.keys);
      for (const entry of this.#tier.entries()) if (keys.has(entry.key ?? keyOf(entry))) doomed.push(entry);
    } else {
      // By tag, only tagged entries are looked at.
      const candidates = command.tag === undefined ? this.#tier.entries() : this.#tagged.keys();
      for (const entry of candidates) if (matches(entry, command, this.#tagged.get(entry))) doomed.push(entry);
    }
    for (const entry of doomed) this.#tier.remove(entry, 'delete');
    return doomed.length;
  }

  /** The shared header of entries like `id`, interned so 100 000 entries of one model hold one copy. */
  #info(id: RequestIdentity): HeaderInfo {
    let info = this.#headers.get(id.header);
    if (info === undefined) {
      if (this.#headers.size >= MAX_INTERNED) this.#headers.clear();
      const counters = this.#stats.countersFor(id.model, id.scope);
      info = Object.freeze({ header: id.header, model: id.model, scope: id.scope, epoch: this.#epoch, counters });
      this.#headers.set(id.header, info);
    }
    return info;
  }

  #write(id: RequestIdentity, fp: number, value: unknown, meta: WriteMeta): Entry | undefined {
    const bytes = estimateBytes(id.header, id.text, value);
    const old = this.#tier.find(id, fp);
    if (old !== undefined) this.#tier.remove(old, 'overwrite');
    // Unmeasurable (cyclic, BigInt) or unfaithfully copyable values are served but never stored.
    if (!Number.isFinite(bytes) || bytes > this.#options.maxEntryBytes || !isStorable(value)) return undefined;
    let stored: unknown = value;
    try {
      stored = meta.shared === true ? value : storedCopy(value);
    } catch {
      return undefined;
    }
    const ttlMs = meta.ttlMs ?? this.#options.ttlMs;
    const execMs = Math.max(0, Math.round(meta.execMs ?? 0));
    const entry = new Entry(this.#info(id), id.text, stored, this.#options.clock.now(), ttlMs, execMs, meta.tokens ?? 0);
    // Kept only when given (the engine gives it with a shared store): an invalidation from another
    // replica names entries by key, and finding them must not hash every prompt held.
    if (meta.key !== undefined) entry.key = meta.key;
    // Before the insert: an entry evicted at once (larger than the byte budget) is untagged by its removal.
    if (meta.tags !== undefined && meta.tags.length > 0) this.#tagged.set(entry, meta.tags);
    this.#tier.insert(entry, fp, bytes);
    this.#stats.countWrite();
    return entry;
  }
}

const NO_TAGS: readonly string[] = Object.freeze([]);

function matches(entry: Entry, command: { scope?: string; model?: string; tag?: string }, tags: readonly string[] | undefined): boolean {
  return (command.scope === undefined || entry.scope === command.scope)
    && (command.model === undefined || entry.model === command.model)
    && (command.tag === undefined || (tags?.includes(command.tag) ?? false));
}

/** A filter given by a caller, checked: at least one field, each a string (a model non-empty). */
export function matchCommand(filter: unknown): InvalidationCommand & { type: 'match' } {
  const record = plainObject('filter', filter);
  knownKeys('filter', record, ['scope', 'model', 'tag']);
  const { scope, model, tag } = (record ?? {}) as InvalidateFilter;
  if (scope === undefined && model === undefined && tag === undefined) {
    throw new TypeError('`filter` must name at least one of `scope`, `model` and `tag` (use `clear()` to remove everything)');
  }
  if (model !== undefined) validateModel(model);
  if (tag !== undefined) validateTags([tag], 'tag');
  return {
    type: 'match',
    ...(scope === undefined ? {} : { scope: validateScope(scope) }),
    ...(model === undefined ? {} : { model }),
    ...(tag === undefined ? {} : { tag }),
  };
}

function identify(prompt: Prompt, model: string, options: EntryOptions | undefined): RequestIdentity {
  validatePrompt(prompt);
  validateModel(model);
  const scope = validateScope(options?.scope);
  return requestIdentity(prompt, model, scope, canonicalParams(plainObject('params', options?.params)));
}

function resolveOptions(options: ResponseCacheOptions): ResolvedOptions {
  const record = plainObject('cache', options) ?? {};
  knownKeys('cache', record, OPTION_KEYS);
  const maxBytes = positiveNumber('maxBytes', options.maxBytes, Number.POSITIVE_INFINITY);
  const hash = options.hash;
  if (typeof hash !== 'function') oneOf('hash', hash, ['sha256', 'md5'], 'sha256');
  return Object.freeze({
    ttlMs: positiveNumber('ttlMs', options.ttlMs, 3_600_000),
    maxEntries: positiveInteger('maxEntries', options.maxEntries, 1000),
    maxBytes,
    maxEntryBytes: positiveNumber('maxEntryBytes', options.maxEntryBytes, maxBytes),
    hash: resolveHash(hash ?? 'sha256'),
    clock: clockOption('clock', options.clock) ?? systemClock,
    policy: oneOf('policy', options.policy, POLICY_NAMES, 'w-tinylfu'),
  });
}

export type { HitCounter };
