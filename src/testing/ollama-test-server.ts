import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OllamaBackend } from './backend.js';
import {
  expectNonNegativeNumber, expectOptionsObject, expectPositiveInteger, expectString, rejectUnknownKeys, describeValue,
} from './option-checks.js';
import { handleEmbed, handleGeneration, handlePs, handleTags, handleVersion, messageOf } from './ollama-routes.js';
import type { RouteContext, RouteResult } from './ollama-routes.js';
import { HttpError, readJsonBody, sendJson, sendText } from './ollama-wire.js';
import { handleOpenAiEmbeddings, handleOpenAiGeneration, handleOpenAiModels, openAiError } from './openai-routes.js';

/** Options of {@link startOllamaTestServer}. */
export interface OllamaTestServerOptions {
  /**
   * What answers: a mock model (`createMockModel()`, or its `.backend`), `createLlamaCppBackend(...)`,
   * or your own {@link OllamaBackend}.
   * @example `startOllamaTestServer({ backend: createMockModel({ latencyMs: 50 }) })`
   */
  readonly backend: OllamaBackend | { readonly backend: OllamaBackend };
  /**
   * Port to listen on; 0 picks a free one (read it from `url`).
   * @default 0
   */
  readonly port?: number;
  /**
   * Interface to listen on. Keep it on loopback: the server has no authentication.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * What `GET /api/version` reports.
   * @default '0.12.0'
   */
  readonly version?: string;
  /**
   * Largest accepted request body; bigger ones get 413.
   * @default 10485760 (10 MiB)
   */
  readonly maxBodyBytes?: number;
}

/** How a recorded request ended. */
export interface RequestOutcome {
  /** HTTP status sent (200 for a stream, even one that later carried an error line). */
  readonly status: number;
  /** `ok`: complete success; `error`: an error reached the client; `aborted`: the client went away first. */
  readonly result: 'ok' | 'error' | 'aborted';
}

/** One request the server received, recorded as soon as its body was read. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/api/generate`. */
  readonly path: string;
  /** The parsed JSON body; `undefined` for a request without one or with a malformed one. */
  readonly body: unknown;
  /** Settles when the response is over: await it to see that a request was aborted on the server. */
  readonly finished: Promise<RequestOutcome>;
}

/** A running server; see {@link startOllamaTestServer}. */
export interface OllamaTestServer {
  /** Base URL for `new Ollama({ host: url })`, e.g. `http://127.0.0.1:53211`. */
  readonly url: string;
  /** Every request received, in arrival order (a live, read-only view). */
  readonly requests: readonly RecordedRequest[];
  /** Aborts work in flight, closes every socket and stops listening. */
  close(): Promise<void>;
}

type Route = (ctx: RouteContext) => RouteResult | Promise<RouteResult>;

const ROUTES: Readonly<Record<string, Readonly<Record<string, Route>>>> = {
  '/api/generate': { POST: (ctx) => handleGeneration('generate', ctx) },
  '/api/chat': { POST: (ctx) => handleGeneration('chat', ctx) },
  '/api/embed': { POST: handleEmbed },
  '/api/tags': { GET: handleTags },
  '/api/ps': { GET: handlePs },
  '/api/version': { GET: handleVersion },
  '/v1/chat/completions': { POST: (ctx) => handleOpenAiGeneration('chat', ctx) },
  '/v1/completions': { POST: (ctx) => handleOpenAiGeneration('completion', ctx) },
  '/v1/embeddings': { POST: handleOpenAiEmbeddings },
  '/v1/models': { GET: handleOpenAiModels },
};

interface ResolvedServerOptions {
  readonly backend: OllamaBackend;
  readonly port: number;
  readonly host: string;
  readonly version: string;
  readonly maxBodyBytes: number;
}

const isBackend = (value: unknown): value is OllamaBackend => typeof value === 'object' && value !== null
  && typeof (value as Partial<OllamaBackend>).generate === 'function' && Array.isArray((value as Partial<OllamaBackend>).models);

/** The backend itself, or the one a mock model carries (`createMockModel()` is accepted as it is). */
function asBackend(value: unknown): OllamaBackend {
  if (isBackend(value)) return value;
  const carried: unknown = typeof value === 'object' && value !== null ? (value as { backend?: unknown }).backend : undefined;
  if (isBackend(carried)) return carried;
  throw new TypeError(`\`backend\` must be an OllamaBackend ({ models, generate }) or a mock model, received ${describeValue(value)}`);
}

function resolveServerOptions(input: unknown): ResolvedServerOptions {
  const options = expectOptionsObject('startOllamaTestServer', input) as Partial<OllamaTestServerOptions>;
  rejectUnknownKeys('startOllamaTestServer', options, ['backend', 'port', 'host', 'version', 'maxBodyBytes']);
  const backend = asBackend(options.backend);
  const port = expectNonNegativeNumber('port', options.port ?? 0);
  if (!Number.isInteger(port) || port > 65535) throw new RangeError(`\`port\` must be an integer from 0 to 65535, received ${port}`);
  return Object.freeze({
    backend, port,
    host: expectString('host', options.host ?? '127.0.0.1'),
    version: expectString('version', options.version ?? '0.12.0'),
    maxBodyBytes: expectPositiveInteger('maxBodyBytes', options.maxBodyBytes ?? 10 * 1024 * 1024),
  });
}

class OllamaTestServerImpl implements OllamaTestServer {
  readonly #options: ResolvedServerOptions;
  readonly #server: Server;
  readonly #requests: RecordedRequest[] = [];
  readonly #inFlight = new Set<AbortController>();
  url = '';

  constructor(options: ResolvedServerOptions) {
    this.#options = options;
    // A test server must never take the test process down: a failure here only drops that socket.
    this.#server = createServer((req, res) => void this.#handle(req, res).catch(() => res.destroy()));
  }

  get requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    const { address, port } = this.#server.address() as AddressInfo;
    this.url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  async close(): Promise<void> {
    for (const controller of this.#inFlight) controller.abort(new DOMException('The test server is closing', 'AbortError'));
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    res.on('error', () => controller.abort());
    res.once('close', () => {
      this.#inFlight.delete(controller);
      if (!res.writableFinished) controller.abort(new DOMException('The client closed the connection', 'AbortError'));
    });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    let settle: (outcome: RequestOutcome) => void = () => undefined;
    const finished = new Promise<RequestOutcome>((resolve) => { settle = resolve; });
    const result = await this.#respond(req, res, { method, path, finished }, controller.signal);
    settle({ status: res.statusCode, result: controller.signal.aborted && !res.writableFinished ? 'aborted' : result });
  }

  async #respond(req: IncomingMessage, res: ServerResponse, entry: Omit<RecordedRequest, 'body'>, signal: AbortSignal): Promise<RouteResult> {
    let body: unknown;
    try {
      if (entry.method === 'POST') body = await readJsonBody(req, this.#options.maxBodyBytes);
    } catch (error) {
      this.#requests.push({ ...entry, body: undefined });
      return fail(res, signal, error, entry.path);
    }
    this.#requests.push({ ...entry, body });
    try {
      const route = this.#route(entry.method, entry.path, res);
      if (route === undefined) return res.statusCode < 400 ? 'ok' : 'error';
      return await route({ backend: this.#options.backend, body, res, signal, version: this.#options.version });
    } catch (error) {
      return fail(res, signal, error, entry.path);
    }
  }

  #route(method: string, path: string, res: ServerResponse): Route | undefined {
    if (path === '/') {
      if (method === 'GET' || method === 'HEAD') sendText(res, 200, 'Ollama is running');
      else sendText(res, 405, '405 method not allowed');
      return undefined;
    }
    const routes = ROUTES[path];
    const route = routes?.[method];
    if (route !== undefined) return route;
    if (routes === undefined) sendText(res, 404, '404 page not found');
    else sendText(res, 405, '405 method not allowed');
    return undefined;
  }
}

/** Sends Ollama's error response (OpenAI's shape under `/v1`), or just drops the connection once it is too late for one. */
function fail(res: ServerResponse, signal: AbortSignal, error: unknown, path: string): RouteResult {
  if (signal.aborted || res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return 'error';
  }
  const status = error instanceof HttpError ? error.status : 500;
  const message = messageOf(error);
  sendJson(res, status, path.startsWith('/v1/') ? openAiError(status, message) : { error: message });
  return 'error';
}

/**
 * Starts a loopback HTTP server that speaks Ollama's REST API (`/api/generate`, `/api/chat`,
 * `/api/embed`, `/api/tags`, `/api/ps`, `/api/version`, `/`) and its OpenAI-compatible one
 * (`/v1/chat/completions` and `/v1/completions`, streamed as server-sent events, `/v1/embeddings`,
 * `/v1/models`), so the real `ollama` and `openai` clients work against it unchanged (give the
 * `openai` client `baseURL: server.url + '/v1'`). Every request is recorded in `requests`.
 *
 * @example
 * ```ts
 * const mock = createMockModel();
 * const server = await startOllamaTestServer({ backend: mock });
 * const ollama = new Ollama({ host: server.url });
 * const { response } = await ollama.generate({ model: 'llama3.1:8b', prompt: 'Hi' });
 * await server.close();
 * ```
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export async function startOllamaTestServer(options: OllamaTestServerOptions): Promise<OllamaTestServer> {
  const server = new OllamaTestServerImpl(resolveServerOptions(options));
  await server.listen();
  return server;
}
