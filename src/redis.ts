export { createRedisStore } from './stores/redis-store.js';
export type { RedisStore, RedisStoreOptions } from './stores/redis-store.js';
export type { IoRedisClientLike, NodeRedisClientLike, RedisClientLike } from './stores/redis-client.js';
