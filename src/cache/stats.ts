import type { MissCause } from '../types.js';
import type { RemovalReason } from './memory-tier.js';
import { BoundedLabels } from '../internal/bounded-labels.js';

/** Hits and misses of one model or scope. */
export interface HitCounter {
  hits: number;
  misses: number;
  hit_rate_percent: number;
}

/** `ResponseCache.getStats()`. */
export interface CacheStats {
  size: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 when there were none. */
  hitRate: number;
  writes: number;
  evictions: number;
  /** Misses by cause: never cached, cached but expired, cached but evicted, cached but refused admission by the policy. */
  missCauses: Record<Exclude<MissCause, 'refresh'>, number>;
  /** Sum over hits of the exec time that produced each entry, in ms. */
  timeSavedMs: number;
  /** Sum over hits of the tokens the producing call used (when usage was reported). */
  tokensSaved: number;
}

/** One frequently hit entry. Only its key: never the prompt or the value. */
export interface HotKey {
  key: string;
  model: string;
  scope: string;
  hits: number;
  ageMs: number;
}

/** `ResponseCache.analyzeAccessPatterns()`. */
export interface AccessPatterns {
  hotKeys: HotKey[];
  byModel: Record<string, HitCounter>;
  byScope: Record<string, HitCounter>;
  missCauses: CacheStats['missCauses'];
  /** Share of misses per cause, in percent. */
  missCausePercent: CacheStats['missCauses'];
}

interface Counter {
  hits: number;
  misses: number;
}

export function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100;
}

/** The counters of a ResponseCache. */
export class CacheStatistics {
  hits = 0;
  misses = 0;
  writes = 0;
  evictions = 0;
  timeSavedMs = 0;
  tokensSaved = 0;
  readonly missCauses = { new: 0, expired: 0, evicted: 0, rejected: 0 };
  readonly #byModel = new BoundedLabels<Counter>(MAX_NAMES, newCounter);
  readonly #byScope = new BoundedLabels<Counter>(MAX_NAMES, newCounter);

  /** The per-model and per-scope counters of a header, for `countHit`. */
  countersFor(model: string, scope: string): { model: Counter; scope: Counter } {
    return { model: this.#byModel.get(model), scope: this.#byScope.get(scope) };
  }

  countHit(counters: { model: { hits: number }; scope: { hits: number } }, execMs: number, tokens: number): void {
    this.hits++;
    this.timeSavedMs += execMs;
    this.tokensSaved += tokens;
    counters.model.hits++;
    counters.scope.hits++;
  }

  countMiss(model: string, scope: string, cause: MissCause): void {
    this.misses++;
    if (cause !== 'refresh') this.missCauses[cause]++;
    this.#byModel.get(model).misses++;
    this.#byScope.get(scope).misses++;
  }

  countWrite(): void {
    this.writes++;
  }

  noteRemoval(reason: RemovalReason): void {
    if (reason === 'evict') this.evictions++;
  }

  snapshot(state: Pick<CacheStats, 'size' | 'bytes' | 'maxEntries' | 'maxBytes' | 'ttlMs'>): CacheStats {
    return {
      ...state,
      hits: this.hits,
      misses: this.misses,
      hitRate: this.hits + this.misses === 0 ? 0 : this.hits / (this.hits + this.misses),
      writes: this.writes,
      evictions: this.evictions,
      missCauses: { ...this.missCauses },
      timeSavedMs: this.timeSavedMs,
      tokensSaved: this.tokensSaved,
    };
  }

  patterns(hotKeys: HotKey[]): AccessPatterns {
    const { new: fresh, expired, evicted, rejected } = this.missCauses;
    const total = fresh + expired + evicted + rejected;
    return {
      hotKeys,
      byModel: rates(this.#byModel),
      byScope: rates(this.#byScope),
      missCauses: { ...this.missCauses },
      missCausePercent: { new: percent(fresh, total), expired: percent(expired, total), evicted: percent(evicted, total), rejected: percent(rejected, total) },
    };
  }
}

/** Distinct models or scopes counted one by one, `(other)` included; the rest are pooled, so a scope per user cannot grow memory without bound. */
const MAX_NAMES = 1000;

function newCounter(): Counter {
  return { hits: 0, misses: 0 };
}

function rates(labels: BoundedLabels<Counter>): Record<string, HitCounter> {
  return labels.toRecord(({ hits, misses }) => ({ hits, misses, hit_rate_percent: percent(hits, hits + misses) }));
}
