import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { createOptimizationHandler, toNodeListener } from '../../src/http.js';

const ROUTES = ['/optimization/report', '/optimization/cache-stats', '/optimization/auto-optimize', '/autonomous/enable', '/autonomous/disable', '/autonomous/status', '/health', '/metrics'];
const BASE = '/ops';
const SERVED = new Set(ROUTES.map((r) => `${BASE}${r}`));

/** Pieces of paths that look like routes, or like ways to reach one sideways (dot segments, encodings, separators). */
const piece = fc.oneof(
  fc.constantFrom('ops', 'OPS', 'optimization', 'report', 'cache-stats', 'auto-optimize', 'autonomous', 'enable', 'disable', 'status', 'health', 'metrics', 'Health', '%68ealth'),
  fc.constantFrom('', '.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '%2E.', '%2f', '%2F', '%5c', ';', ';x', '~', '%00', '%20', 'x'),
  fc.stringMatching(/^[A-Za-z0-9._~%-]{1,6}$/),
);
const separator = fc.constantFrom('/', '/', '/', '\\', '//');
const path = fc.tuple(fc.array(fc.tuple(separator, piece), { minLength: 1, maxLength: 5 }), fc.constantFrom('', '', '?', '?a=1', '#x', '/'))
  .map(([parts, tail]) => `${parts.map(([s, p]) => s + p).join('')}${tail}`);
/** Paths that are routes, or one edit away from one. */
const nearRoute = fc.tuple(fc.constantFrom(...SERVED), fc.constantFrom('', '/', '//', '/.', '/..', '%2f', '?q', '#f', ';', '.', 'x'), fc.boolean())
  .map(([route, tail, slashes]) => (slashes ? route.replace('/', '//') : route) + tail);

describe('routing: only an exact route path is served', () => {
  const engine = new OptimizationEngine();
  const handler = createOptimizationHandler(engine, { authorize: 'allow-all', basePath: BASE });
  let server: http.Server;
  let port: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    server = http.createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await engine.close();
  });

  function get(target: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, agent, path: target }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('through the fetch handler: a route is served if and only if the URL path equals it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(path, nearRoute), async (p) => {
        const request = new Request(`http://test.local${p}`);
        const status = (await handler(request)).status;
        expect(status !== 404).toBe(SERVED.has(new URL(request.url).pathname));
      }),
      { numRuns: 3_000 },
    );
  });

  it('through node:http: a route is served if and only if the path as sent equals it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(path, nearRoute), async (p) => {
        const status = await get(p);
        const sent = p.split('?')[0] as string;
        expect(status !== 404 && status !== 400, `${p} answered ${status}`).toBe(SERVED.has(sent));
      }),
      { numRuns: 600 },
    );
  }, 60_000);
});
