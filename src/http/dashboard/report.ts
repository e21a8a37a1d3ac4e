import type { OptimizationEngine } from '../../engine.js';
import { describe, positiveNumber } from '../../internal/validate.js';
import { staticDashboardHtml } from './page.js';
import { dashboardSeries } from './series.js';
import { dashboardData } from './snapshot.js';

/** What `GET /optimization/dashboard/data` answers: one field per dashboard section (see docs/observability.md). */
export type DashboardData = Record<string, unknown>;

/** Reads an engine's dashboard data, outside the handler. */
export interface DashboardRecorder {
  /** The data the page would show now (the charts count from the recorder's or first handler's creation). */
  data(): Promise<DashboardData>;
}

/**
 * Starts collecting the dashboard's series for `engine` (as the handler does), to read its data or
 * render it as a file later with {@link renderDashboardHtml}. Create it with the engine.
 *
 * @example
 * ```ts
 * const recorder = createDashboardRecorder(engine);
 * // … traffic …
 * await writeFile('report.html', renderDashboardHtml([{ title: 'My service', data: await recorder.data() }]));
 * ```
 */
export function createDashboardRecorder(engine: OptimizationEngine, options: { healthTimeoutMs?: number } = {}): DashboardRecorder {
  if (typeof engine !== 'object' || engine === null || typeof engine.getCacheStats !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
  const healthTimeoutMs = positiveNumber('healthTimeoutMs', options.healthTimeoutMs, 5_000);
  const series = dashboardSeries(engine);
  return { data: () => dashboardData(engine, series, healthTimeoutMs) };
}

/**
 * A self-contained HTML file (no script or style from anywhere else, no network) with the dashboard's
 * panels for each service's data, as of when the data was read.
 * @default title 'LLM optimization engine report'
 */
export function renderDashboardHtml(services: readonly { title: string; data: DashboardData }[], options: { title?: string } = {}): string {
  const valid = (s: unknown): boolean => {
    const { title, data } = (typeof s === 'object' && s !== null ? s : {}) as { title?: unknown; data?: unknown };
    return typeof title === 'string' && typeof data === 'object' && data !== null;
  };
  if (!Array.isArray(services) || !services.every(valid)) {
    throw new TypeError(`\`services\` must be an array of { title: string, data } (data from createDashboardRecorder), received ${describe(services)}`);
  }
  const title = options.title ?? 'LLM optimization engine report';
  if (typeof title !== 'string') throw new TypeError(`\`title\` must be a string, received ${describe(title)}`);
  return staticDashboardHtml(services, title);
}
