export { createOptimizationHandler } from './http/handler.js';
export type { Authorize, AuthorizeResult, OptimizationHandlerOptions, RouteInfo } from './http/handler.js';
export { toNodeListener } from './http/node-listener.js';
export type { NodeListener } from './http/node-listener.js';
export { EngineMetrics, engineMetrics, PROMETHEUS_CONTENT_TYPE } from './http/prometheus.js';
export type { PrometheusRegistryLike } from './http/prometheus.js';
export { createDashboardRecorder, renderDashboardHtml } from './http/dashboard/report.js';
export type { DashboardData, DashboardRecorder } from './http/dashboard/report.js';
