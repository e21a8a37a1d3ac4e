import { describe } from '../internal/validate.js';

/**
 * The part of a node-redis client (v4.6 or later) the store uses: `sendCommand(['GET', key])`.
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
  /**
   * Subscribes a new connection (a duplicate of this client: a subscribed connection cannot send
   * other commands) to `channels`. `ready` settles once subscribed; `end()` works at any time.
   */
  subscribe(channels: readonly string[], handlers: SubscriptionHandlers): Subscription;
}

/** What a subscriber connection reports. */
export interface SubscriptionHandlers {
  message(channel: string, message: string): void;
  /** Subscribed again after a reconnect: messages published meanwhile were missed. */
  resubscribed(): void;
  /** Down for good: the client will not reconnect by itself. */
  ended(): void;
}

/** A subscriber connection the store created. */
export interface Subscription {
  readonly ready: Promise<void>;
  end(): void;
}

interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: () => void): unknown;
}

type NodeRedisSubscriber = Emitter & {
  readonly isOpen?: boolean;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  destroy?: () => void;
  disconnect?: () => Promise<void>;
};

type IoRedisSubscriber = Emitter & {
  readonly status: string;
  connect(): Promise<void>;
  subscribe(...channels: string[]): Promise<unknown>;
  disconnect(): void;
};

/** Ends a node-redis client at once; ending one already closed (it throws then) is not an error. */
function endNodeRedis(client: { destroy?: () => void; disconnect?: () => Promise<void> }): void {
  try {
    if (client.destroy !== undefined) client.destroy();
    else void client.disconnect?.().catch(() => undefined);
  } catch {
    // Already closed.
  }
}

function ignore(): void {
  // A subscriber's socket errors: the main connection's commands already report Redis failures.
}

/** Wraps an injected client; throws a TypeError naming `client` when it is neither flavour. */
export function adaptClient(client: unknown): RedisConnection {
  const c = client as Record<string, unknown> | null;
  if (typeof c === 'object' && c !== null && typeof c.call === 'function' && typeof c.status === 'string') {
    const io = client as IoRedisClientLike & { disconnect?: () => void; duplicate?: () => IoRedisSubscriber };
    return {
      flavour: 'ioredis',
      send: (args) => io.call(args[0] ?? '', ...args.slice(1)),
      end: () => io.disconnect?.(),
      subscribe: (channels, handlers) => subscribeIoRedis(io.duplicate?.bind(io), channels, handlers),
    };
  }
  if (typeof c === 'object' && c !== null && typeof c.sendCommand === 'function') {
    const node = client as NodeRedisClientLike & { destroy?: () => void; disconnect?: () => Promise<void>; duplicate?: () => NodeRedisSubscriber };
    return {
      flavour: 'node-redis',
      send: (args) => node.sendCommand(args),
      end: () => endNodeRedis(node),
      subscribe: (channels, handlers) => subscribeNodeRedis(node.duplicate?.bind(node), channels, handlers),
    };
  }
  throw new TypeError(`\`client\` must be a node-redis client (with \`sendCommand\`) or an ioredis client (with \`call\`), received ${describe(client)}`);
}

function subscribeNodeRedis(duplicate: (() => NodeRedisSubscriber) | undefined, channels: readonly string[], handlers: SubscriptionHandlers): Subscription {
  if (duplicate === undefined) return { ready: Promise.reject(new Error('The client cannot be duplicated')), end: () => undefined };
  const sub = duplicate();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    handlers.ended();
  };
  // node-redis subscribes again before it emits 'ready' on a reconnect; without a reconnect strategy it closes.
  sub.on('error', () => (sub.isOpen === false ? end() : undefined));
  sub.on('end', end);
  const ready = sub.connect()
    .then(() => Promise.all(channels.map((channel) => sub.subscribe(channel, (message) => handlers.message(channel, String(message))))))
    .then(() => {
      sub.on('ready', () => handlers.resubscribed());
    });
  return { ready, end: () => ((ended = true), endNodeRedis(sub)) };
}

function subscribeIoRedis(duplicate: (() => IoRedisSubscriber) | undefined, channels: readonly string[], handlers: SubscriptionHandlers): Subscription {
  if (duplicate === undefined) return { ready: Promise.reject(new Error('The client cannot be duplicated')), end: () => undefined };
  const sub = duplicate();
  let ended = false;
  sub.on('error', ignore);
  sub.on('message', (from: string, message: string) => channels.includes(from) && handlers.message(from, message));
  sub.on('end', () => ended || ((ended = true), handlers.ended()));
  // A duplicate keeps `lazyConnect` (status 'wait'); with its offline queue off, ioredis refuses commands until ready.
  const connected = sub.status === 'wait'
    ? sub.connect()
    : sub.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => sub.once('ready', resolve));
  const ready = connected.then(() => sub.subscribe(...channels)).then(() => {
    // ioredis subscribes again on its own after a reconnect (`autoResubscribe`), at 'ready'.
    sub.on('ready', () => handlers.resubscribed());
  });
  return { ready, end: () => ((ended = true), sub.disconnect()) };
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
  let connecting = true;
  let connection: RedisConnection | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  // node-redis leaves its socket open when destroyed in the middle of connecting (the process then
  // never exits): a client ended then is destroyed once `connect()` settles, or after
  // `connectTimeoutMs` when the server never answers its handshake.
  const finish = (): void => {
    clearTimeout(endTimer);
    connection?.end();
  };
  const ready = (async () => {
    let module: NodeRedisModule;
    try {
      module = (await import(REDIS_MODULE)) as NodeRedisModule;
    } catch (error) {
      throw new Error('`createRedisStore({ url })` needs the `redis` package (node-redis, v4.6 or later): run `npm install redis`, or pass your own `client`', { cause: error });
    }
    const client = module.createClient({
      url,
      disableOfflineQueue: true,
      // Once ended, a client still connecting stops retrying (its `connect()` then rejects).
      socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: (retries: number) => (ended ? false : reconnectDelayMs(retries)) },
    });
    client.on('error', onError);
    connection = adaptClient(client);
    if (ended) return connection;
    try {
      await client.connect();
    } finally {
      connecting = false;
      if (ended) finish();
    }
    return connection;
  })();
  ready.catch(onError);
  return {
    ready,
    end: () => {
      if (ended) return;
      ended = true;
      if (!connecting) finish();
      else endTimer = setTimeout(finish, connectTimeoutMs);
    },
  };
}
