// Synthetic traces for the policy simulator, generated from a fixed seed (the same keys every run).
// Keys are integers; one-off keys come from a range no popular key uses.

/** A small fast PRNG (mulberry32): uniform in [0, 1). */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Draws ranks 0 … n-1 with P(rank r) ∝ 1 / (r + 1)^alpha. */
export function zipfSampler(n, alpha, rand) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** alpha;
  for (let r = 0; r < n; r++) cdf[r] /= sum;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Ranks mapped to keys by a fixed shuffle, so popularity has nothing to do with a key's value. */
function shuffled(n, rand) {
  const keys = new Int32Array(n);
  for (let i = 0; i < n; i++) keys[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  return keys;
}

const ONE_OFF = 1 << 28;

/**
 * Zipf(alpha) over `keys` popular keys; with `oneHitWonders`, that share of the requests are keys
 * seen once and never again (the long tail of a real cache's traffic).
 */
export function zipfTrace({ alpha, keys = 100_000, requests = 400_000, oneHitWonders = 0, seed = 1 }) {
  const rand = random(seed);
  const draw = zipfSampler(keys, alpha, rand);
  const key = shuffled(keys, rand);
  const trace = new Int32Array(requests);
  let fresh = ONE_OFF;
  for (let i = 0; i < requests; i++) trace[i] = rand() < oneHitWonders ? fresh++ : key[draw()];
  return trace;
}

/** Zipf traffic interrupted by scans: every `every` requests, `length` keys read once in a row. */
export function scanTrace({ alpha = 0.8, keys = 100_000, requests = 400_000, every = 25_000, length = 5_000, seed = 2 }) {
  const rand = random(seed);
  const draw = zipfSampler(keys, alpha, rand);
  const key = shuffled(keys, rand);
  const trace = new Int32Array(requests);
  let fresh = ONE_OFF;
  for (let i = 0; i < requests; ) {
    if (i > 0 && i % every === 0) for (let s = 0; s < length && i < requests; s++) trace[i++] = fresh++;
    else trace[i++] = key[draw()];
  }
  return trace;
}

/** Half the requests walk a loop of `loop` keys in order (a batch job re-reading its inputs), half are Zipf. */
export function loopTrace({ loop = 6_000, alpha = 0.9, keys = 100_000, requests = 300_000, seed = 3 }) {
  const rand = random(seed);
  const draw = zipfSampler(keys, alpha, rand);
  const key = shuffled(keys, rand);
  const trace = new Int32Array(requests);
  let at = 0;
  for (let i = 0; i < requests; i++) trace[i] = rand() < 0.5 ? ONE_OFF + (at++ % loop) : key[draw()];
  return trace;
}

/**
 * An LLM service's prompts over a week: users each with a few recurring prompts of their own
 * (a daily report, a standing question) asked on the days and in the hours they work, shared
 * popular prompts (Zipf 1.0 over a FAQ), and a long tail of one-off questions; the request rate
 * follows a daily rhythm (busy in the working hours of most users, quiet at night).
 */
export function llmTrace({ users = 3_000, requests = 500_000, days = 7, seed = 4 }) {
  const rand = random(seed);
  const faq = zipfSampler(5_000, 1.0, rand);
  const faqKey = shuffled(5_000, rand);
  const profiles = Array.from({ length: users }, (_, u) => ({
    start: Math.floor(rand() * 24),
    hours: 4 + Math.floor(rand() * 8),
    prompts: 2 + Math.floor(rand() * 12),
    base: (1 << 20) + u * 64,
  }));
  const userDraw = zipfSampler(users, 0.6, rand);
  const promptDraw = profiles.map((p) => zipfSampler(p.prompts, 1.2, rand));
  const trace = new Int32Array(requests);
  let fresh = ONE_OFF;
  const perHour = requests / (days * 24);
  let i = 0;
  for (let hour = 0; i < requests; hour++) {
    const h = hour % 24;
    const busy = Math.floor(perHour * (0.3 + 1.4 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI))));
    for (let k = 0; k < busy && i < requests; ) {
      const r = rand();
      if (r < 0.4) {
        trace[i++] = fresh++;
        k++;
      } else if (r < 0.55) {
        trace[i++] = 1 << 24 | faqKey[faq()];
        k++;
      } else {
        const u = userDraw();
        const p = profiles[u];
        if ((h - p.start + 24) % 24 >= p.hours) continue; // this user is not at work now
        trace[i++] = p.base + promptDraw[u]();
        k++;
      }
    }
  }
  return trace;
}

/**
 * Recency-heavy traffic: every key is asked for twice, the second time soon after the first (within
 * `maxDelay` requests), never again, the pattern of a conversation's follow-up or a retry. Frequency
 * says nothing here, recency everything: LRU's best case and an admission filter's worst.
 */
export function recencyTrace({ requests = 300_000, maxDelay = 4_000, seed = 6 }) {
  const rand = random(seed);
  const trace = new Int32Array(requests).fill(-1);
  let fresh = ONE_OFF;
  for (let i = 0; i < requests; i++) {
    if (trace[i] !== -1) continue;
    const key = fresh++;
    trace[i] = key;
    let at = i + 1 + Math.floor(rand() * maxDelay);
    while (at < requests && trace[at] !== -1) at++;
    if (at < requests) trace[at] = key;
  }
  return trace;
}
