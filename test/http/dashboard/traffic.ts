import { OptimizationEngine } from '../../../src/index.js';
import { createManualClock, createMockModel, type ManualClock } from '../../../src/testing.js';

export const START = Date.UTC(2026, 11, 4, 9, 0, 0);
export const CANARY = 'CANARY-prompt-7f3a';

/**
 * An engine on a manual clock with `minutes` of traffic from the mock model: two models, repeated
 * prompts (hits), identical calls at once (coalesced), failures (errors), a latency spike that the
 * monitor flags, and optimizer runs. Every prompt and answer carries a canary string.
 */
export async function engineWithTraffic(minutes = 20): Promise<{ engine: OptimizationEngine; clock: ManualClock; more: (calls?: number) => Promise<void> }> {
  const clock = createManualClock(START);
  const engine = new OptimizationEngine({ clock, cache: { ttlMs: 40_000 }, retry: false, breaker: { failureThreshold: 3, resetTimeoutMs: 60_000 } });
  const mock = createMockModel({ respond: (prompt) => `${CANARY} answer to ${typeof prompt === 'string' ? prompt.length : 0} chars`, failEvery: 17 });
  let n = 0;
  const call = async (i: number, model: string, latencyMs: number): Promise<void> => {
    const exec = async (prompt: string, m: string, context: Parameters<typeof mock.exec>[2]): Promise<string> => {
      clock.advance(latencyMs);
      return mock.exec(prompt, m, context);
    };
    await engine.optimizeAiCall(`${CANARY} question ${i % 2 === 0 ? i % 6 : i % 40}`, model, exec).catch(() => undefined);
  };
  const minute = async (m: number, calls: number): Promise<void> => {
    for (let c = 0; c < calls; c++) {
      n++;
      const model = n % 3 === 0 ? 'llama3.1:70b' : 'llama3.1:8b';
      const base = model === 'llama3.1:8b' ? 300 + (n % 7) * 40 : 1200 + (n % 5) * 150;
      const spike = m === 12 && c < 6 ? 12 : 1;
      if (c % 9 === 4) await Promise.all([call(1000 + n, model, base), call(1000 + n, model, base)]);
      else await call(n, model, base * spike);
      clock.advance(Math.floor(50_000 / calls));
    }
    if (m % 5 === 4) engine.autoOptimize();
  };
  for (let m = 0; m < minutes; m++) {
    await minute(m, 12 + (m % 4) * 5);
    clock.set(START + (m + 1) * 60_000);
  }
  let extra = minutes;
  return {
    engine, clock,
    more: async (calls = 20) => {
      await minute(extra++, calls);
    },
  };
}
