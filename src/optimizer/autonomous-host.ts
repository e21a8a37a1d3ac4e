import type { CacheInternals, ResponseCache } from '../cache/response-cache.js';
import type { Clock } from '../clock.js';
import type { EngineEvents, Logger } from '../events.js';
import type { HealthReport } from '../health.js';
import type { CallOutcome } from '../types.js';
import type { AutonomousHost } from './autonomous.js';
import type { LearnedStateHost } from './learned-state.js';
import type { SelfHealing } from './self-heal.js';

/** The engine as autonomous mode sees it; `autoOptimize` and `setTtlMs` are used when they exist (structural). */
interface EngineView {
  maxConcurrency: number;
  autoOptimize?: () => unknown;
  health(options: { timeoutMs?: number }): Promise<HealthReport>;
}

interface MonitorView {
  sample?: () => unknown;
  getTrends?: () => unknown;
  detectAnomalies?: () => unknown;
  outcomes?: Readonly<Record<CallOutcome, number>>;
}

export interface EngineParts {
  engine: object;
  cache: ResponseCache;
  internals: CacheInternals;
  monitor: object;
  healing: SelfHealing;
  clock: Clock;
  logger: Logger;
  emit<E extends 'autonomous-tick' | 'store-error'>(event: E, payload: EngineEvents[E]): void;
}

/** Builds what autonomous mode needs from the engine's parts. */
export function autonomousHost(parts: EngineParts): AutonomousHost {
  const engine = parts.engine as EngineView;
  const monitor = parts.monitor as MonitorView;
  const cache = parts.cache as ResponseCache & { setTtlMs?: (ttlMs: number) => void };
  const learned: LearnedStateHost = {
    cache: parts.cache,
    internals: parts.internals,
    healing: parts.healing,
    now: () => parts.clock.now(),
    setTtlMs: typeof cache.setTtlMs === 'function' ? (ms) => cache.setTtlMs?.(ms) : undefined,
    get maxConcurrency() {
      return engine.maxConcurrency;
    },
    set maxConcurrency(value: number) {
      engine.maxConcurrency = value;
    },
  };
  return {
    clock: parts.clock,
    logger: parts.logger,
    healing: parts.healing,
    learned,
    emit: (event, payload) => parts.emit(event, payload),
    health: (timeoutMs) => engine.health({ timeoutMs }),
    counters() {
      const { hits, misses } = parts.cache.getStats();
      const o = monitor.outcomes;
      const calls = o === undefined ? 0 : o.hit + o.miss + o.coalesced + o.bypass + o.error;
      return { calls, errors: o?.error ?? 0, hits, misses };
    },
    get autoOptimize() {
      return typeof engine.autoOptimize === 'function' ? () => engine.autoOptimize?.() : undefined;
    },
    get detectAnomalies() {
      return typeof monitor.detectAnomalies === 'function' ? () => monitor.detectAnomalies?.() : undefined;
    },
    get sample() {
      return typeof monitor.sample === 'function' ? () => monitor.sample?.() : undefined;
    },
    get getTrends() {
      return typeof monitor.getTrends === 'function' ? () => monitor.getTrends?.() : undefined;
    },
  };
}
