import { RingBuffer } from '../internal/ring-buffer.js';
import { correlation, quantile } from '../internal/summary.js';
import type { CallOutcome } from '../types.js';
import type { LoadEvidence } from './recommendations.js';

const HIT = 0;
const COALESCED = 1;
const MISS = 2;
const BYPASS = 3;
const ERROR = 4;

/** Outcome → code by comparisons of interned strings (cheaper than a keyed lookup on the hit path); hits first. */
export function outcomeCode(outcome: CallOutcome): number {
  if (outcome === 'hit') return HIT;
  if (outcome === 'miss') return MISS;
  if (outcome === 'coalesced') return COALESCED;
  return outcome === 'bypass' ? BYPASS : ERROR;
}

export const OUTCOMES: readonly CallOutcome[] = ['hit', 'coalesced', 'miss', 'bypass', 'error'];

/** The last `historySize` call outcomes, as one small number each (a ring write per call). */
export class CallHistory {
  readonly ring: RingBuffer;

  constructor(size: number) {
    this.ring = new RingBuffer(size);
  }

  /** `code` from {@link outcomeCode}. */
  push(code: number, timestampMs: number): void {
    this.ring.push(code, timestampMs);
  }

  /** 1 for a call served without running the model (hit or coalesced), 0 for one that looked up and ran it. */
  hitSeries(): number[] {
    const out: number[] = [];
    for (const code of this.ring.values()) if (code !== BYPASS) out.push(code === HIT || code === COALESCED ? 1 : 0);
    return out;
  }

  /** 1 for a model call that failed, 0 for one that succeeded (hits and coalesced calls are not model calls). */
  errorSeries(): number[] {
    const out: number[] = [];
    for (const code of this.ring.values()) if (code > COALESCED) out.push(code === ERROR ? 1 : 0);
    return out;
  }
}

/** Error rate of the last `window` model calls and of the older ones; undefined with fewer than 10 recent calls. */
export function errorRates(series: readonly number[], window: number): { recent: number; baseline: number; calls: number } | undefined {
  const n = Math.min(window, series.length);
  if (n < 10) return undefined;
  let recent = 0;
  let older = 0;
  for (let i = 0; i < series.length; i++) {
    if (i >= series.length - n) recent += series[i] as number;
    else older += series[i] as number;
  }
  const olderCount = series.length - n;
  return { recent: recent / n, baseline: olderCount === 0 ? 0 : older / olderCount, calls: n };
}

/** How latency relates to other calls in flight, from aligned latency and in-flight rings. */
export function loadEvidence(latency: RingBuffer, inFlight: RingBuffer): LoadEvidence | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  const from = Math.max(latency.firstSeq, inFlight.firstSeq);
  for (let s = from; s < Math.min(latency.seq, inFlight.seq); s++) {
    const x = inFlight.valueAt(s);
    if (Number.isFinite(x)) {
      xs.push(x);
      ys.push(latency.valueAt(s));
    }
  }
  if (xs.length === 0) return undefined;
  const split = quantile(xs, 0.5);
  const low = ys.filter((_, i) => (xs[i] as number) <= split);
  const high = ys.filter((_, i) => (xs[i] as number) > split);
  return { r: correlation(xs, ys), samples: xs.length, split, lowMs: quantile(low, 0.5), highMs: quantile(high, 0.5) };
}

/** Counts calls per `width` ms and pushes each finished window's count to `ring` (empty windows as 0, at most a history's worth). */
export class RequestBuckets {
  /** End of the window being counted (NaN before the first call). */
  end = Number.NaN;
  count = 0;
  readonly #ring: RingBuffer;
  readonly #width: number;

  constructor(ring: RingBuffer, width: number) {
    this.#ring = ring;
    this.#width = width;
  }

  /** Closes the windows that ended at or before `t`. */
  roll(t: number): void {
    const width = this.#width;
    if (Number.isNaN(this.end)) {
      this.end = t + width;
      return;
    }
    if (t < this.end) return;
    const ring = this.#ring;
    ring.push(this.count, this.end);
    const empty = Math.floor((t - this.end) / width);
    for (let i = 1; i <= Math.min(empty, ring.capacity); i++) ring.push(0, this.end + i * width);
    this.end += (empty + 1) * width;
    this.count = 0;
  }
}
