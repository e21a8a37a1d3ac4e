import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestIdentity } from '../../../src/cache/cache-key.js';
import { Entry, estimateBytes, type HeaderInfo } from '../../../src/cache/entry.js';
import { MemoryTier } from '../../../src/cache/memory-tier.js';
import { POLICY_NAMES } from '../../../src/cache/policy/policy.js';
import { ResponseCache } from '../../../src/cache/response-cache.js';

const op = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 30 }), size: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ op: fc.constant('resize' as const), maxEntries: fc.integer({ min: 1, max: 12 }), maxBytes: fc.integer({ min: 50, max: 2000 }) }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe.each(POLICY_NAMES)("policy '%s'", (policy) => {
  it('holds entries and bytes within their bounds after every operation, and never returns a value other than the last set', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 50, max: 2000 }), fc.array(op, { maxLength: 300 }), (maxEntries, maxBytes, ops) => {
        const cache = new ResponseCache({ maxEntries, maxBytes, policy });
        const last = new Map<number, string>();
        let limits = { maxEntries, maxBytes };
        for (const o of ops) {
          if (o.op === 'set') {
            const value = `${o.key}:${'v'.repeat(o.size)}`;
            if (cache.set(`p${o.key}`, 'm', value)) last.set(o.key, value);
            else last.delete(o.key);
          } else if (o.op === 'get') {
            const got = cache.get(`p${o.key}`, 'm');
            if (got !== undefined) expect(got).toBe(last.get(o.key));
          } else if (o.op === 'delete') {
            cache.delete(`p${o.key}`, 'm');
            last.delete(o.key);
          } else if (o.op === 'resize') {
            limits = { maxEntries: o.maxEntries, maxBytes: o.maxBytes };
            cache.resize(limits);
          } else {
            cache.clear();
            last.clear();
          }
          const stats = cache.getStats();
          expect(stats.size).toBeLessThanOrEqual(limits.maxEntries);
          expect(stats.bytes).toBeLessThanOrEqual(limits.maxBytes);
        }
        // Every entry held is the last value set for its key, and counted once: no phantom, no duplicate.
        let found = 0;
        let bytes = 0;
        for (const [key, value] of last) {
          if (cache.get(`p${key}`, 'm') === undefined) continue;
          found++;
          bytes += estimateBytes(requestIdentity(`p${key}`, 'm', '', '').header, `p${key}`, value);
        }
        expect(found).toBe(cache.size);
        expect(cache.getStats().bytes).toBe(bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps its bounds and finds every entry when fingerprints collide at every level (crafted keys)', () => {
    const info: HeaderInfo = { header: requestIdentity('', 'm', '', '').header, model: 'm', scope: '', epoch: 0, counters: { model: { hits: 0 }, scope: { hits: 0 } } };
    const collide = (id: { text: string }) => id.text.length % 2;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (maxEntries, ops) => {
        const removed = new Set<Entry>();
        const tier = new MemoryTier({ maxEntries, maxBytes: Number.POSITIVE_INFINITY }, (e) => removed.add(e), { policy, fingerprint: collide, fullFingerprint: collide });
        const held = new Map<string, Entry>();
        for (const [write, n] of ops) {
          const text = `k${n}`;
          const id = requestIdentity(text, 'm', '', '');
          const found = tier.find(id, collide(id), true);
          expect(found === undefined || found.text === text).toBe(true);
          if (write) {
            if (found !== undefined) tier.remove(found, 'overwrite');
            const entry = new Entry(info, text, text, 0, 1000, 0, 0);
            tier.insert(entry, collide(entry));
            held.set(text, entry);
          }
          expect(tier.size).toBeLessThanOrEqual(maxEntries);
        }
        const live = [...held.values()].filter((e) => !removed.has(e));
        expect(live).toHaveLength(tier.size);
        for (const e of live) expect(tier.find(requestIdentity(e.text, 'm', '', ''), collide(e))).toBe(e);
        expect(new Set(tier.entries())).toEqual(new Set(live));
      }),
      { numRuns: 150 },
    );
  });
});
