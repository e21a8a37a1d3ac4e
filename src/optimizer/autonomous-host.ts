import type { CacheInternals, ResponseCache } from '../cache/response-cache.js';
import type { Clock } from '../clock.js';
import type { OptimizationEngine } from '../engine.js';
import type { EngineEvents, Logger } from '../events.js';
import type { PerformanceMonitor } from '../monitor/performance-monitor.js';
import type { AutonomousHost } from './autonomous.js';
import type { AutoOptimizer } from './auto-optimizer.js';
import type { LearnedStateHost } from './learned-state.js';
import type { SelfHealing } from './self-heal.js';

export interface EngineParts {
  engine: OptimizationEngine;
  cache: ResponseCache;
  internals: CacheInternals;
  monitor: PerformanceMonitor;
  healing: SelfHealing;
  optimizer: AutoOptimizer;
  clock: Clock;
  logger: Logger;
  emit<E extends 'autonomous-tick' | 'store-error'>(event: E, payload: EngineEvents[E]): void;
}

/** Builds what autonomous mode needs from the engine's parts (methods looked up at each call). */
export function autonomousHost(parts: EngineParts): AutonomousHost {
  const { engine, monitor, cache } = parts;
  const learned: LearnedStateHost = {
    cache,
    internals: parts.internals,
    healing: parts.healing,
    now: () => parts.clock.now(),
    // A learned TTL is held to the optimizer's own bound (the state file is outside data).
    setTtlMs: (ttlMs) => cache.resize({ ttlMs: Math.min(ttlMs, parts.optimizer.options.maxTtlMs) }),
    get maxConcurrency() {
      return engine.maxConcurrency;
    },
    adopt: (knob, settings) => parts.optimizer.adopt(knob, settings),
  };
  return {
    clock: parts.clock,
    logger: parts.logger,
    healing: parts.healing,
    learned,
    emit: (event, payload) => parts.emit(event, payload),
    health: (timeoutMs) => engine.health({ timeoutMs }),
    counters() {
      const { hits, misses } = cache.getStats();
      const o = monitor.outcomes;
      return { calls: o.hit + o.miss + o.coalesced + o.bypass + o.error, errors: o.error, hits, misses };
    },
    autoOptimize: () => engine.autoOptimize(),
    sample: () => monitor.sample(),
    detectAnomalies: () => monitor.detectAnomalies(),
    getTrends: () => monitor.getTrends(),
  };
}
