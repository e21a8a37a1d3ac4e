// The demo's workload: a simulated working day of I PROACTIVE (scheduler ticks × users × replicas),
// recruiters refreshing I MATCH dashboards, and a few one-off questions, each service behind its own
// engine, as each would run in production.
import type { Ollama, Options } from 'ollama';
import { OptimizationEngine } from '../../src/index.js';
import { withOptimization } from '../../src/ollama.js';
import { createDashboardRecorder, type DashboardRecorder } from '../../src/http.js';
import { ProactiveService, timeSlot } from '../services/i-proactive.js';
import { MatchService, candidateProfile, roleProfile, type Candidate } from '../services/i-match.js';
import { meter, type MeterFigures } from './meter.js';
import { adhocQuestion, candidate, roles, userAt } from './people.js';
import { mergeFigures, serviceResult, type ServiceResult } from './report.js';

/** How much traffic the demo makes. */
export interface DemoSize {
  /** I PROACTIVE users. */
  readonly users: number;
  /** Scheduler ticks, 30 simulated minutes apart, from 08:00. */
  readonly ticks: number;
  /** Scheduler replicas firing each tick at the same moment (they share the engine, as through a Redis store). */
  readonly replicas: number;
  /** One-off questions (distinct prompts). */
  readonly adhoc: number;
  /** I MATCH candidates at the first dashboard refresh; one more arrives each round. */
  readonly candidates: number;
  readonly roles: number;
  /** Dashboard refreshes, 20 simulated minutes apart. */
  readonly rounds: number;
  /** Recruiters refreshing the same dashboard at the same moment. */
  readonly recruiters: number;
}

export const DEMO_SIZES = {
  small: { users: 3, ticks: 6, replicas: 2, adhoc: 2, candidates: 3, roles: 2, rounds: 2, recruiters: 2 },
  full: { users: 8, ticks: 20, replicas: 3, adhoc: 4, candidates: 10, roles: 4, rounds: 4, recruiters: 2 },
} as const satisfies Record<string, DemoSize>;

/** What `runDemo` needs to reach a model (see `connectDemoTarget`). */
export interface DemoModels {
  readonly client: Pick<Ollama, 'generate' | 'chat' | 'embed'>;
  readonly embedClient: Pick<Ollama, 'generate' | 'chat' | 'embed'>;
  readonly model: string;
  readonly embedModel: string;
  /** Ollama options added to the services' own. @default {} */
  readonly options?: Partial<Options>;
}

export interface RunDemoOptions {
  readonly target: DemoModels;
  /** @default 'full' */
  readonly size?: keyof typeof DEMO_SIZES | DemoSize;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
}

export interface DemoResult {
  readonly size: DemoSize;
  readonly proactive: ServiceResult;
  readonly match: ServiceResult;
  /** A few answers, to show what the model said. */
  readonly samples: readonly string[];
  readonly wallMs: number;
}

const MINUTE = 60_000;
const DAY_START = Date.UTC(2026, 10, 23, 8, 0); // a Monday, 08:00 UTC

/** A monotonic clock that runs in real time and jumps forward when the simulation says so. */
function simulatedClock(startMs: number): { now(): number; advance(ms: number): void } {
  let offset = startMs - performance.now();
  return { now: () => performance.now() + offset, advance: (ms) => { offset += ms; } };
}

async function runProactive(models: DemoModels, size: DemoSize, log: (line: string) => void, samples: string[]): Promise<ServiceResult> {
  const started = performance.now();
  const clock = simulatedClock(DAY_START);
  const engine = new OptimizationEngine({ clock, cache: { ttlMs: 120 * MINUTE }, maxConcurrency: 4 });
  const recorder = createDashboardRecorder(engine);
  const upstream = meter(models.client);
  const served = meter(withOptimization(upstream.client, engine));
  const replicas = Array.from({ length: size.replicas }, () => new ProactiveService({ client: served.client, model: models.model, options: models.options ?? {} }));
  log(`I PROACTIVE: ${size.ticks} scheduler ticks x ${size.users} users x ${size.replicas} replicas, then ${size.adhoc} one-off questions`);
  for (let tick = 0; tick < size.ticks; tick++) {
    const now = new Date(DAY_START + tick * 30 * MINUTE);
    const users = Array.from({ length: size.users }, (_, index) => userAt(index, now.getUTCHours(), tick));
    const results = await Promise.all(replicas.map((replica) => replica.runTick(users, now)));
    if (tick === 0) samples.push(`I PROACTIVE, ${results[0]?.[0]?.user ?? ''} (${timeSlot(now)}): ${JSON.stringify(results[0]?.[0]?.text ?? '')}`);
    log(`  tick ${String(tick + 1).padStart(2)}/${size.ticks} ${now.toISOString().slice(11, 16)} ${timeSlot(now).padEnd(17)} `
      + `${served.figures.requests} calls so far, ${upstream.figures.requests} reached the model`);
    clock.advance(30 * MINUTE);
  }
  const [first] = replicas;
  for (let index = 0; index < size.adhoc && first !== undefined; index++) {
    await first.ask(userAt(index, 10, 0), adhocQuestion(index));
  }
  log(`  one-off questions: ${size.adhoc} calls, ${upstream.figures.requests} reached the model in all`);
  return finish(engine, recorder, upstream.figures, served.figures, started);
}

async function runMatch(models: DemoModels, size: DemoSize, log: (line: string) => void, samples: string[]): Promise<ServiceResult> {
  const started = performance.now();
  const clock = simulatedClock(DAY_START);
  const engine = new OptimizationEngine({ clock, cache: { ttlMs: 24 * 60 * MINUTE }, maxConcurrency: 4 });
  const recorder = createDashboardRecorder(engine);
  const upstream = meter(models.client);
  const embedUpstream = meter(models.embedClient);
  const served = meter(withOptimization(upstream.client, engine));
  const embedServed = meter(withOptimization(embedUpstream.client, engine));
  const recruiters = Array.from({ length: size.recruiters }, () => new MatchService({
    client: served.client, embedClient: embedServed.client, model: models.model, embedModel: models.embedModel, options: models.options ?? {},
  }));
  const openRoles = roles(size.roles);
  log(`I MATCH: ${size.rounds} dashboard refreshes x ${size.recruiters} recruiters, ${size.candidates}+ candidates x ${openRoles.length} roles, profile embeddings`);
  for (let round = 0; round < size.rounds; round++) {
    const candidates: Candidate[] = Array.from({ length: size.candidates + round }, (_, index) => candidate(index));
    const profiles = [...candidates.map(candidateProfile), ...openRoles.map(roleProfile)];
    const results = await Promise.all(recruiters.map(async (recruiter) => {
      await Promise.all(profiles.map((text) => recruiter.embedProfile(text)));
      return recruiter.scoreAll(candidates, openRoles);
    }));
    const best = results[0]?.[0];
    if (round === 0 && best !== undefined) samples.push(`I MATCH, ${best.candidate} for ${best.role}: score ${String(best.score)}, ${JSON.stringify(best.reason.slice(0, 100))}`);
    log(`  refresh ${round + 1}/${size.rounds}: ${candidates.length} candidates, ${served.figures.requests} scorings and ${embedServed.figures.requests} embeddings so far, `
      + `${upstream.figures.requests + embedUpstream.figures.requests} reached the model`);
    clock.advance(20 * MINUTE);
  }
  return finish(engine, recorder, mergeFigures(upstream.figures, embedUpstream.figures), mergeFigures(served.figures, embedServed.figures), started);
}

async function finish(engine: OptimizationEngine, recorder: DashboardRecorder, upstream: MeterFigures, served: MeterFigures, started: number): Promise<ServiceResult> {
  const result = { ...serviceResult(engine, upstream, served, performance.now() - started), dashboard: await recorder.data() };
  await engine.close();
  return result;
}

/**
 * Runs the whole workload against `target` and returns what each service's engine and meters saw.
 *
 * @example
 * ```ts
 * const result = await runDemo({ target: await connectDemoTarget(process.env, console.error), size: 'small' });
 * console.log(formatReport(buildReport(result)));
 * ```
 */
export async function runDemo({ target, size = 'full', log = () => {} }: RunDemoOptions): Promise<DemoResult> {
  const resolved = typeof size === 'string' ? DEMO_SIZES[size] : size;
  const started = performance.now();
  const samples: string[] = [];
  const proactive = await runProactive(target, resolved, log, samples);
  const match = await runMatch(target, resolved, log, samples);
  return { size: resolved, proactive, match, samples, wallMs: performance.now() - started };
}
