import { describe } from '../internal/validate.js';

/**
 * The part of a node-redis (v4/v5) client the store uses: `sendCommand(['GET', key])`.
 * Structural, so the package never imports `redis` for its types.
 */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The part of an ioredis client the store uses: `call('GET', key)` and `status`. */
export interface IoRedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  readonly status: string;
}

/** A node-redis or an ioredis client; which one is detected from its methods. */
export type RedisClientLike = NodeRedisClientLike | IoRedisClientLike;

/** Raw commands over either client flavour. */
export interface RedisConnection {
  readonly flavour: 'node-redis' | 'ioredis';
  send(args: string[]): Promise<unknown>;
  /** Ends the connection (only for clients the store created). */
  end(): void;
}

/** Wraps an injected client; throws a TypeError naming `client` when it is neither flavour. */
export function adaptClient(client: unknown): RedisConnection {
  const c = client as Record<string, unknown> | null;
  if (typeof c === 'object' && c !== null && typeof c.call === 'function' && typeof c.status === 'string') {
    const io = client as IoRedisClientLike & { disconnect?: () => void };
    return { flavour: 'ioredis', send: (args) => io.call(args[0] ?? '', ...args.slice(1)), end: () => io.disconnect?.() };
  }
  if (typeof c === 'object' && c !== null && typeof c.sendCommand === 'function') {
    const node = client as NodeRedisClientLike & { destroy?: () => void; disconnect?: () => Promise<void> };
    return {
      flavour: 'node-redis',
      send: (args) => node.sendCommand(args),
      end: () => (node.destroy !== undefined ? node.destroy() : void node.disconnect?.().catch(() => undefined)),
    };
  }
  throw new TypeError(`\`client\` must be a node-redis client (with \`sendCommand\`) or an ioredis client (with \`call\`), received ${describe(client)}`);
}

/** How a created client reconnects: quickly at first, then every 2 s, forever. */
export function reconnectDelayMs(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), 2000);
}

/** A variable, not a literal: bundlers (tsup here, and the user's) must leave `redis` to be resolved at run time. */
const REDIS_MODULE: string = 'redis';

interface NodeRedisModule {
  createClient(options: Record<string, unknown>): NodeRedisClientLike & {
    on(event: 'error', listener: (error: unknown) => void): unknown;
    connect(): Promise<unknown>;
  };
}

/** A client the store created from a URL: usable once first connected; `end()` works at any time. */
export interface OwnedConnection {
  readonly ready: Promise<RedisConnection>;
  end(): void;
}

/**
 * Creates a node-redis client for `url` with a bounded offline queue (`disableOfflineQueue`: while
 * disconnected, commands fail at once instead of piling up) and an `'error'` listener (without one
 * a socket error would crash the process). Loads `redis` only now, so it stays an optional peer.
 * `ready` resolves at the first connection (node-redis keeps retrying until then).
 */
export function openUrl(url: string, connectTimeoutMs: number, onError: (error: unknown) => void): OwnedConnection {
  let ended = false;
  let connection: RedisConnection | undefined;
  const ready = (async () => {
    let module: NodeRedisModule;
    try {
      module = (await import(REDIS_MODULE)) as NodeRedisModule;
    } catch (error) {
      throw new Error('`createRedisStore({ url })` needs the `redis` package (node-redis v4 or v5): run `npm install redis`, or pass your own `client`', { cause: error });
    }
    const client = module.createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectDelayMs },
    });
    client.on('error', onError);
    connection = adaptClient(client);
    if (ended) connection.end();
    else await client.connect();
    return connection;
  })();
  ready.catch(onError);
  return {
    ready,
    end: () => {
      ended = true;
      connection?.end();
    },
  };
}
