import type { InvalidationCommand, StoreSetOptions } from './cache-store.js';

/**
 * The Redis store's indexes (ADR 0066): a sorted set of keys per scope, model and tag, written with
 * each value, so that `invalidate` can find by scope, model or tag the values whose keys are hashes.
 */

/** Sends one Redis command (the store's guard: deadline, breaker). */
export type RunCommand = (args: string[]) => Promise<unknown>;

/**
 * A value and its index entries in one step: the value with its TTL; in each index (a sorted set
 * per scope, model and tag) the key scored by its expiry on the server's clock, members already
 * expired trimmed, and the index kept at least as long as its newest member.
 */
const SET_INDEXED = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1`;
const BATCH = 500;
const SCAN_COUNT = '500';

/** `prefix::idx:s:<scope>`, `idx:m:<model>`, `idx:t:<tag>`. */
export function indexKey(namespace: string, kind: 's' | 'm' | 't', name: string): string {
  return `${namespace}idx:${kind}:${name}`;
}

/** The command that writes a value under `namespace + key` and adds `key` to its indexes. */
export function indexedSet(namespace: string, key: string, value: string, ttlMs: string, index: NonNullable<StoreSetOptions['index']>): string[] {
  const indexes = [indexKey(namespace, 's', index.scope), indexKey(namespace, 'm', index.model), ...index.tags.map((tag) => indexKey(namespace, 't', tag))];
  return ['EVAL', SET_INDEXED, String(1 + indexes.length), `${namespace}${key}`, ...indexes, value, ttlMs, key];
}

/** Deletes the values a command names (by key; by scope, model or tag through the indexes); resolves with how many. */
export async function removeNamed(run: RunCommand, namespace: string, command: InvalidationCommand): Promise<number> {
  if (command.type === 'keys') return unlink(run, command.keys.map((key) => `${namespace}${key}`));
  const indexes = [
    ...(command.scope === undefined ? [] : [indexKey(namespace, 's', command.scope)]),
    ...(command.model === undefined ? [] : [indexKey(namespace, 'm', command.model)]),
    ...(command.tag === undefined ? [] : [indexKey(namespace, 't', command.tag)]),
  ];
  if (indexes.length === 0) return clearCounting(run, namespace);
  let members: string[] | undefined;
  for (const index of indexes) {
    const these = ((await run(['ZRANGE', index, '0', '-1'])) as unknown[]).map(String);
    const kept = new Set(these);
    members = members === undefined ? these : members.filter((key) => kept.has(key));
  }
  const keys = members ?? [];
  const removed = await unlink(run, keys.map((key) => `${namespace}${key}`));
  for (const index of indexes) for (const batch of chunk(keys, BATCH)) await run(['ZREM', index, ...batch]);
  return removed;
}

async function unlink(run: RunCommand, keys: readonly string[]): Promise<number> {
  let removed = 0;
  for (const batch of chunk(keys, BATCH)) removed += Number(await run(['UNLINK', ...batch]));
  return removed;
}

/** Deletes every key of the namespace (SCAN + UNLINK in batches), counting values only (not indexes or locks). */
async function clearCounting(run: RunCommand, namespace: string): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = (await run(['SCAN', cursor, 'MATCH', `${namespace}*`, 'COUNT', SCAN_COUNT])) as [string | number, string[]];
    cursor = String(next);
    if (keys.length > 0) await run(['UNLINK', ...keys]);
    removed += keys.filter((key) => !key.startsWith(`${namespace}idx:`) && !key.startsWith(`${namespace}lock:`)).length;
  } while (cursor !== '0');
  return removed;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
