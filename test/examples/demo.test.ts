import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildReport, findings, formatReport, runDemo, startLoopbackTarget, writeHtmlReport, type DemoModels, type ServiceResult,
} from '../../examples/demo.js';
import type { MeterFigures } from '../../examples/demo/meter.js';
import { DEMO_SIZES } from '../../examples/demo/workload.js';
import { OptimizationEngine, type OptimizationReport } from '../../src/index.js';
import {
  createManualClock, createMockModel, startOllamaTestServer, type MockModelOptions, type OllamaTestServer,
} from '../../src/testing.js';

const MODEL = 'llama3.1:8b';
const EMBED_MODEL = 'embed:latest';
const small = DEMO_SIZES.small;
let servers: OllamaTestServer[] = [];

afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/** The demo's models on two loopback servers backed by mock models (text, embeddings). */
async function mockTarget(options: MockModelOptions = {}): Promise<{ target: DemoModels; text: OllamaTestServer; embed: OllamaTestServer }> {
  const text = await startOllamaTestServer({ backend: createMockModel({ models: [MODEL], ...options }).backend });
  const embed = await startOllamaTestServer({ backend: createMockModel({ models: [EMBED_MODEL] }).backend });
  servers.push(text, embed);
  return {
    text, embed,
    target: { client: new Ollama({ host: text.url }), embedClient: new Ollama({ host: embed.url }), model: MODEL, embedModel: EMBED_MODEL },
  };
}

const paths = (server: OllamaTestServer, path: string) => server.requests.filter((request) => request.path === path);
const bodyPrompt = (body: unknown): string => JSON.stringify((body as { prompt?: unknown; messages?: unknown }).prompt ?? (body as { messages?: unknown }).messages);

describe('runDemo (small workload, mock models)', () => {
  it('answers most I PROACTIVE calls without the model: recurring prompts hit, replicas coalesce', async () => {
    const { target, text } = await mockTarget();
    const lines: string[] = [];
    const result = await runDemo({ target, size: 'small', log: (line) => lines.push(line) });

    const { proactive } = result;
    expect(proactive.calls).toBe(small.ticks * small.users * small.replicas + small.adhoc);
    const generated = paths(text, '/api/generate');
    expect(generated).toHaveLength(proactive.upstream.requests);
    const distinct = new Set(generated.map((request) => bodyPrompt(request.body))).size;
    expect(proactive.upstream.requests).toBeGreaterThanOrEqual(distinct);
    expect(proactive.upstream.requests).toBeLessThan(proactive.calls / 2);
    expect(proactive.report.cache.hits).toBeGreaterThan(0);
    expect(proactive.report.summary.requests_saved).toBeGreaterThan(proactive.report.cache.hits);
    expect(proactive.report.cache.miss_causes.expired).toBeGreaterThan(0);
    expect(lines.filter((line) => /^ {2}tick /.test(line))).toHaveLength(small.ticks);
  });

  it('sends each I MATCH pair and profile to the model exactly once', async () => {
    const { target, text, embed } = await mockTarget();
    const { match } = await runDemo({ target, size: 'small' });

    const lastCandidates = small.candidates + small.rounds - 1;
    const pairs = lastCandidates * small.roles;
    const profiles = lastCandidates + small.roles;
    let calls = 0;
    for (let round = 0; round < small.rounds; round++) {
      const candidates = small.candidates + round;
      calls += small.recruiters * (candidates + small.roles + candidates * small.roles);
    }
    expect(match.calls).toBe(calls);
    expect(paths(text, '/api/chat')).toHaveLength(pairs);
    // The Ollama adapter may batch concurrent embeds into one request: count the inputs.
    const embedded = paths(embed, '/api/embed').flatMap((request) => [(request.body as { input: string | string[] }).input].flat());
    expect(embedded).toHaveLength(profiles);
    expect(new Set(embedded).size).toBe(profiles);
    expect(new Set(paths(text, '/api/chat').map((request) => bodyPrompt(request.body))).size).toBe(pairs);
    expect(match.upstream.requests).toBe(pairs + paths(embed, '/api/embed').length);
    expect(match.report.cache.hits + match.report.cache.misses).toBe(calls);
  });

  it('never caches a truncated answer: each such call reaches the model', async () => {
    const truncated = (prompt: unknown): boolean => JSON.stringify(prompt).includes('Alice');
    const { target, text } = await mockTarget({ doneReason: (call) => (truncated(call.prompt) ? 'length' : 'stop') });
    const result = await runDemo({ target, size: 'small' });
    const { proactive } = result;

    const alice = paths(text, '/api/generate').filter((request) => bodyPrompt(request.body).includes('Alice'));
    expect(alice.length).toBe(proactive.upstream.truncated);
    // Alice's scheduled prompt: one model request per tick (the other replica joins it in flight), plus her one-off question.
    expect(alice.length).toBe(small.ticks + 1);
    expect(buildReport(result).i_proactive.truncated_not_cached).toBe(small.ticks + 1);
  });

  it('reports hit rate, savings, tokens per second, anomalies and an efficiency score per service and in total', async () => {
    const { target } = await mockTarget();
    const result = await runDemo({ target, size: 'small' });
    const report = buildReport(result);

    for (const column of [report.i_proactive, report.i_match, report.total]) {
      expect(Object.keys(column).sort()).toEqual([
        'anomalies', 'answered_without_model_percent', 'calls', 'coalesced', 'effective_hit_rate_percent', 'efficiency_score',
        'engine_time_saved_seconds', 'hit_rate_percent', 'hits', 'model_calls', 'model_requests', 'model_time_saved_seconds', 'model_tokens_per_second',
        'served_tokens_per_second', 'truncated_not_cached',
      ]);
      expect(column.hit_rate_percent).toBeGreaterThan(0);
      for (const value of Object.values(column)) expect(Number.isFinite(value) && value >= 0).toBe(true);
    }
    expect(report.i_proactive.efficiency_score).toBeCloseTo(result.proactive.report.summary.efficiency_score, 1);
    expect(report.i_match.efficiency_score).toBeCloseTo(result.match.report.summary.efficiency_score, 1);
    expect(report.total.calls).toBe(report.i_proactive.calls + report.i_match.calls);
    expect(report.total.model_requests).toBe(report.i_proactive.model_requests + report.i_match.model_requests);
    expect(report.total.hits).toBe(report.i_proactive.hits + report.i_match.hits);
    const table = formatReport(report);
    expect(table.split('\n')).toHaveLength(16);
    expect(table).toMatch(/^efficiency score \(0-100\) +[\d.]+ +[\d.]+ +[\d.]+$/m);
    expect(findings('I MATCH', result.match.report)[0]).toMatch(/^I MATCH: (excellent|good|fair|poor) \(score [\d.]+\); misses by cause: new \d+/);
  });

  it('accounts for every miss: misses by cause add up to coalesced calls plus calls that reached the model', async () => {
    const { target } = await mockTarget();
    const result = await runDemo({ target, size: 'small' });
    for (const [name, service] of [['I PROACTIVE', result.proactive], ['I MATCH', result.match]] as const) {
      const { cache } = service.report;
      const misses = cache.miss_causes.new + cache.miss_causes.expired + cache.miss_causes.evicted;
      expect(misses).toBe(cache.misses);
      expect(cache.coalesced + cache.store_hits + cache.model_calls).toBe(misses);
      expect(findings(name, service.report)[0]).toContain(
        `misses: ${cache.coalesced} joined an identical call in flight, ${cache.model_calls} reached the model`,
      );
      expect(buildReport(result)[name === 'I MATCH' ? 'i_match' : 'i_proactive']).toMatchObject({ coalesced: cache.coalesced, model_calls: cache.model_calls });
    }
  });
});

function figures(overrides: Partial<MeterFigures>): MeterFigures {
  return {
    requests: 0, byMethod: { generate: 0, chat: 0, embed: 0 }, evalTokens: 0, evalMs: 0, promptTokens: 0, loadMs: 0, modelMs: 0,
    truncated: 0, latenciesMs: [], ...overrides,
  };
}

/** A real report from an engine that saw 2 concurrent calls for `a` (one coalesced), 3 more for `a` (hits) and one for `b`. */
async function engineReport(): Promise<OptimizationReport> {
  const engine = new OptimizationEngine({ clock: createManualClock() });
  const { exec } = createMockModel();
  await Promise.all([engine.optimizeAiCall('a', MODEL, exec), engine.optimizeAiCall('a', MODEL, exec)]);
  for (let index = 0; index < 3; index++) await engine.optimizeAiCall('a', MODEL, exec);
  await engine.optimizeAiCall('b', MODEL, exec);
  const report = engine.getOptimizationReport();
  await engine.close();
  return report;
}

describe('writeHtmlReport', () => {
  it('writes both services\' dashboards as one self-contained HTML file, with their data and no prompt or answer', async () => {
    const { target } = await mockTarget();
    const result = await runDemo({ target, size: 'small' });
    const dir = await mkdtemp(path.join(tmpdir(), 'llmoe-demo-'));
    const file = await writeHtmlReport(result, path.join(dir, 'report.html'));
    const html = await readFile(file, 'utf8');
    expect(file).toBe(path.join(dir, 'report.html'));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script src|<link rel="stylesheet"|(src|href)="https?:/);
    for (const service of [result.proactive, result.match]) {
      expect(service.dashboard).toMatchObject({ has_data: true, summary: { total_calls: service.report.summary.total_calls } });
    }
    // What the model said (each sample after its label) appears nowhere in the file.
    for (const sample of result.samples) expect(html).not.toContain(sample.slice(sample.indexOf(': ') + 2).slice(0, 40));
    await rm(dir, { recursive: true, force: true });
  });
});

describe('buildReport', () => {
  it('takes hits, coalesced calls, anomalies and the score from the engine, requests and tokens from the meters', async () => {
    const service = async (): Promise<ServiceResult> => ({
      calls: 6, wallMs: 2000, report: await engineReport(),
      upstream: figures({ requests: 2, evalTokens: 400, evalMs: 2000, modelMs: 3000, truncated: 1 }),
      served: figures({ requests: 6, evalTokens: 2000, modelMs: 15_000 }),
    });
    const report = buildReport({ proactive: await service(), match: await service() });
    const column = {
      calls: 6, model_requests: 2, model_calls: 2, hits: 3, coalesced: 1, hit_rate_percent: 50, effective_hit_rate_percent: 66.7,
      answered_without_model_percent: 66.7, model_time_saved_seconds: 12, engine_time_saved_seconds: 0, model_tokens_per_second: 200,
      served_tokens_per_second: 1000, truncated_not_cached: 1, anomalies: 0, efficiency_score: 90,
    };
    expect(report.i_proactive).toEqual(column);
    expect(report.i_match).toEqual(column);
    expect(report.total).toEqual({
      ...column, calls: 12, model_requests: 4, model_calls: 4, hits: 6, coalesced: 2, model_time_saved_seconds: 24, served_tokens_per_second: 1000, truncated_not_cached: 2,
    });
  });
});

describe('startLoopbackTarget', () => {
  it('serves generation from the given backend and embeddings from a mock model', async () => {
    const target = await startLoopbackTarget(createMockModel({ models: [MODEL] }).backend);
    try {
      expect(target.model).toBe(MODEL);
      expect(target.notes.join(' ')).toMatch(/embeddings come from a mock model/);
      const answer = await target.client.generate({ model: target.model, prompt: 'hi', stream: false });
      expect(answer.done_reason).toBe('stop');
      const { embeddings } = await target.embedClient.embed({ model: target.embedModel, input: ['a', 'b'] });
      expect(embeddings).toHaveLength(2);
    } finally {
      await target.close();
    }
  });
});
