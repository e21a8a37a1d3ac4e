// Endpoints mounted in an Express app: `npx tsx examples/http-express.ts`, then
//   curl -H 'authorization: Bearer change-me' http://localhost:3000/ops/metrics
// In your project, import from 'llm-optimization-engine' and 'llm-optimization-engine/http'.
import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { OptimizationEngine } from '../src/index.js';
import { createOptimizationHandler, toNodeListener } from '../src/http.js';

const engine = new OptimizationEngine();
const token = Buffer.from(process.env.OPS_TOKEN ?? 'change-me');

// The service's own prom-client registry: the engine's metrics join it, and /ops/metrics serves it whole.
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const handler = createOptimizationHandler(engine, {
  basePath: '/ops', // the same as the mount path below: the listener reads Express's originalUrl
  registry,
  authorize: (request, route) => {
    if (route.route === '/health') return true; // load balancers probe without credentials
    const header = request.headers.get('authorization');
    if (header?.startsWith('Bearer ') !== true) return 'unauthenticated';
    const given = Buffer.from(header.slice('Bearer '.length));
    return given.length === token.length && timingSafeEqual(given, token);
  },
});

const app = express();
app.use('/ops', toNodeListener(handler));
app.get('/suggest', async (_req, res) => {
  const text = await engine.optimizeAiCall('Suggest a follow-up', 'llama3.1:8b', async () => 'Ask how the demo went.');
  res.json({ text });
});
app.listen(3000, () => console.log('http://localhost:3000/ops/health'));
