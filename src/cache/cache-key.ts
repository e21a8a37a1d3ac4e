import { createHash, randomBytes } from 'node:crypto';
import type { Prompt } from '../types.js';
import { describe } from '../internal/validate.js';
import { canonicalJson } from './canonical-json.js';

export { canonicalJson };

/** Version of the key scheme: part of every key, bumped whenever the canonical form changes. */
export const KEY_VERSION = 1;

/** The hash that turns a canonical request into its key. */
export type HashOption = 'sha256' | 'md5' | ((text: string) => string);

/**
 * A request split into its two identity parts. `header` holds the prompt kind, scope, model and
 * params (length-prefixed, so no two requests share one); `text` is the prompt itself (a string, or
 * the canonical JSON of the messages). Two requests are identical exactly when both parts are equal.
 */
export interface RequestIdentity {
  readonly header: string;
  readonly text: string;
  readonly model: string;
  readonly scope: string;
}

/** Builds the identity of a request. Params with no keys are the same as no params. */
export function requestIdentity(prompt: Prompt, model: string, scope: string, params: string): RequestIdentity {
  const isText = typeof prompt === 'string';
  const text = isText ? flatten(prompt) : canonicalJson(prompt, 'prompt');
  return { header: headerOf(isText, scope, model, params), text, model, scope };
}

interface RecentHeader {
  isText: boolean;
  scope: string;
  model: string;
  params: string;
  header: string;
}

const recentHeaders: RecentHeader[] = [];
let nextRecent = 0;

/**
 * The header string, reused from the last few built: a service calls few models with few params, and
 * a reused header is flat (fast to fingerprint) and usually the very string the cache entry holds
 * (compared by pointer). Built with length prefixes, so no two requests share one.
 */
function headerOf(isText: boolean, scope: string, model: string, params: string): string {
  for (const r of recentHeaders) {
    if (r.model === model && r.scope === scope && r.params === params && r.isText === isText) return r.header;
  }
  const header = flatten(`${isText ? 's' : 'm'}${scope.length}:${scope}${model.length}:${model}${params}`);
  recentHeaders[nextRecent] = { isText, scope, model, params, header };
  nextRecent = (nextRecent + 1) % 8;
  return header;
}

/**
 * Prompts built with `+` or template literals are ropes in V8: every `charCodeAt` walks the tree.
 * Converting to a number flattens the string in place once (and fails fast on text), so the
 * fingerprint and the final comparison read flat memory.
 */
function flatten(text: string): string {
  if (Number.isNaN(+text)) return text;
  return text;
}

/** Canonical params text: `''` for none (no params, `{}`, or only `undefined` fields). */
export function canonicalParams(params: Record<string, unknown> | undefined): string {
  if (params === undefined) return '';
  const text = canonicalJson(params);
  return text === '{}' ? '' : text;
}

/**
 * The hash as a function. A custom one must return a non-empty string: anything else (`undefined`
 * from a missing `return`) would give every request the same key in a shared store.
 */
export function resolveHash(option: HashOption): (text: string) => string {
  if (typeof option === 'function') {
    return (text) => {
      const digest: unknown = option(text);
      if (typeof digest === 'string' && digest !== '') return digest;
      throw new TypeError(`The cache's \`hash\` function must return a non-empty string, received ${typeof digest === 'string' ? 'an empty string' : describe(digest)}`);
    };
  }
  return (text) => createHash(option).update(text).digest('hex');
}

/**
 * The full key: `v1:` + hash of the canonical request, prefixed with the URL-encoded scope when there
 * is one so that stores can keep tenants apart. A newline cannot occur inside the header's params
 * JSON, so header and text never run into each other. Defined for every string: see `hashInput`
 * and `encodeScope` for text with lone surrogates.
 */
export function fullKey(id: Pick<RequestIdentity, 'header' | 'text' | 'scope'>, hash: (text: string) => string): string {
  const digest = hash(hashInput(`${id.header}\n${id.text}`));
  return id.scope === '' ? `v${KEY_VERSION}:${digest}` : `v${KEY_VERSION}:${encodeScope(id.scope)}:${digest}`;
}

/** A UTF-16 code unit that is half of no pair: UTF-8 cannot encode it. */
const LONE_SURROGATE = /([\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/;
const LONE_SURROGATES = new RegExp(`${LONE_SURROGATE.source}|\\\\`, 'g');

/**
 * What the hash reads. A crypto hash reads UTF-8, which turns every lone surrogate into U+FFFD, so
 * two prompts (or scopes) differing only there would share a key in the store. Text with one is
 * escaped (`\\` for a backslash, `\\udxxx` for a lone surrogate) under its own prefix, so no two
 * requests hash the same text; well-formed text, the only kind a service normally sees, hashes as
 * it always has.
 */
function hashInput(request: string): string {
  if (!LONE_SURROGATE.test(request)) return `llmoe:v${KEY_VERSION}\n${request}`;
  const escaped = request.replace(LONE_SURROGATES, (s) => (s === '\\' ? '\\\\' : `\\u${s.charCodeAt(0).toString(16)}`));
  return `llmoe:v${KEY_VERSION}:escaped\n${escaped}`;
}

/**
 * The scope as it appears in a key: URL-encoded, and a lone surrogate (which `encodeURIComponent`
 * refuses with a URIError) as `%uD800`, a form `encodeURIComponent` never produces.
 */
function encodeScope(scope: string): string {
  if (!LONE_SURROGATE.test(scope)) return encodeURIComponent(scope);
  return scope
    .split(LONE_SURROGATE)
    .map((part, i) => (i % 2 === 1 ? `%u${part.charCodeAt(0).toString(16).toUpperCase()}` : encodeURIComponent(part)))
    .join('');
}

const SAMPLES = 32;
const ENDS = 16;
const FULL_BELOW = 64;
const PRIME = 0x01000193;
const seed = randomBytes(4).readUInt32LE(0);

// The two lanes of the running fingerprint; module state, because arrays or objects passed between
// the helpers cost more than the hashing (the hit path is measured in nanoseconds).
let laneA = 0;
let laneB = 0;

/**
 * Characters `from`..`to` of `text`, two per multiply on two independent lanes: the multiplies of one
 * lane wait on each other, so two lanes fed two characters at a time run about four times faster
 * than one character per multiply.
 */
function hashRange(text: string, from: number, to: number): void {
  let a = laneA;
  let b = laneB;
  let i = from;
  for (; i + 3 < to; i += 4) {
    a = Math.imul(a ^ (text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)), PRIME);
    b = Math.imul(b ^ (text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16)), PRIME);
  }
  for (; i < to; i++) a = Math.imul(a ^ text.charCodeAt(i), PRIME);
  laneA = a;
  laneB = b;
}

/** Evenly spaced samples of a long text, alternating lanes. */
function hashSamples(text: string, first: number, step: number): void {
  let a = laneA;
  let b = laneB;
  for (let i = 0, at = first; i < SAMPLES; i += 2, at += 2 * step) {
    a = Math.imul(a ^ text.charCodeAt(at), PRIME);
    b = Math.imul(b ^ text.charCodeAt(at + step), PRIME);
  }
  laneA = a;
  laneB = b;
}

/** Murmur3's finaliser: every input bit reaches every output bit before the 30-bit cut. */
function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * A fast, non-cryptographic fingerprint of a request for the in-process map: every character of the
 * header and of prompts up to 64 characters, and for longer prompts their length, 16 characters at each end and 32
 * evenly spaced samples at a per-process random offset. It only picks a bucket: entries are always
 * confirmed by comparing the full text, so a collision costs a comparison, never a wrong answer, and
 * buckets are bounded (see MemoryTier), so crafted collisions cannot turn lookups into long scans.
 */
/**
 * The fingerprint over every character of header and text: the second level for a fingerprint whose
 * bucket is full (templated prompts that differ only between the samples), so they still avoid
 * hashing a concatenated copy of their text.
 */
export function fullFingerprint(id: { readonly header: string; readonly text: string }): number {
  const { header, text } = id;
  laneA = ~seed ^ Math.imul(text.length, 0x85ebca6b);
  laneB = seed;
  hashRange(header, 0, header.length);
  hashRange(text, 0, text.length);
  return avalanche(laneA ^ Math.imul(laneB, 0x9e3779b1));
}

export function fingerprint(id: { readonly header: string; readonly text: string }): number {
  const { header, text } = id;
  const n = text.length;
  laneA = seed ^ Math.imul(n, 0x9e3779b1);
  laneB = ~seed;
  hashRange(header, 0, header.length);
  if (n <= FULL_BELOW) {
    hashRange(text, 0, n);
  } else {
    hashRange(text, 0, ENDS);
    hashRange(text, n - ENDS, n);
    const step = ((n - 2 * ENDS) / SAMPLES) | 0;
    hashSamples(text, ENDS + (seed % step), step);
  }
  return avalanche(laneA ^ Math.imul(laneB, 0x9e3779b1));
}
