// Endpoints on a plain node:http server: `npx tsx examples/http-node.ts`, then
//   curl -H 'authorization: Bearer change-me' http://localhost:8080/ops/health
// In your project, import from 'llm-optimization-engine' and 'llm-optimization-engine/http'.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { OptimizationEngine } from '../src/index.js';
import { createOptimizationHandler, toNodeListener, type AuthorizeResult } from '../src/http.js';

const token = Buffer.from(process.env.OPS_TOKEN ?? 'change-me');

/** Bearer token compared in constant time; no token → 401, a wrong one → 403. */
function authorize(request: Request): AuthorizeResult {
  const header = request.headers.get('authorization');
  if (header?.startsWith('Bearer ') !== true) return 'unauthenticated';
  const given = Buffer.from(header.slice('Bearer '.length));
  return given.length === token.length && timingSafeEqual(given, token);
}

const engine = new OptimizationEngine({
  breaker: { failureThreshold: 5, resetTimeoutMs: 30_000 },
  retry: { attempts: 2 },
  healthProbe: async (signal) => {
    const response = await fetch('http://127.0.0.1:11434/api/tags', { signal });
    if (!response.ok) throw new Error(`Ollama answered ${response.status}`);
  },
});

const handler = createOptimizationHandler(engine, { authorize, basePath: '/ops' });
const server = http.createServer(toNodeListener(handler));
server.listen(Number(process.env.PORT ?? 8080), () => console.log('endpoints on http://localhost:8080/ops'));

await engine.startAutonomous({ intervalMs: 5 * 60_000, stateFile: './llm-optimizer-state.json' });

process.once('SIGTERM', () => {
  server.close();
  void engine.close(); // finishes the run in progress and saves the learned state
});
