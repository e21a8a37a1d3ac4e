import { canonicalJson } from '../cache/canonical-json.js';
import { contentHash } from './ollama-request.js';

/** The `providerOptions` namespace the middleware reads its per-call settings from, and writes its metadata to. */
export const NAMESPACE = 'llmOptimizationEngine';

/**
 * Call options that never change the answer: the caller's signal and HTTP headers. Everything
 * else, including fields a later SDK version adds, is keyed: an unknown field splits the cache
 * rather than serving an answer to a different question.
 */
const VOLATILE = new Set(['abortSignal', 'headers']);

/**
 * The settings a call usually has, in a fixed order with a one-letter tag each, so that the common
 * call is keyed without sorting its fields or serializing them as JSON. `prompt` is keyed apart.
 */
const KNOWN = [
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'presencePenalty', 'frequencyPenalty', 'seed', 'stopSequences',
  'responseFormat', 'tools', 'toolChoice', 'reasoning', 'includeRawChunks', 'providerOptions',
] as const;
const TAGS = 'MTPKRFSQJUCZWO';
const KNOWN_FIELDS = new Set<string>([...KNOWN, 'prompt']);

/** The model a call goes to, as the key sees it. */
export interface KeyedModel {
  readonly specificationVersion: string;
  readonly provider: string;
  readonly modelId: string;
}

/**
 * The identity of one language-model call as text: the model's specification version and provider
 * (the model id is the engine's `model`), then every output-affecting call option, then the prompt.
 * A prefix-free code (every item starts with a tag, strings carry their length), so two calls share
 * a text exactly when they are the same call; strings are concatenated, never escaped, which keeps a
 * hit's keying close to the cost of reading the prompt once. File data is keyed by content hash.
 */
export function callKeyText(model: KeyedModel, params: Readonly<Record<string, unknown>>): string {
  let text = `ai-sdk:${value(model.specificationVersion)}${value(model.provider)}`;
  for (let i = 0; i < KNOWN.length; i++) {
    const field = KNOWN[i] as string;
    const v = field === 'providerOptions' ? ownOptionsRemoved(params[field]) : params[field];
    if (v !== undefined) text += TAGS[i] + value(v);
  }
  text += unknownFields(params);
  return text + prompt(params['prompt']);
}

/** Fields a later SDK version may add: sorted, each with its name. */
function unknownFields(params: Readonly<Record<string, unknown>>): string {
  let names: string[] | undefined;
  for (const field in params) {
    if (!KNOWN_FIELDS.has(field) && !VOLATILE.has(field) && params[field] !== undefined) (names ??= []).push(field);
  }
  if (names === undefined) return '';
  return names.sort().map((field) => `?${value(field)}${value(params[field])}`).join('');
}

/** `providerOptions` without the middleware's own namespace (cache settings are not part of the question). */
export function ownOptionsRemoved(options: unknown): unknown {
  if (typeof options !== 'object' || options === null || !Object.hasOwn(options, NAMESPACE)) return options;
  const { [NAMESPACE]: _own, ...rest } = options as Record<string, unknown>;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

function value(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      if (!Number.isFinite(v)) break;
      return `n${v};`;
    case 'boolean':
      return v ? 'b1' : 'b0';
    default:
      break;
  }
  const json = canonicalJson(v, 'params');
  return `j${json.length}:${json}`;
}

function prompt(messages: unknown): string {
  if (!Array.isArray(messages)) return `p${value(messages)}`;
  let text = `p${messages.length};`;
  for (const message of messages as unknown[]) text += keyedMessage(message);
  return text;
}

/** A message: its role, its content (a string, or parts), then any other field (its `providerOptions`). */
function keyedMessage(message: unknown): string {
  if (typeof message !== 'object' || message === null) return `x${value(message)}`;
  const { role, content } = message as { role?: unknown; content?: unknown };
  let text = `m${value(role)}`;
  if (Array.isArray(content)) {
    text += `a${content.length};`;
    for (const part of content as unknown[]) text += keyedPart(part);
  } else {
    text += value(content);
  }
  let rest: Record<string, unknown> | undefined;
  for (const field in message) {
    const v = (message as Record<string, unknown>)[field];
    if (field !== 'role' && field !== 'content' && v !== undefined) (rest ??= {})[field] = v;
  }
  return rest === undefined ? `${text}.` : `${text}o${value(rest)}`;
}

/** A text part as its text; any other part as canonical JSON, with file data reduced to its content hash. */
function keyedPart(part: unknown): string {
  if (typeof part !== 'object' || part === null) return `x${value(part)}`;
  const record = part as Record<string, unknown>;
  if (record['type'] === 'text' && typeof record['text'] === 'string' && onlyTypeAndText(record)) return `t${value(record['text'])}`;
  return `j${value(withFileHashes(record))}`;
}

function onlyTypeAndText(part: Record<string, unknown>): boolean {
  for (const field in part) if (field !== 'type' && field !== 'text' && part[field] !== undefined) return false;
  return true;
}

/**
 * A part with its `data` as a content hash (AI SDK 6: a base64 string, bytes or a URL; AI SDK 7:
 * `{ type: 'data', data }` or `{ type: 'url', url }`...). A URL is keyed by its text: the model reads
 * what it points to at call time.
 */
function withFileHashes(part: Record<string, unknown>): Record<string, unknown> {
  const data = part['data'];
  if (data === undefined) return part;
  return { ...part, data: hashedData(data) };
}

function hashedData(data: unknown): unknown {
  if (typeof data === 'string' || data instanceof Uint8Array) return contentHash(data);
  if (data instanceof URL) return `url:${data.href}`;
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const inner = (data as Record<string, unknown>)['data'];
    if (typeof inner === 'string' || inner instanceof Uint8Array) return { ...data, data: contentHash(inner) };
  }
  return data;
}
