export { OptimizationEngine } from './engine.js';
export type { CacheStatsReport, InvalidationResult } from './engine.js';
export type { FreshnessOptions } from './cache/freshness.js';
export { optimizeAiCall, getDefaultEngine } from './functional.js';
export { ResponseCache } from './cache/response-cache.js';
export type { ResponseCacheOptions, EntryOptions, InvalidateFilter, SetOptions } from './cache/response-cache.js';
export type { AccessPatterns, CacheStats, HitCounter, HotKey } from './cache/stats.js';
export type { HashOption } from './cache/cache-key.js';
export { PerformanceMonitor } from './monitor/performance-monitor.js';
export type { CallSample, MetricSample, MonitorContext, OutcomeCounts, PerformanceMonitorOptions } from './monitor/performance-monitor.js';
export type { AnomalyThresholds, SystemReading, SystemSamplerOptions } from './monitor/monitor-options.js';
export type {
  Anomaly, AnomalySeverity, AnomalyType, MetricName, Recommendation, RecommendationType, Trend, TrendStatus, Trends,
} from './monitor/types.js';
export type { AutoOptimizeResult, Optimization, OptimizationRecord } from './optimizer/auto-optimizer.js';
export type { AutoOptimizerOptions, OptimizationType } from './optimizer/optimizer-options.js';
export type { Settings as OptimizationSettings } from './optimizer/rules.js';
export { efficiencyScore } from './report.js';
export type { OptimizationReport } from './report.js';
export { OptimizerError, isOptimizerError } from './errors.js';
export type { OptimizerErrorCode } from './errors.js';
export type { EngineEvents, EngineEventName, EngineListener, Logger, RefreshReason } from './events.js';
export type { OptimizationEngineOptions } from './options.js';
export type { Clock } from './clock.js';
export type {
  CacheMode, CallOptions, CallOutcome, CallStatus, ChatMessage, ExecContext, ExecFunction, MissCause, Prompt, TokenUsage, ValueMode,
} from './types.js';
export { createAnomalyDetector } from './monitor/anomaly-detector.js';
export type { AnomalyDetector, AnomalyDetectorOptions, AnomalyObservation } from './monitor/anomaly-detector.js';
export type { OptimizedStream, ReplayMode, StreamCallOptions, StreamExecFunction } from './stream/types.js';
// Self-healing, health and autonomous mode (issue 6)
export { isTransientError } from './optimizer/retry.js';
export type { RetryOptions } from './optimizer/retry.js';
export type { CircuitBreakerOptions, CircuitState, CircuitStatus } from './optimizer/circuit-breaker.js';
export type { HealthProbe, ModelStatistics, Timers } from './optimizer/self-heal.js';
export type { HealthCheck, HealthReport, HealthSource, HealthStatus } from './health.js';
export type { AutonomousOptions, AutonomousStatus, StateFileStatus } from './optimizer/autonomous.js';
export { createMemoryStore } from './stores/memory-store.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export type {
  CacheStore, InvalidationCommand, InvalidationListener, StoreGetOptions, StoreHealth, StoreLockOptions, StoreRead, StoreSetOptions, StoreWaitOptions,
} from './stores/cache-store.js';
// Routing and experiments (issue 13)
export type {
  CascadeCheckContext, RouteOptions, RouteStrategy,
} from './routing/routing-options.js';
export type { RouteDecision, RouteOverride, RouteReason } from './routing/route-types.js';
export type { RouteReport, TierReport } from './routing/route-stats.js';
export type { ComplexityFeatures, ComplexityWeights } from './routing/complexity.js';
export type { Experiment, ExperimentResults, VariantResults } from './experiments/experiment.js';
export type { ExperimentMetric, ExperimentOptions, VariantSettings } from './experiments/experiment-options.js';
export type { Comparison } from './experiments/sequential-test.js';
// Forecasting and warm-up (issue 14)
export { createSeasonalForecaster } from './forecast/seasonal-forecaster.js';
export type { SeasonalForecaster, SeasonalForecasterOptions } from './forecast/seasonal-forecaster.js';
export type { ModelWarmUpStats, WarmUpContext, WarmUpOptions, WarmUpRecord } from './forecast/warm-up.js';
export type { WarmUpReport } from './forecast/engine-warm-up.js';
