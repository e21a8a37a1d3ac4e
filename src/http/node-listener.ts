import type { IncomingMessage, ServerResponse } from 'node:http';

/** A `node:http` request listener that also works as Express middleware (`app.use('/ops', listener)`). */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => void;

interface ExpressRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
}

/**
 * Adapts a fetch-API handler to `node:http` and Express. Under Express the full `originalUrl` is
 * used, so give the handler the same `basePath` as the mount path. A body already parsed by
 * `express.json()` is passed on as JSON. Never throws; a failure answers 500.
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
  try {
    request = toRequest(req);
  } catch {
    // The fetch API refuses some methods outright (TRACE, CONNECT): none of them is a route here.
    send(res, 405, { error: { status: 405, code: 'method_not_allowed', message: `Method ${req.method ?? ''} is not allowed` } });
    if (!req.readableEnded) req.resume();
    return;
  }
  try {
    const response = await handler(request);
    const body = Buffer.from(await response.arrayBuffer());
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.setHeader(name, value));
    res.end(body);
  } catch {
    if (!res.headersSent) {
      send(res, 500, { error: { status: 500, code: 'internal_error', message: 'The request could not be answered' } });
    } else {
      res.destroy();
    }
  } finally {
    // Whatever the handler did not read (a refused or oversized body) is discarded, not left to stall the socket.
    if (!req.readableEnded) req.resume();
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function toRequest(req: ExpressRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    try {
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    } catch {
      // A header the fetch API refuses is not one the handler needs.
    }
  }
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (method !== 'GET' && method !== 'HEAD') {
    if (req.readableEnded && req.body !== undefined) {
      init.body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    } else {
      init.body = bodyStream(req);
      init.duplex = 'half';
    }
  }
  return new Request(requestUrl(req), init);
}

function requestUrl(req: ExpressRequest): string {
  const path = req.originalUrl ?? req.url ?? '/';
  const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  try {
    return new URL(path, `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`).href;
  } catch {
    try {
      return new URL(path, 'http://localhost').href;
    } catch {
      return 'http://localhost/';
    }
  }
}

/**
 * The request body as a web stream, with backpressure. Cancelling it (the handler refused an
 * oversized body) drains the rest instead of leaving it unread; Node's own `Readable.toWeb` throws
 * an uncaught error when data arrives after a cancel.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      const fail = (): void => {
        if (done) return;
        done = true;
        controller.error(new Error('The request body ended early'));
      };
      req.on('end', () => {
        if (!req.complete) return fail();
        if (done) return;
        done = true;
        controller.close();
      });
      req.on('error', fail);
      req.on('close', () => {
        if (!req.complete) fail();
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      done = true;
      req.resume();
    },
  });
}
