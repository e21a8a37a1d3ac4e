import type { OptimizationEngine } from '../../engine.js';
import type { HealthReport } from '../../health.js';
import type { DashboardSeries } from './series.js';

/** What a section of the dashboard's data reads. */
export interface SectionContext {
  readonly engine: OptimizationEngine;
  readonly series: DashboardSeries;
  readonly report: ReturnType<OptimizationEngine['getOptimizationReport']>;
  readonly health: HealthReport;
}

/**
 * One part of `GET /optimization/dashboard/data`, read by the page's panel of the same name. A new
 * panel (routing, experiments, the what-if curve) is one entry here and one in the page's panel list
 * (src/http/dashboard/client.ts). Sections return counts, names and fixed strings only: never a
 * prompt, a key, a scope or a cached value.
 */
export interface DashboardSection {
  readonly name: string;
  collect(context: SectionContext): unknown;
}

export const SECTIONS: readonly DashboardSection[] = [
  {
    name: 'summary',
    collect: ({ report }) => ({
      ...pick(report.summary, ['efficiency_score', 'status', 'total_calls', 'hit_rate_percent', 'effective_hit_rate_percent',
        'answered_without_model_percent', 'model_calls', 'requests_saved', 'errors', 'anomalies', 'avg_response_time_ms', 'time_saved_seconds', 'cost_saved_usd']),
    }),
  },
  { name: 'series', collect: ({ series }) => series.points() },
  {
    name: 'anomalies',
    collect: ({ series, report }) => ({
      marks: series.anomalies(),
      recent: report.anomalies.map((a) => ({ t: a.timestamp, type: a.type, metric: a.metric, severity: a.severity, message: a.message, count: a.count })),
    }),
  },
  {
    name: 'optimizations',
    collect: ({ series, report }) => ({
      marks: series.optimizations(),
      history: report.optimizations_applied.map((r) => ({ t: r.timestamp, type: r.type, action: r.action, status: r.status })),
    }),
  },
  { name: 'miss_causes', collect: ({ report }) => ({ ...report.cache.miss_causes }) },
  {
    name: 'health',
    collect: ({ engine, health, report }) => ({
      status: health.status,
      checks: Object.entries(health.checks).map(([name, check]) => ({ name, status: check.status, reason: check.reason ?? null })),
      circuits: engine.getCircuitStates().map((c) => ({ model: c.model, state: c.state, consecutive_failures: c.consecutive_failures })),
      store: engine.store === undefined ? null : { configured: true },
      cache: pick(report.cache, ['size', 'max_size', 'bytes', 'max_bytes', 'evictions', 'ttl_seconds']),
    }),
  },
  {
    name: 'recommendations',
    collect: ({ report }) => report.recommendations.map((r) => ({ type: r.type, priority: r.priority, message: r.message, action: r.action })),
  },
];

/** The dashboard's data: every section, each fail-open (a section that throws is `null` and named in `errors`). */
export async function dashboardData(engine: OptimizationEngine, series: DashboardSeries, healthTimeoutMs: number): Promise<Record<string, unknown>> {
  const report = engine.getOptimizationReport();
  const health = await engine.health({ timeoutMs: healthTimeoutMs });
  const context: SectionContext = { engine, series, report, health };
  const out: Record<string, unknown> = { generated_at: report.summary.generated_at, has_data: report.summary.total_calls > 0 };
  const errors: string[] = [];
  for (const section of SECTIONS) {
    try {
      out[section.name] = section.collect(context);
    } catch {
      out[section.name] = null;
      errors.push(section.name);
    }
  }
  out.errors = errors;
  return out;
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = object[key];
  return out;
}
