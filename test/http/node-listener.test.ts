import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { toNodeListener } from '../../src/http.js';

async function serve(handler: (r: Request) => Promise<Response>) {
  const server = http.createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return { port, close };
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
    await rawRequest(port, { path: '/weird', headers: { host: 'bad host[' } });
    expect(seen).toEqual([
      { url: 'http://svc.local:9/a/b?c=1', method: 'POST', auth: 'Bearer t', body: '{"k":1}' },
      { url: 'http://localhost/weird', method: 'GET', auth: null, body: '' },
    ]);
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
