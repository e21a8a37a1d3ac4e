import type { OptimizationEngine } from '../engine.js';
import { isOptimizerError } from '../errors.js';
import { loggerOption, silentLogger, type Logger } from '../logger.js';
import { describe, positiveInteger, positiveNumber } from '../internal/validate.js';
import type { AutonomousOptions } from '../optimizer/autonomous.js';
import { BodyError, onlyKeys, readJsonObject } from './body.js';
import { engineMetrics, PROMETHEUS_CONTENT_TYPE, type EngineMetrics, type PrometheusRegistryLike } from './prometheus.js';

/** What `authorize` is told about the request it decides. */
export interface RouteInfo {
  /** The route without `basePath`, e.g. `/optimization/report`. */
  route: string;
  method: 'GET' | 'HEAD' | 'POST';
  /** True for the POST routes that change the engine. */
  mutating: boolean;
}

/**
 * `true`: go ahead. `false` or `'forbidden'`: 403 (the caller is known, the route is not theirs).
 * `'unauthenticated'`: 401 (no or bad credentials).
 */
export type AuthorizeResult = boolean | 'unauthenticated' | 'forbidden';

/** Decides every request. Compare tokens with `crypto.timingSafeEqual`. A throw answers 500 (never lets the request in). */
export type Authorize = (request: Request, route: RouteInfo) => AuthorizeResult | Promise<AuthorizeResult>;

/** Options of {@link createOptimizationHandler}. */
export interface OptimizationHandlerOptions {
  /**
   * Decides every route (reads included: the report says how the service is used). Required: pass
   * `'allow-all'` to serve everyone, only behind a network boundary you trust.
   */
  authorize: Authorize | 'allow-all';
  /** Prefix of every route, e.g. `'/ops'` for `/ops/health`. Routes are served at their exact path only (not `/ops/health/`). @default '' */
  basePath?: string;
  /** Largest request body read, in bytes; larger bodies get 413. @default 16_384 */
  maxBodyBytes?: number;
  /** A prom-client `Registry` to add the engine's metrics to; `GET /metrics` then serves the whole registry. @default none */
  registry?: PrometheusRegistryLike;
  /** Options `POST /autonomous/enable` starts autonomous mode with (the body may set `interval_seconds`). @default {} */
  autonomous?: AutonomousOptions;
  /** Deadline of the health check behind `GET /health`, in ms. @default 5_000 */
  healthTimeoutMs?: number;
  /** Receives failures the handler turned into 500 answers. @default silent */
  logger?: Logger;
}

interface Resolved {
  readonly authorize: Authorize;
  readonly basePath: string;
  readonly maxBodyBytes: number;
  readonly registry: PrometheusRegistryLike | undefined;
  readonly autonomous: AutonomousOptions;
  readonly healthTimeoutMs: number;
  readonly logger: Logger;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly run: (request: Request) => Promise<Response>;
}

type Handler = (request: Request) => Promise<Response>;

const JSON_TYPE = 'application/json; charset=utf-8';
const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/**
 * A fetch-API handler serving the engine's report, cache statistics, auto-optimization, autonomous
 * mode, health and Prometheus metrics. Mount it in Hono, Next.js, Bun or Deno as is, or in
 * `node:http`/Express through `toNodeListener`. It never throws: every request gets a response,
 * errors as `{ "error": { "status", "code", "message" } }`.
 *
 * @example
 * ```ts
 * const handler = createOptimizationHandler(engine, {
 *   basePath: '/ops',
 *   authorize: (request) => request.headers.get('authorization') === `Bearer ${token}` || 'unauthenticated',
 * });
 * ```
 */
export function createOptimizationHandler(engine: OptimizationEngine, options: OptimizationHandlerOptions): Handler {
  const resolved = resolveHandlerOptions(engine, options);
  const metrics = engineMetrics(engine);
  if (resolved.registry !== undefined) metrics.register(resolved.registry);
  const routes = buildRoutes(engine, resolved, metrics);
  return async (request) => {
    let response: Response;
    try {
      response = await handle(request, routes, resolved);
    } catch (error) {
      resolved.logger.warn('The optimization handler failed to answer a request', error);
      response = errorResponse(500, 'internal_error', 'The request could not be answered');
    }
    return isHead(request) ? new Response(null, { status: response.status, headers: response.headers }) : response;
  };
}

function resolveHandlerOptions(engine: OptimizationEngine, options: OptimizationHandlerOptions): Resolved {
  if (typeof engine !== 'object' || engine === null || typeof engine.getCacheStats !== 'function') {
    throw new TypeError(`\`engine\` must be an OptimizationEngine, received ${describe(engine)}`);
  }
  const { authorize, basePath = '', registry, logger } = options ?? ({} as Partial<OptimizationHandlerOptions>);
  if (authorize !== 'allow-all' && typeof authorize !== 'function') {
    throw new TypeError(
      `\`authorize\` is required: a function \`(request, { route, method, mutating }) => true | false | 'unauthenticated' | 'forbidden'\`, or 'allow-all' to serve every caller; received ${describe(authorize)}`,
    );
  }
  if (typeof basePath !== 'string' || (basePath !== '' && (!basePath.startsWith('/') || basePath.includes('?') || basePath.includes('#')))) {
    throw new TypeError(`\`basePath\` must be '' or a path starting with '/', received ${describe(basePath)}`);
  }
  if (registry !== undefined && typeof (registry as Partial<PrometheusRegistryLike>)?.registerMetric !== 'function') {
    throw new TypeError(`\`registry\` must be a prom-client Registry (with \`registerMetric\`), received ${describe(registry)}`);
  }
  return Object.freeze({
    authorize: authorize === 'allow-all' ? () => true : authorize,
    basePath: basePath.replace(/\/+$/, ''),
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes, 16_384),
    registry,
    autonomous: { ...options.autonomous },
    healthTimeoutMs: positiveNumber('healthTimeoutMs', options.healthTimeoutMs, 5_000),
    logger: loggerOption('logger', logger) ?? silentLogger,
  });
}

async function handle(request: Request, routes: ReadonlyMap<string, Route>, options: Resolved): Promise<Response> {
  const path = routePath(request.url, options.basePath);
  const route = path === undefined ? undefined : routes.get(path);
  if (path === undefined || route === undefined) return errorResponse(404, 'not_found', notFoundMessage(options.basePath));
  const method = request.method.toUpperCase();
  const allowed = route.method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
  if (!allowed.includes(method)) {
    return errorResponse(405, 'method_not_allowed', `Use ${route.method} for this route`, { allow: allowed.join(', ') });
  }
  const verdict = await options.authorize(request, { route: path, method: method as RouteInfo['method'], mutating: route.method === 'POST' });
  if (verdict === 'unauthenticated') return errorResponse(401, 'unauthenticated', 'Credentials are missing or invalid');
  if (verdict !== true) return errorResponse(403, 'forbidden', 'Not allowed');
  try {
    return await route.run(request);
  } catch (error) {
    if (error instanceof BodyError) return errorResponse(error.status, error.code, error.message);
    if (isOptimizerError(error) && error.code === 'ERR_CLOSED') return errorResponse(503, 'engine_closed', 'The engine was closed');
    // Only startAutonomous raises it: the state file's folder cannot be written. Its path stays out of the answer.
    if (isOptimizerError(error) && error.code === 'ERR_STORE') {
      options.logger.warn('POST /autonomous/enable: the state file cannot be saved', error);
      return errorResponse(503, 'state_file_unavailable', 'The state file cannot be saved; see the service log');
    }
    throw error;
  }
}

/**
 * The route a URL asks for, relative to `basePath`; undefined when it is outside it. Exact: no
 * trailing slash, case or empty segment is forgiven, so a reverse proxy's rule for a path covers
 * every request this handler serves for it.
 */
function routePath(url: string, basePath: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
}

function buildRoutes(engine: OptimizationEngine, options: Resolved, metrics: EngineMetrics): ReadonlyMap<string, Route> {
  const noBody = async (request: Request): Promise<void> => onlyKeys(await readJsonObject(request, options.maxBodyBytes), []);
  return new Map<string, Route>([
    ['/optimization/report', { method: 'GET', run: () => Promise.resolve(json(200, engine.getOptimizationReport())) }],
    ['/optimization/cache-stats', { method: 'GET', run: () => Promise.resolve(json(200, engine.getCacheStats())) }],
    ['/optimization/auto-optimize', { method: 'POST', run: async (request) => (await noBody(request), json(200, engine.autoOptimize())) }],
    ['/autonomous/enable', { method: 'POST', run: async (request) => json(200, await engine.startAutonomous(await enableOptions(request, options))) }],
    ['/autonomous/disable', { method: 'POST', run: async (request) => (await noBody(request), json(200, await engine.stopAutonomous())) }],
    ['/autonomous/status', { method: 'GET', run: () => Promise.resolve(json(200, engine.getAutonomousStatus())) }],
    ['/health', { method: 'GET', run: async () => {
      const report = await engine.health({ timeoutMs: options.healthTimeoutMs });
      return json(report.status === 'down' ? 503 : 200, { ...report, timestamp: new Date().toISOString() });
    } }],
    ['/metrics', { method: 'GET', run: async () => {
      const registry = options.registry;
      if (registry?.metrics !== undefined) {
        return new Response(await registry.metrics(), { status: 200, headers: { ...BASE_HEADERS, 'content-type': registry.contentType ?? PROMETHEUS_CONTENT_TYPE } });
      }
      return new Response(metrics.render(), { status: 200, headers: { ...BASE_HEADERS, 'content-type': PROMETHEUS_CONTENT_TYPE } });
    } }],
  ]);
}

/** `POST /autonomous/enable` takes `{ "interval_seconds": 10…86400 }` at most; the state file is never settable over HTTP. */
async function enableOptions(request: Request, options: Resolved): Promise<AutonomousOptions> {
  const body = await readJsonObject(request, options.maxBodyBytes);
  onlyKeys(body, ['interval_seconds']);
  const seconds = body.interval_seconds;
  if (seconds === undefined) return options.autonomous;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 10 || seconds > 86_400) {
    throw new BodyError(400, 'invalid_field', '`interval_seconds` must be a number from 10 to 86400');
  }
  return { ...options.autonomous, intervalMs: seconds * 1000 };
}

function isHead(request: Request): boolean {
  try {
    return request.method.toUpperCase() === 'HEAD';
  } catch {
    return false;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body ?? null), { status, headers: { ...BASE_HEADERS, 'content-type': JSON_TYPE } });
}

/** Says where the routes are: a handler mounted under a path without `basePath` answers 404 everywhere. */
function notFoundMessage(basePath: string): string {
  const where = basePath === '' ? 'at the root (no `basePath`)' : `under \`basePath\` ${basePath}`;
  return `No such route: the endpoints are served ${where}, such as ${basePath}/health; a handler mounted under a path needs that path as \`basePath\``;
}

function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { status, code, message } }), {
    status,
    headers: { ...BASE_HEADERS, ...headers, 'content-type': JSON_TYPE },
  });
}
