import type { CacheMode, CallOptions, CallStatus, Prompt, ValueMode } from '../types.js';
import { describe, describeType, oneOf } from './validate.js';

/** Checks of the arguments of a call; each names what was wrong and what it received. */

/** Names the part of the prompt that is wrong and its type, never its text: a prompt may hold anything. */
export function validatePrompt(prompt: unknown): asserts prompt is Prompt {
  if (typeof prompt === 'string') return;
  if (!Array.isArray(prompt)) {
    throw new TypeError(`\`prompt\` must be a string or an array of chat messages, received ${describeType(prompt)}`);
  }
  prompt.forEach((message: unknown, i) => {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw new TypeError(`\`prompt[${i}]\` must be a chat message \`{ role: string, content: string }\`, received ${describeType(message)}`);
    }
    for (const field of ['role', 'content'] as const) {
      const value = (message as Record<string, unknown>)[field];
      if (typeof value !== 'string') throw new TypeError(`\`prompt[${i}].${field}\` must be a string, received ${describeType(value)}`);
    }
  });
}

export function validateModel(model: unknown): asserts model is string {
  if (typeof model !== 'string' || model.length === 0) {
    throw new TypeError(`\`model\` must be a non-empty string, received ${describe(model)}`);
  }
}

export function validateExec(exec: unknown): void {
  if (typeof exec !== 'function') throw new TypeError(`\`exec\` must be a function, received ${describe(exec)}`);
}

export function validateScope(scope: unknown): string {
  if (scope === undefined) return '';
  if (typeof scope !== 'string') throw new TypeError(`\`scope\` must be a string, received ${describe(scope)}`);
  return scope;
}

const MODES: readonly CacheMode[] = ['default', 'bypass', 'refresh', 'only-if-cached'];

export function validateCacheMode(mode: unknown): CacheMode {
  return oneOf('cache', mode, MODES, 'default');
}

export function validateValueMode(mode: unknown): ValueMode {
  return oneOf('values', mode, ['copy', 'shared'], 'copy');
}

export function validateSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`\`signal\` must be an AbortSignal, received ${describe(signal)}`);
  return signal;
}

export function validateStatus(status: unknown): CallStatus {
  if (typeof status !== 'object' || status === null || Array.isArray(status)) {
    throw new TypeError(`\`status\` must be an object the call fills in, received ${describe(status)}`);
  }
  return status;
}

export function validateIsComplete(options: { readonly isComplete?: unknown }): void {
  const { isComplete } = options;
  if (isComplete !== undefined && typeof isComplete !== 'function') {
    throw new TypeError(`\`isComplete\` must be a function, received ${describe(isComplete)}`);
  }
}

const CALL_OPTIONS = new Set(['params', 'scope', 'signal', 'ttlMs', 'cache', 'staleIfError', 'status', 'isComplete', 'values', 'graceMs', 'softTimeoutMs', 'tags']);

/** A misspelt per-call option (`ttl` for `ttlMs`) must fail, not be silently ignored. */
export function checkCallOptions(options: unknown, reserved: string): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`\`options\` must be an object, received ${describe(options)}`);
  for (const key in options) {
    if (!CALL_OPTIONS.has(key)) throw new TypeError(`Unknown call option \`${key}\`; known options: ${[...CALL_OPTIONS].join(', ')}`);
  }
  const params = (options as CallOptions).params;
  if (typeof params === 'object' && params !== null) {
    if (Object.hasOwn(params, reserved)) {
      // The stream path keys its entries (chunk lists) with it: a call that set it would be served one.
      throw new TypeError(`\`params['${reserved}']\` is reserved for the engine's streams`);
    }
    // The key counts an object as what its toJSON() returns: at the top level, that would let
    // params stand for any others (the reserved one included). Settings are plain data.
    if (typeof (params as { toJSON?: unknown }).toJSON === 'function') {
      throw new TypeError('`params` must be plain settings: a `toJSON` method at its top level is not allowed');
    }
  }
}

/** Most tags one entry carries, and the longest tag: tags travel in every store envelope and index. */
export const MAX_TAGS = 16;
export const MAX_TAG_CHARS = 128;

/** What is wrong with a tag list, naming it `name` (never quoting a tag), or undefined when it is valid. */
export function tagsProblem(name: string, tags: unknown): string | undefined {
  if (!Array.isArray(tags)) return `\`${name}\` must be an array of strings, received ${describe(tags)}`;
  if (tags.length > MAX_TAGS) return `\`${name}\` holds ${tags.length} tags; at most ${MAX_TAGS} are allowed`;
  for (const [i, tag] of tags.entries()) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_CHARS) {
      const received = typeof tag === 'string' ? `a string of ${tag.length} characters` : describe(tag);
      return `\`${name}[${i}]\` must be a non-empty string of at most ${MAX_TAG_CHARS} characters, received ${received}`;
    }
  }
  return undefined;
}

/** Tags of a call or a `set`: validated, copied, duplicates dropped; undefined when there are none. */
export function validateTags(tags: unknown, name = 'tags'): readonly string[] | undefined {
  if (tags === undefined) return undefined;
  const problem = tagsProblem(name, tags);
  if (problem !== undefined) throw new TypeError(problem);
  const unique = [...new Set(tags as string[])];
  return unique.length === 0 ? undefined : Object.freeze(unique);
}
