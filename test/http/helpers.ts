import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '../../src/http.js';

export type Send = (path: string, init?: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/** Calls a fetch handler directly, as Hono, Bun or Deno would. */
export function direct(handler: (request: Request) => Promise<Response>): Send {
  return (path, init) => handler(new Request(`http://test.local${path}`, init));
}

/** Serves a fetch handler from a real node:http server on a free port through toNodeListener. */
export async function overNodeHttp(handler: (request: Request) => Promise<Response>): Promise<{ send: Send; close: () => Promise<void> }> {
  const server = http.createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    send: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export const TOKEN = 'admin-token';
export const READ_TOKEN = 'read-token';

/** Bearer tokens: the admin token may do anything, the read token only GET routes. */
export function bearerAuthorize(request: Request, route: { mutating: boolean }): boolean | 'unauthenticated' {
  const header = request.headers.get('authorization');
  if (header === null) return 'unauthenticated';
  if (header === `Bearer ${TOKEN}`) return true;
  if (header === `Bearer ${READ_TOKEN}`) return !route.mutating;
  return false;
}

export const admin = { authorization: `Bearer ${TOKEN}` };
export const adminJson = { ...admin, 'content-type': 'application/json' };
