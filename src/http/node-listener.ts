import type { IncomingMessage, ServerResponse } from 'node:http';

/** A `node:http` request listener that also works as Express middleware (`app.use('/ops', listener)`). */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => void;

interface ExpressRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
}

/**
 * What is left of a body the handler did not read is read and discarded up to this many bytes, so
 * that the connection can serve its next request; a longer rest closes the connection instead.
 */
const MAX_DRAIN_BYTES = 1024 * 1024;

/** Why the request could not be turned into a fetch-API `Request`. */
class RequestError extends Error {
  readonly status: 400 | 405;
  readonly code: string;

  constructor(status: 400 | 405, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The body as a web stream, and what the listener needs to settle it after the answer. */
interface Body {
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes handed to the stream so far. */
  readonly received: () => number;
  /** Stops feeding the stream (its reader, if any, gets an error): the answer is being sent. */
  readonly detach: () => void;
}

/**
 * Adapts a fetch-API handler to `node:http` and Express. Under Express the full `originalUrl` is
 * used, so give the handler the same `basePath` as the mount path. A body already parsed by
 * `express.json()` is passed on as JSON. Never throws; a failure answers 500.
 *
 * A request the fetch API cannot represent faithfully answers 400 before the handler runs: a URL or
 * `Host` with credentials or that is not a host, a path the URL parser would rewrite (dot segments,
 * `%2e`, backslashes, a fragment). A body the handler left unread is drained up to 1 MiB after the
 * answer, so a keep-alive connection stays usable; a longer one closes the connection unread.
 *
 * @example
 * ```ts
 * http.createServer(toNodeListener(createOptimizationHandler(engine, { authorize }))).listen(8080);
 * ```
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  if (typeof handler !== 'function') throw new TypeError('`handler` must be a function `(request: Request) => Promise<Response>`');
  return (req, res) => {
    void serve(handler, req, res);
  };
}

async function serve(handler: (request: Request) => Promise<Response>, req: ExpressRequest, res: ServerResponse): Promise<void> {
  let request: Request;
  let body: Body | undefined;
  try {
    ({ request, body } = toRequest(req));
  } catch (error) {
    const { status, code, message } = error instanceof RequestError ? error : new RequestError(400, 'bad_request', 'The request could not be read');
    settleBody(req, res, undefined);
    send(res, status, { error: { status, code, message } });
    return;
  }
  try {
    const response = await handler(request);
    const bytes = Buffer.from(await response.arrayBuffer());
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.setHeader(name, value));
    settleBody(req, res, body);
    res.end(bytes);
  } catch {
    settleBody(req, res, body);
    if (!res.headersSent) {
      send(res, 500, { error: { status: 500, code: 'internal_error', message: 'The request could not be answered' } });
    } else {
      res.destroy();
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * Called just before the answer is written. Node would leave a body nobody reads paused (stalling
 * the keep-alive connection), or read all of it however large: the rest is drained up to
 * `MAX_DRAIN_BYTES`, and a larger rest (declared, or found while draining) closes the connection.
 */
function settleBody(req: IncomingMessage, res: ServerResponse, body: Body | undefined): void {
  body?.detach();
  if (req.readableEnded || req.destroyed) return;
  const declared = declaredLength(req);
  if (declared !== undefined && declared - (body?.received() ?? 0) > MAX_DRAIN_BYTES) return closeAfterAnswer(req, res);
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.byteLength;
    if (drained <= MAX_DRAIN_BYTES) return;
    req.pause();
    closeAfterAnswer(req, res);
  });
  req.on('error', () => undefined);
  req.resume();
}

/** Before the answer is written, `connection: close` (Node closes once it is sent); after, the socket once it is flushed. */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  else if (res.writableFinished) req.socket.destroy();
  else res.once('finish', () => req.socket.destroy());
}

function declaredLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function toRequest(req: ExpressRequest): { request: Request; body: Body | undefined } {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    try {
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    } catch {
      // A header the fetch API refuses is not one the handler needs.
    }
  }
  const url = requestUrl(req);
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  let body: Body | undefined;
  let consumed = false;
  if (method !== 'GET' && method !== 'HEAD') {
    if (!req.readableEnded) {
      body = bodyStream(req);
      init.body = body.stream;
      init.duplex = 'half';
    } else if (req.body !== undefined) {
      init.body = parsedBody(req.body);
    } else {
      // Earlier middleware read the body and kept nothing: the handler gets a body already used.
      consumed = hasBody(req);
      if (consumed) init.body = '';
    }
  }
  let request: Request;
  try {
    request = new Request(url, init);
  } catch {
    body?.detach();
    // The fetch API refuses some methods outright (TRACE, CONNECT): none of them is a route here.
    throw new RequestError(405, 'method_not_allowed', `Method ${method} is not allowed`);
  }
  if (consumed) request.body?.getReader();
  return { request, body };
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (declaredLength(req) ?? 0) > 0;
}

/** A body an Express parser left in `req.body`: a string or bytes as they are, anything else as JSON. */
function parsedBody(value: unknown): string | Uint8Array<ArrayBuffer> {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new Uint8Array(value);
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    throw new RequestError(400, 'malformed_body', 'The body parsed by earlier middleware cannot be passed on as JSON');
  }
}

/**
 * The URL of the request, built so that the handler sees the path exactly as sent: the target is
 * appended to the origin, never resolved against it (`//x/health` is not host `x`), and a target
 * the URL parser would rewrite is refused (`/%2e%2e/health`, `/a\b`: a reverse proxy's path rules
 * saw something else).
 */
function requestUrl(req: ExpressRequest): string {
  const target = req.originalUrl ?? req.url ?? '/';
  const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  let origin: string;
  let rest: string;
  const absolute = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(target);
  if (absolute !== null) {
    origin = `${(absolute[1] as string).toLowerCase()}://${checkedHost(absolute[2] as string, 'request target')}`;
    rest = absolute[3] === '' ? '/' : (absolute[3] as string);
  } else {
    const host = req.headers.host;
    origin = `${secure ? 'https' : 'http'}://${host === undefined ? 'localhost' : checkedHost(host, '`Host` header')}`;
    rest = target;
  }
  if (!rest.startsWith('/')) throw new RequestError(400, 'bad_request', 'The request target must be a path starting with /');
  let url: URL;
  try {
    url = new URL(`${origin}${rest}`);
  } catch {
    throw new RequestError(400, 'bad_request', 'The request target is not a valid URL');
  }
  const query = rest.indexOf('?');
  const path = query === -1 ? rest : rest.slice(0, query);
  if (url.pathname !== path || url.hash !== '') {
    throw new RequestError(400, 'bad_request', 'The request path is not in normal form (dot segments, backslashes, a fragment or characters that need percent-encoding)');
  }
  return url.href;
}

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::\d{1,5})?$/;

function checkedHost(host: string, what: string): string {
  if (!HOST.test(host)) throw new RequestError(400, 'bad_request', `The ${what} does not name a host (credentials and other characters are refused)`);
  return host;
}

/**
 * The request body as a web stream, with backpressure. Node's own `Readable.toWeb` throws an
 * uncaught error when data arrives after a cancel; here a cancel or `detach` only stops feeding
 * the stream, and `settleBody` decides what happens to the rest.
 */
function bodyStream(req: IncomingMessage): Body {
  let done = false;
  let received = 0;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const onData = (chunk: Buffer): void => {
    if (done) return;
    received += chunk.byteLength;
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const stop = (): void => {
    done = true;
    req.off('data', onData);
    req.pause();
  };
  const fail = (message: string): void => {
    if (done) return;
    stop();
    controller.error(new Error(message));
  };
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      req.on('data', onData);
      req.on('end', () => {
        if (!req.complete) return fail('The request body ended early');
        if (done) return;
        stop();
        controller.close();
      });
      req.on('error', () => fail('The request body ended early'));
      req.on('close', () => {
        if (!req.complete) fail('The request body ended early');
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      stop();
    },
  });
  return { stream, received: () => received, detach: () => fail('The answer was sent before the body was read') };
}
