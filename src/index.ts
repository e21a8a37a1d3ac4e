export { OptimizationEngine } from './engine.js';
export type { CacheStatsReport } from './engine.js';
export { optimizeAiCall, getDefaultEngine } from './functional.js';
export { ResponseCache } from './cache/response-cache.js';
export type { ResponseCacheOptions, EntryOptions, SetOptions } from './cache/response-cache.js';
export type { AccessPatterns, CacheStats, HitCounter, HotKey } from './cache/stats.js';
export type { HashOption } from './cache/cache-key.js';
export { PerformanceMonitor } from './monitor/performance-monitor.js';
export type { CallSample, PerformanceMonitorOptions } from './monitor/performance-monitor.js';
export { OptimizerError, isOptimizerError } from './errors.js';
export type { OptimizerErrorCode } from './errors.js';
export type { EngineEvents, EngineEventName, EngineListener, Logger } from './events.js';
export type { OptimizationEngineOptions } from './options.js';
export type { Clock } from './clock.js';
export type {
  CacheMode, CallOptions, CallOutcome, CallStatus, ChatMessage, ExecContext, ExecFunction, MissCause, Prompt, TokenUsage,
} from './types.js';
export { createAnomalyDetector } from './monitor/anomaly-detector.js';
export type { AnomalyDetector, AnomalyDetectorOptions, AnomalyObservation } from './monitor/anomaly-detector.js';
export type { OptimizedStream, ReplayMode, StreamCallOptions, StreamExecFunction } from './stream/types.js';
