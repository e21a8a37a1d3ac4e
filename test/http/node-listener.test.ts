import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import express from 'express';
import fc from 'fast-check';
import { OptimizationEngine } from '../../src/index.js';
import { createOptimizationHandler, toNodeListener } from '../../src/http.js';

async function serve(handler: (r: Request) => Promise<Response>) {
  const server = http.createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return { port, close, server };
}

function rawRequest(port: number, options: http.RequestOptions, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('toNodeListener', () => {
  it('refuses something that is not a handler', () => {
    expect(() => toNodeListener('nope' as never)).toThrow(TypeError);
  });

  it('answers 405 with a JSON body to methods the fetch API refuses (TRACE)', async () => {
    let called = 0;
    const { port, close } = await serve(async () => (called++, new Response('never')));
    const r = await rawRequest(port, { path: '/health', method: 'TRACE' });
    expect(r.status).toBe(405);
    expect(JSON.parse(r.text)).toMatchObject({ error: { status: 405, code: 'method_not_allowed' } });
    expect(called).toBe(0);
    await close();
  });

  it('answers 500 with a JSON body when the handler rejects or its body fails', async () => {
    let mode = 'reject';
    const { port, close } = await serve(async () => {
      if (mode === 'reject') throw new Error('secret');
      return new Response(new ReadableStream({ pull: (c) => c.error(new Error('broken body')) }));
    });
    for (const m of ['reject', 'broken-body']) {
      mode = m;
      const r = await rawRequest(port, { path: '/x' });
      expect(r.status).toBe(500);
      expect(JSON.parse(r.text)).toEqual({ error: { status: 500, code: 'internal_error', message: 'The request could not be answered' } });
    }
    await close();
  });

  it('builds the Request from method, URL, Host and headers, and streams the body', async () => {
    const seen: Array<{ url: string; method: string; auth: string | null; body: string }> = [];
    const { port, close } = await serve(async (request) => {
      seen.push({ url: request.url, method: request.method, auth: request.headers.get('authorization'), body: await request.text() });
      return new Response('ok', { status: 201, headers: { 'x-test': 'yes' } });
    });
    const r = await rawRequest(port, { method: 'POST', path: '/a/b?c=1', headers: { host: 'svc.local:9', authorization: 'Bearer t', 'content-type': 'application/json' } }, '{"k":1}');
    expect(r).toEqual({ status: 201, text: 'ok' });
    expect(seen).toEqual([{ url: 'http://svc.local:9/a/b?c=1', method: 'POST', auth: 'Bearer t', body: '{"k":1}' }]);
    await close();
  });

  it('survives a client that hangs up in the middle of its body, and keeps serving', async () => {
    const outcomes: string[] = [];
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let finished!: () => void;
    const handlerFinished = new Promise<void>((resolve) => (finished = resolve));
    const { port, close } = await serve(async (request) => {
      started();
      try {
        outcomes.push(`read ${(await request.text()).length} characters`);
      } catch {
        outcomes.push('body ended early');
      }
      finished();
      return new Response('done');
    });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('{"partial":');
    await handlerStarted;
    req.destroy();
    await handlerFinished;
    expect(outcomes).toEqual(['body ended early']);
    expect((await rawRequest(port, { path: '/' })).text).toBe('done');
    await close();
  });
});

describe('toNodeListener: request targets the fetch API would rewrite or misread', () => {
  it.each([
    ['credentials in an absolute target', 'http://u:p@x/health', {}],
    ['credentials in Host', '/health', { host: 'a:b@c' }],
    ['a Host that is not a host', '/health', { host: 'bad host[' }],
    ['an encoded dot segment', '/%2e%2e/health', {}],
    ['a mixed dot segment', '/ops/.%2E/health', {}],
    ['a dot segment', '/ops/../health', {}],
    ['a single dot segment', '/./health', {}],
    ['a backslash', '/optimization\\report', {}],
    ['a fragment', '/health#x', {}],
    ['an asterisk target', '*', {}],
  ])('400 for %s (%s), before the handler runs', async (_what, path, headers: Record<string, string>) => {
    let called = 0;
    const { port, close } = await serve(async () => (called++, new Response('served')));
    const r = await rawRequest(port, { path, headers });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { status: 400, code: 'bad_request' } });
    expect(r.text).not.toContain('u:p');
    expect(called).toBe(0);
    await close();
  });

  it('keeps a path that starts with // as a path (not a host), and takes the host of an absolute target', async () => {
    const urls: string[] = [];
    const { port, close } = await serve(async (request) => (urls.push(request.url), new Response('ok')));
    await rawRequest(port, { path: '//x/health' });
    await rawRequest(port, { path: 'http://svc.local:8/a?b=1' });
    await rawRequest(port, { path: '/q', headers: { host: 'my_service:8080' } });
    expect(urls).toEqual([`http://127.0.0.1:${port}//x/health`, 'http://svc.local:8/a?b=1', 'http://my_service:8080/q']);
    await close();
  });
});

/** Rejects instead of waiting forever when a request is never answered (the failure these tests look for). */
function answered<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const never = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer`)), 5_000)));
  return Promise.race([promise, never]).finally(() => clearTimeout(timer));
}

function agentRequest(agent: http.Agent, port: number, options: http.RequestOptions, body?: Buffer): Promise<{ status: number; text: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, ...options }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('toNodeListener: a body the handler does not read', () => {
  const guarded = (): ReturnType<typeof createOptimizationHandler> => createOptimizationHandler(new OptimizationEngine(), {
    basePath: '/ops',
    authorize: (request) => request.headers.get('authorization') === 'Bearer t' || 'unauthenticated',
  });

  it.each([
    ['404', 'POST', '/ops/nope', { authorization: 'Bearer t' }],
    ['405', 'POST', '/ops/health', { authorization: 'Bearer t' }],
    ['401', 'POST', '/ops/autonomous/enable', {}],
    ['405 of the fetch API', 'TRACE', '/ops/health', {}],
    ['400 of a path', 'POST', '/ops/%2e%2e/x', {}],
  ])('answers %s to a 512 KB body, then the next request on the same keep-alive socket', async (status, method, path, headers) => {
    const { port, close } = await serve(guarded());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = Buffer.alloc(512 * 1024, 'x');
    const first = await answered(agentRequest(agent, port, { method, path, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, body), 'first');
    expect(first.status).toBe(Number(status.slice(0, 3)));
    const second = await answered(agentRequest(agent, port, { path: '/ops/health', headers: { authorization: 'Bearer t' } }), 'second');
    expect(second).toMatchObject({ status: 200, reused: true });
    agent.destroy();
    await close();
  });

  it.each([
    ['a 401 route, declared length', 'POST', '/ops/autonomous/enable', {}, true, 401],
    ['a 401 route, chunked', 'POST', '/ops/autonomous/enable', {}, false, 401],
    ['a 404 route, chunked', 'POST', '/ops/nope', { authorization: 'Bearer t' }, false, 404],
    ['a GET route, declared length', 'GET', '/ops/health', { authorization: 'Bearer t' }, true, 200],
  ])('closes the connection instead of reading 100 MB sent to %s', async (_name, method, path, headers: Record<string, string>, declared, expected) => {
    const { port, close, server } = await serve(guarded());
    const bytesRead = new Promise<number>((resolve) => server.once('connection', (socket: Socket) => socket.once('close', () => resolve(socket.bytesRead))));
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const status = await answered(new Promise<number | string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers: declared ? { ...headers, 'content-length': total } : { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      let sent = 0;
      const write = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    }), '100 MB');
    // The answer, or a reset when the connection closes before the client reads it.
    expect([expected, 'ECONNRESET', 'EPIPE']).toContain(status);
    expect(await answered(bytesRead, 'the connection closing')).toBeLessThan(16 * 1024 * 1024);
    await close();
  });
});

describe('toNodeListener under Express: a body earlier middleware consumed', () => {
  async function app(middleware: express.RequestHandler) {
    const engine = new OptimizationEngine();
    const application = express();
    application.use('/ops', middleware, toNodeListener(createOptimizationHandler(engine, { authorize: 'allow-all', basePath: '/ops' })));
    const server = application.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;
    return {
      base, engine,
      close: async () => (server.closeAllConnections(), await new Promise((resolve) => server.close(resolve)), await engine.close()),
    };
  }
  const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers 400 body_already_read when the middleware kept nothing in req.body (a raw-body hook), changing nothing', async () => {
    const { base, engine, close } = await app((req, _res, next) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => (Object.assign(req, { rawBody: Buffer.concat(chunks) }), next()));
    });
    const r = await answered(post(`${base}/autonomous/enable`, '{"interval_seconds":30}'), 'enable');
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { status: 400, code: 'body_already_read' } });
    expect(engine.getAutonomousStatus().enabled).toBe(false);
    expect((await answered(fetch(`${base}/health`), 'health')).status).toBe(200);
    await close();
  });

  it('treats a request without a body, which the middleware also read, as an empty body', async () => {
    const { base, close } = await app((req, _res, next) => (req.resume(), req.on('end', next)));
    const { port } = new URL(base);
    const text = await answered(new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end('POST /ops/autonomous/disable HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n'));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    }), 'disable');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    await close();
  });

  it('passes on a body express.raw() left as bytes, and an empty one as empty', async () => {
    const { base, close } = await app(express.raw({ type: 'application/json' }));
    const on = await answered(post(`${base}/autonomous/enable`, '{"interval_seconds":30}'), 'enable');
    expect(on.status).toBe(200);
    expect(((await on.json()) as { interval_seconds: number }).interval_seconds).toBe(30);
    expect((await answered(post(`${base}/autonomous/disable`, ''), 'disable')).status).toBe(200);
    await close();
  });
});

describe('toNodeListener: random request targets and Host headers', () => {
  it('each gets a 4xx or the handler\'s answer over a raw socket, never a 500 or silence', async () => {
    const { port, close } = await serve(async (request) => new Response(new URL(request.url).pathname));
    const printable = fc.stringMatching(/^[\x21-\x7e]{0,24}$/);
    const target = fc.oneof(printable, printable.map((t) => `/${t}`), printable.map((t) => `http://${t}`));
    const host = fc.option(fc.oneof(printable, fc.constantFrom('a:b@c', 'x:1', '[::1]:80', 'my_service', 'h:99999999')), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(target, host, async (t, h) => {
        const head = `GET ${t} HTTP/1.1\r\n${h === undefined ? '' : `Host: ${h}\r\n`}Connection: close\r\n\r\n`;
        const answer = await answered(new Promise<string>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => socket.write(head));
          let received = '';
          socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
          socket.on('close', () => resolve(received));
          socket.on('error', () => undefined);
        }), t);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
        expect([200, 400, 405], `${JSON.stringify(head)} answered ${answer.slice(0, 40)}`).toContain(status);
        // What the handler was given is the path as sent, never a rewritten one.
        if (status === 200 && t.startsWith('/')) expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(t.split('?')[0]);
      }),
      { numRuns: 400 },
    );
    await close();
  }, 60_000);
});
