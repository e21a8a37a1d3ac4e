// Endpoints in a Hono app (the handler is a fetch handler: Bun, Deno and Next.js route handlers take it the same way).
// `npx tsx examples/http-hono.ts`, then curl -H 'authorization: Bearer change-me' http://localhost:8787/ops/autonomous/status
// In your project, import from 'llm-optimization-engine' and 'llm-optimization-engine/http'.
import { timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { OptimizationEngine } from '../src/index.js';
import { createOptimizationHandler } from '../src/http.js';

const engine = new OptimizationEngine();
const expected = Buffer.from(`Bearer ${process.env.OPS_TOKEN ?? 'change-me'}`);

const optimization = createOptimizationHandler(engine, {
  basePath: '/ops',
  authorize: (request) => {
    const header = request.headers.get('authorization');
    if (header === null) return 'unauthenticated';
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  },
  autonomous: { intervalMs: 5 * 60_000 }, // what POST /ops/autonomous/enable starts
});

const app = new Hono();
app.all('/ops/*', (c) => optimization(c.req.raw));
app.get('/', (c) => c.text('service'));

serve({ fetch: app.fetch, port: 8787 }, ({ port }) => console.log(`http://localhost:${port}/ops/health`));
