// The in-process store behind ResponseCache: quick-lru (the design card's pick) against lru-cache,
// measured as ResponseCache uses it (small-integer fingerprint keys), in one process. `node --expose-gc bench/lru-choice.mjs`
import { LRUCache } from 'lru-cache';
import QuickLRU from 'quick-lru';

const N = 1000;
const READS = 2_000_000;

function timeGets(get) {
  const keys = new Int32Array(READS);
  for (let i = 0; i < READS; i++) keys[i] = (i * 7919) % N;
  const start = process.hrtime.bigint();
  let found = 0;
  for (let i = 0; i < READS; i++) if (get(keys[i]) !== undefined) found++;
  if (found !== READS) throw new Error('a lookup missed');
  return Number(process.hrtime.bigint() - start) / READS;
}

function heapPerEntry(make, entries = 100_000) {
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const cache = make(entries);
  for (let i = 0; i < entries; i++) cache.set(i, i);
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / entries;
  return cache.size > 0 ? bytes : 0;
}

export function benchLruChoice() {
  const lru = new LRUCache({ max: N + 1 });
  const quick = new QuickLRU({ maxSize: N });
  for (let i = 0; i < N; i++) {
    lru.set(i, { i });
    quick.set(i, { i });
  }
  const samples = { lru_cache: [], quick_lru: [] };
  for (let r = 0; r < 5; r++) {
    samples.lru_cache.push(timeGets((k) => lru.get(k)));
    samples.quick_lru.push(timeGets((k) => quick.get(k)));
  }
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  const lruNs = median(samples.lru_cache);
  const quickNs = median(samples.quick_lru);
  return {
    lru_cache_get_ns: Math.round(lruNs * 10) / 10,
    quick_lru_get_ns: Math.round(quickNs * 10) / 10,
    quick_over_lru_ratio: Math.round((quickNs / lruNs) * 100) / 100,
    lru_cache_heap_bytes_per_entry: Math.round(heapPerEntry((n) => new LRUCache({ max: n + 1 }))),
    quick_lru_heap_bytes_per_entry: Math.round(heapPerEntry((n) => new QuickLRU({ maxSize: n }))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(benchLruChoice());
