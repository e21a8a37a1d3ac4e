import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createOptimizationHandler } from '../../src/http.js';
import { direct } from './helpers.js';

const CANARIES: [string, string, string, string, string] = ['sk-CANARY-prompt-9f8e7d', 'canary.person@example.com', 'sk-CANARY-value-1a2b3c', 'sk-CANARY-error-5d6e', 'CANARY-scope-secret'];

describe('no response contains a prompt, a cached value or a secret', () => {
  it('drives every route after calls whose prompts, values, scopes and errors carry canaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmoe-leak-'));
    const engine = new OptimizationEngine({ retry: false, breaker: { failureThreshold: 1 } });
    const send = direct(createOptimizationHandler(engine, { authorize: 'allow-all', autonomous: { stateFile: join(dir, 'state.json'), snapshotCache: true } }));
    const prompt = `Summarise the account of ${CANARIES[1]} with key ${CANARIES[0]}`;
    await engine.optimizeAiCall(prompt, 'llama', () => ({ text: CANARIES[2] }), { scope: CANARIES[4] });
    await engine.optimizeAiCall(prompt, 'llama', () => ({ text: CANARIES[2] }), { scope: CANARIES[4] });
    await engine.optimizeAiCall([{ role: 'user', content: prompt }], 'llama', () => CANARIES[2]);
    await engine.optimizeAiCall(`${prompt}!`, 'failing', () => Promise.reject(new Error(CANARIES[3]))).catch(() => undefined);
    const bodies: string[] = [];
    const routes: Array<[string, string]> = [
      ['GET', '/optimization/report'], ['GET', '/optimization/cache-stats'], ['POST', '/optimization/auto-optimize'],
      ['POST', '/autonomous/enable'], ['GET', '/autonomous/status'], ['GET', '/health'], ['GET', '/metrics'],
      ['POST', '/autonomous/disable'], ['GET', '/autonomous/status'], ['GET', '/nope'], ['DELETE', '/health'],
      ['GET', '/optimization/dashboard'], ['GET', '/optimization/dashboard/data'],
    ];
    for (const [method, path] of routes) {
      const response = await send(path, { method, headers: method === 'POST' ? { 'content-type': 'application/json' } : {} });
      if (method === 'POST' && path !== '/optimization/auto-optimize') expect(response.status).toBe(200);
      bodies.push(await response.text());
    }
    // A body echoing canaries back must not have them reflected either.
    bodies.push(await (await send('/autonomous/enable', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [CANARIES[0]]: 1 }) })).text());
    const all = bodies.join('\n');
    expect(all).toContain('llm_optimizer_calls_total');
    expect(all).toContain('"has_data":true');
    for (const canary of CANARIES) expect(all).not.toContain(canary);
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });
});
