import { LruPolicy } from './lru.js';
import type { EvictionPolicy, PolicyName, SlotFingerprint } from './policy.js';
import { S3FifoPolicy } from './s3-fifo.js';
import { SievePolicy } from './sieve.js';
import { WTinyLfuPolicy } from './w-tinylfu.js';

/** A policy by name, with room for `capacity` slots; `fpOf` gives a held slot's first-level fingerprint. */
export function createPolicy(name: PolicyName, capacity: number, fpOf: SlotFingerprint): EvictionPolicy {
  switch (name) {
    case 'lru':
      return new LruPolicy(capacity);
    case 'sieve':
      return new SievePolicy(capacity);
    case 's3-fifo':
      return new S3FifoPolicy(capacity);
    case 'w-tinylfu':
      return new WTinyLfuPolicy(capacity, fpOf);
  }
}
