export { instrumentOpenTelemetry } from './tracing/opentelemetry.js';
export type { OpenTelemetryInstrumentation, OpenTelemetryOptions } from './tracing/opentelemetry.js';
