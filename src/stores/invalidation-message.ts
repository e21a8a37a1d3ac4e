import { tagsProblem } from '../internal/arguments.js';
import { describe } from '../internal/validate.js';
import type { InvalidationCommand } from './cache-store.js';

/** Most keys one message names (a larger `keys` command is sent as several messages). */
export const MAX_MESSAGE_KEYS = 1000;
/** Longest key a message may name: engine keys are ~80 characters, a long scope adds its own. */
const MAX_KEY_CHARS = 4096;
/** Longest message read: anything larger is not one we wrote. */
const MAX_MESSAGE_CHARS = MAX_MESSAGE_KEYS * (MAX_KEY_CHARS + 8) + 1024;
const MATCH_FIELDS = new Set(['type', 'scope', 'model', 'tag']);

/** The wire form of an invalidation: `{ v: 1, o: sender id, c: command }`. Keys and commands only, never values. */
export function serializeInvalidation(origin: string, command: InvalidationCommand): string {
  return JSON.stringify({ v: 1, o: origin, c: command });
}

/**
 * Reads a message from the invalidation channel: outside data (anyone with access to the Redis can
 * publish), so it is checked field by field; `undefined` for anything that is not a well-formed
 * message of version 1.
 */
export function parseInvalidation(text: string): { origin: string; command: InvalidationCommand } | undefined {
  if (text.length > MAX_MESSAGE_CHARS) return undefined;
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(wire) || wire.v !== 1 || typeof wire.o !== 'string' || wire.o === '') return undefined;
  const command = commandProblem(wire.c) === undefined ? (wire.c as InvalidationCommand) : undefined;
  return command === undefined ? undefined : { origin: wire.o, command: freeze(command) };
}

/** What is wrong with a command (for a caller of `store.invalidate`), or undefined when it is well formed. */
export function commandProblem(command: unknown): string | undefined {
  if (!isRecord(command)) return `\`command\` must be an object, received ${describe(command)}`;
  if (command.type === 'keys') {
    const { keys } = command;
    if (Object.keys(command).some((k) => k !== 'type' && k !== 'keys')) return '`command` of type \'keys\' holds only `keys`';
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_MESSAGE_KEYS) return `\`command.keys\` must be an array of 1 to ${MAX_MESSAGE_KEYS} keys`;
    const bad = keys.findIndex((k) => typeof k !== 'string' || k === '' || k.length > MAX_KEY_CHARS);
    return bad < 0 ? undefined : `\`command.keys[${bad}]\` must be a non-empty string of at most ${MAX_KEY_CHARS} characters`;
  }
  if (command.type !== 'match') return `\`command.type\` must be 'keys' or 'match', received ${describe(command.type)}`;
  const unknown = Object.keys(command).find((k) => !MATCH_FIELDS.has(k));
  if (unknown !== undefined) return `Unknown field \`command.${unknown}\`; known fields: type, scope, model, tag`;
  const { scope, model, tag } = command;
  if (scope !== undefined && typeof scope !== 'string') return `\`command.scope\` must be a string, received ${describe(scope)}`;
  if (model !== undefined && (typeof model !== 'string' || model === '')) return `\`command.model\` must be a non-empty string, received ${describe(model)}`;
  return tag === undefined ? undefined : tagsProblem('command.tag', [tag])?.replace('command.tag[0]', 'command.tag');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function freeze(command: InvalidationCommand): InvalidationCommand {
  if (command.type === 'keys') return Object.freeze({ type: 'keys', keys: Object.freeze([...command.keys]) });
  const { scope, model, tag } = command;
  return Object.freeze({
    type: 'match', ...(scope === undefined ? {} : { scope }), ...(model === undefined ? {} : { model }), ...(tag === undefined ? {} : { tag }),
  });
}
