import { describe, expect, it } from 'vitest';
import { OptimizationEngine, type EngineEvents } from '../../src/index.js';
import { EngineMetrics, engineMetrics } from '../../src/http.js';

const LINE = /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? (-?[0-9.e+-]+|\+Inf|NaN))$/;

/** Captures the listeners the collector adds, so a test can play events the monitor will emit. */
function capture(engine: OptimizationEngine) {
  const listeners = new Map<string, (payload: unknown) => void>();
  const on = engine.on.bind(engine);
  engine.on = ((event: string, listener: (payload: unknown) => void) => (listeners.set(event, listener), on(event as never, listener as never))) as never;
  return listeners;
}

describe('Prometheus text', () => {
  it('counts stale answers and background refreshes by reason', async () => {
    let now = 0;
    const engine = new OptimizationEngine({ clock: { now: () => now }, cache: { ttlMs: 1000 }, freshness: { graceMs: 5000 } });
    const metrics = engineMetrics(engine);
    await engine.optimizeAiCall('p', 'm', () => 'old');
    now += 1500;
    await engine.optimizeAiCall('p', 'm', () => Promise.reject(new Error('down')));
    await new Promise((resolve) => setImmediate(resolve));
    const text = metrics.render();
    expect(text).toContain('llm_optimizer_stale_served_total 1\n');
    expect(text).toContain('llm_optimizer_background_refreshes_total{reason="grace"} 1\n');
    expect(text).toContain('llm_optimizer_background_refreshes_total{reason="ahead"} 0\n');
    expect(text).toContain('llm_optimizer_refresh_failures_total 1\n');
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(LINE);
    await engine.close();
  });

  it('says how many calls reached the model and what share was answered without it', async () => {
    const engine = new OptimizationEngine();
    const metrics = engineMetrics(engine);
    let release!: (value: string) => void;
    const calls = Array.from({ length: 4 }, () => engine.optimizeAiCall('p', 'm', () => new Promise<string>((resolve) => (release = resolve))));
    await new Promise((resolve) => setImmediate(resolve));
    release('v');
    await Promise.all(calls);
    const text = metrics.render();
    expect(text).toContain('llm_optimizer_model_calls_total 1\n');
    expect(text).toContain('llm_optimizer_store_hits_total 0\n');
    expect(text).toContain('llm_optimizer_answered_without_model_ratio 0.75\n');
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(LINE);
    await engine.close();
  });

  it('shows per-tier calls, errors, latency and tokens, escalations by reason and the large share of a route', async () => {
    const engine = new OptimizationEngine({ retry: false, routes: { assistant: { tiers: ['8b', '70b'], strategy: 'cascade', minMeanLogprob: -1 } } });
    const metrics = engineMetrics(engine);
    const exec = (prompt: string, model: string, context: { reportLogprobs(l: number[]): void; reportUsage(u: object): void }): string => {
      context.reportLogprobs(prompt === 'hard' ? [-3] : [-0.1]);
      context.reportUsage({ promptTokens: 4, outputTokens: 2 });
      return model;
    };
    await engine.optimizeAiCall('easy', 'assistant', exec);
    await engine.optimizeAiCall('hard', 'assistant', exec);
    const text = metrics.render();
    expect(text).toContain('llm_optimizer_route_tier_calls_total{route="assistant",tier="8b"} 2\n');
    expect(text).toContain('llm_optimizer_route_tier_calls_total{route="assistant",tier="70b"} 1\n');
    expect(text).toContain('llm_optimizer_route_escalations_total{route="assistant",reason="low-confidence"} 1\n');
    expect(text).toContain('llm_optimizer_route_large_share{route="assistant"} 0.5\n');
    expect(text).toContain('llm_optimizer_route_tier_tokens_total{route="assistant",tier="8b",kind="output"} 4\n');
    expect(text).toMatch(/llm_optimizer_route_tier_latency_seconds\{route="assistant",tier="70b",quantile="0.95"\} [0-9.e-]+\n/);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(LINE);
    await engine.close();
  });

  it('is well-formed line by line, with escaped label values', async () => {
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 } });
    const metrics = engineMetrics(engine);
    await engine.optimizeAiCall('p', 'm', () => 'v');
    await engine.optimizeAiCall('p', 'm', () => 'v');
    await engine.optimizeAiCall('p', 'a "quoted" \\ model\nwith a newline', () => Promise.reject(new Error('x'))).catch(() => undefined);
    const text = metrics.render();
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(LINE);
    expect(text).toContain('llm_optimizer_circuit_state{model="a \\"quoted\\" \\\\ model\\nwith a newline",state="open"} 1');
    expect(text).toContain('llm_optimizer_calls_total{outcome="error"} 1');
    expect(text).toContain('llm_optimizer_call_duration_seconds_count{outcome="hit"} 1');
    expect(text).toContain(`llm_optimizer_efficiency_score ${engine.getOptimizationReport().summary.efficiency_score}`);
    expect(engineMetrics(engine)).toBe(metrics);
    await engine.close();
  });

  it('counts anomalies by type, pooling types past the 50-label bound (other included) as other, and counts autonomous runs', async () => {
    const engine = new OptimizationEngine();
    const listeners = capture(engine);
    const metrics = new EngineMetrics(engine);
    const anomaly = (type: string) => ({ type, severity: 'high', message: 'm', value: 1, baseline: 0, timestamp: 0 }) as unknown as EngineEvents['anomaly-detect'];
    for (let i = 0; i < 60; i++) listeners.get('anomaly-detect')?.(anomaly(`type-${i}`));
    listeners.get('anomaly-detect')?.(anomaly('type-1'));
    listeners.get('autonomous-tick')?.({ runs: 1, actions: [], durationMs: 0, timestamp: 0 });
    const text = metrics.render();
    expect(text).toContain('llm_optimizer_anomalies_total{type="type-1"} 2');
    expect(text.match(/llm_optimizer_anomalies_total\{/g)).toHaveLength(50);
    expect(text).toContain('llm_optimizer_anomalies_total{type="other"} 11');
    expect(text).toContain('llm_optimizer_autonomous_runs_total 1');
    await engine.close();
  });

  it('pools circuits beyond 50 models under model="other" by state, dropping none', async () => {
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 } });
    const metrics = engineMetrics(engine);
    for (let i = 0; i < 70; i++) {
      const exec = i % 2 === 0 ? () => Promise.reject(new Error('down')) : () => 'up';
      await engine.optimizeAiCall('p', `model-${i}`, exec).catch(() => undefined);
    }
    const text = metrics.render();
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(LINE);
    const samples = [...text.matchAll(/^llm_optimizer_circuit_state\{model="([^"]+)",state="([a-z-]+)"\} (\d+)$/gm)];
    expect(new Set(samples.map((m) => m[1])).size).toBe(51);
    expect(samples.reduce((sum, m) => sum + Number(m[3]), 0)).toBe(70);
    expect(text).toContain('llm_optimizer_circuit_state{model="model-49",state="closed"} 1');
    expect(text).toContain('llm_optimizer_circuit_state{model="other",state="open"} 10');
    expect(text).toContain('llm_optimizer_circuit_state{model="other",state="closed"} 10');
    expect(text).toContain('llm_optimizer_circuit_state{model="other",state="half-open"} 0');
    expect(text).not.toContain('model-50"');
    await engine.close();
  });

  it('reads the efficiency score from the report, and leaves it out when the report fails', async () => {
    const engine = new OptimizationEngine();
    const metrics = engineMetrics(engine);
    await engine.optimizeAiCall('p', 'm', () => 'v');
    await engine.optimizeAiCall('p', 'm', () => 'v');
    expect(metrics.render()).toContain('llm_optimizer_efficiency_score 85');
    Object.assign(engine, { getOptimizationReport: () => { throw new Error('report failed'); } });
    const text = metrics.render();
    expect(text).not.toContain('llm_optimizer_efficiency_score');
    expect(text).toContain('llm_optimizer_cache_hits_total 1');
    await engine.close();
  });
});
