import type { ResponseCacheOptions } from './cache/response-cache.js';
import type { Clock } from './clock.js';
import { loggerOption, type Logger } from './logger.js';
import { clockOption, knownKeys, nonNegativeNumber, plainObject, positiveInteger } from './internal/validate.js';
import { describe } from './internal/validate.js';
import type { PerformanceMonitorOptions } from './monitor/performance-monitor.js';
import type { AutoOptimizerOptions } from './optimizer/optimizer-options.js';
import { resolveBreakerOptions, type CircuitBreakerOptions, type ResolvedBreakerOptions } from './optimizer/circuit-breaker.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './optimizer/retry.js';
import type { HealthProbe } from './optimizer/self-heal.js';
import { isCacheStore, type CacheStore } from './stores/cache-store.js';
import type { RouteOptions } from './routing/routing-options.js';
import { resolveWarmUpOptions } from './forecast/warm-up-options.js';
import type { ResolvedWarmUpOptions, WarmUpOptions } from './forecast/warm-up.js';
import { resolveFreshness, type FreshnessOptions, type ResolvedFreshness } from './cache/freshness.js';

/** Options of `OptimizationEngine`. */
export interface OptimizationEngineOptions {
  /** Options of the engine's `ResponseCache` (TTL, bounds, hash). */
  cache?: ResponseCacheOptions;
  /** Options of the engine's `PerformanceMonitor`. */
  monitor?: PerformanceMonitorOptions;
  /** Source of time in ms for the engine, its cache and its monitor. @default a monotonic `Date.now()` */
  clock?: Clock;
  /**
   * Most `exec` calls running at once; further misses queue (each leaving the queue when its signal
   * aborts). The auto-optimizer may lower it. @default Infinity
   */
  maxConcurrency?: number;
  /** Price of one model call, for `cost_saved_usd`. @default 0 (a local model) */
  costPerRequestUsd?: number;
  /** Price of 1000 tokens (prompt + output), for `cost_saved_usd` when usage is reported. @default 0 */
  costPer1kTokensUsd?: number;
  /** Receives warnings about failures the engine survived (a throwing listener, a failing store). @default silent */
  logger?: Logger;
  /** Bounds and pacing of `autoOptimize()`: rules enabled, cooldown, hysteresis, limits on TTL, capacity and concurrency. */
  optimizer?: AutoOptimizerOptions;
  // Self-healing (issue 6)
  /**
   * Circuit breaker per model around `exec`: after `failureThreshold` consecutive failures calls fail
   * fast with `ERR_CIRCUIT_OPEN` (or get an expired entry when they set `staleIfError`) until a probe
   * call succeeds. `false` turns it off.
   * @default { failureThreshold: 5, resetTimeoutMs: 30_000, probeTimeoutMs: 60_000 }
   */
  breaker?: CircuitBreakerOptions | false;
  /**
   * Retries of `exec` on transient errors (connection refused or reset, HTTP 5xx) with exponential
   * backoff and full jitter, honouring the call's signal while waiting. `false` turns them off.
   * @default { attempts: 2, baseDelayMs: 250, maxDelayMs: 4_000 }
   */
  retry?: RetryOptions | false;
  /** Checks that the model answers; autonomous mode runs it while a circuit is open to close it again. @default none */
  healthProbe?: HealthProbe;
  /**
   * A shared store (L2) behind the in-process cache: on an in-process miss the engine reads it
   * (within the store's `timeoutMs`), promotes a hit into the in-process cache, and writes every
   * stored answer to it too. A store that fails or is slow never fails a call: it emits
   * `store-error` and the call goes on to `exec`. A store with `acquire`/`release`/`waitFor`
   * also coalesces identical misses across processes. The engine does not close it; `engine.cache.clear()`
   * does not clear it (call `store.clear()`).
   * @default undefined (no shared store)
   * @example
   * ```ts
   * import { createRedisStore } from 'llm-optimization-engine/redis';
   * const engine = new OptimizationEngine({ store: createRedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app' }) });
   * ```
   */
  store?: CacheStore;
  /**
   * Logical models mapped to two tiers, `[small, large]`: a call naming `'assistant'` is keyed (and
   * cached) as `'assistant'`, and on a miss runs `exec` with the tier the route picks, by a
   * complexity score (`strategy: 'rules'`) or by asking the small tier first and escalating an
   * unconvincing answer (`'cascade'`). See docs/routing-and-experiments.md.
   * @default {} (no routing: the model is passed to `exec` as given)
   * @example
   * ```ts
   * new OptimizationEngine({ routes: { assistant: { tiers: ['llama3.1:8b', 'llama3.1:70b'], strategy: 'cascade', targetLargeShare: 0.2 } } });
   * ```
   */
  routes?: Record<string, RouteOptions>;
  /**
   * Predictive warm-up: forecasts each model's call rate (daily and weekly rhythm) and, shortly
   * before predicted traffic on a model that has gone idle, loads it with `run` so that users do
   * not wait for the cold load. Bounded per day, never while the model is busy; each warm-up is a
   * `model-warm-up` event and counts in the report's `warm_up` section and `/metrics`.
   * @default undefined (no warm-up)
   * @example
   * ```ts
   * import { ollamaWarmUp } from 'llm-optimization-engine/ollama';
   * const engine = new OptimizationEngine({ warmUp: { run: ollamaWarmUp(ollama), maxPerDay: 12 } });
   * ```
   */
  warmUp?: WarmUpOptions;
  /**
   * Answers kept fresh without a caller waiting for the model: stale-while-revalidate (`graceMs`),
   * refresh-ahead of hot entries (`refreshAhead`), and a soft timeout (`softTimeoutMs`). See
   * docs/freshness-and-invalidation.md.
   * @default { graceMs: 0, refreshAhead: false, softTimeoutMs: undefined, maxBackgroundRefreshes: 32 }
   * @example `{ graceMs: 10 * 60_000, refreshAhead: true, softTimeoutMs: 2_000 }`
   */
  freshness?: FreshnessOptions;
}

const KEYS = [
  'cache', 'monitor', 'clock', 'maxConcurrency', 'costPerRequestUsd', 'costPer1kTokensUsd', 'logger', 'optimizer',
  'breaker', 'retry', 'healthProbe', 'store', 'routes', 'warmUp', 'freshness',
] as const;

export interface ResolvedEngineOptions {
  readonly cache: ResponseCacheOptions;
  readonly monitor: PerformanceMonitorOptions;
  readonly clock: Clock | undefined;
  readonly maxConcurrency: number;
  readonly costPerRequestUsd: number;
  readonly costPer1kTokensUsd: number;
  readonly logger: Logger | undefined;
  readonly optimizer: AutoOptimizerOptions | undefined;
  readonly breaker: ResolvedBreakerOptions | undefined;
  readonly retry: ResolvedRetryOptions | undefined;
  readonly healthProbe: HealthProbe | undefined;
  readonly store: CacheStore | undefined;
  readonly routes: unknown;
  readonly warmUp: ResolvedWarmUpOptions | undefined;
  readonly freshness: ResolvedFreshness;
}

export function resolveEngineOptions(options: OptimizationEngineOptions): ResolvedEngineOptions {
  knownKeys('options', plainObject('options', options), KEYS);
  const clock = clockOption('clock', options.clock);
  const cache = { ...(plainObject('cache', options.cache) as ResponseCacheOptions | undefined) };
  const monitor = { ...(plainObject('monitor', options.monitor) as PerformanceMonitorOptions | undefined) };
  if (clock !== undefined) {
    cache.clock ??= clock;
    monitor.clock ??= clock;
  }
  const logger = loggerOption('logger', options.logger);
  return Object.freeze({
    cache,
    monitor,
    clock,
    maxConcurrency: options.maxConcurrency === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : positiveInteger('maxConcurrency', options.maxConcurrency, Number.POSITIVE_INFINITY),
    costPerRequestUsd: nonNegativeNumber('costPerRequestUsd', options.costPerRequestUsd, 0),
    costPer1kTokensUsd: nonNegativeNumber('costPer1kTokensUsd', options.costPer1kTokensUsd, 0),
    logger,
    optimizer: options.optimizer,
    breaker: resolveBreakerOptions(options.breaker),
    retry: resolveRetryOptions(options.retry),
    healthProbe: healthProbeOption(options.healthProbe),
    store: storeOption(options.store),
    routes: options.routes,
    warmUp: resolveWarmUpOptions(options.warmUp),
    freshness: resolveFreshness(options.freshness),
  });
}

function healthProbeOption(value: unknown): HealthProbe | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`\`healthProbe\` must be a function, received ${describe(value)}`);
  return value as HealthProbe | undefined;
}

function storeOption(store: unknown): CacheStore | undefined {
  if (store === undefined || isCacheStore(store)) return store;
  throw new TypeError(`\`store\` must be a CacheStore (\`name\`, \`get\`, \`set\`, \`delete\`, \`clear\`), received ${describe(store)}`);
}
