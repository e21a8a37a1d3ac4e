import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandProblem, parseInvalidation, serializeInvalidation } from '../../src/stores/invalidation-message.js';
import type { InvalidationCommand } from '../../src/index.js';

const key = fc.string({ minLength: 1, maxLength: 100 });
const tag = fc.string({ minLength: 1, maxLength: 128 });
const command: fc.Arbitrary<InvalidationCommand> = fc.oneof(
  fc.record({ type: fc.constant('keys' as const), keys: fc.array(key, { minLength: 1, maxLength: 20 }) }),
  fc.record({ type: fc.constant('match' as const), scope: fc.string(), model: fc.string({ minLength: 1 }), tag }, { requiredKeys: ['type'] }),
);

describe('invalidation messages', () => {
  it('round-trip every well-formed command (property)', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), command, (origin, c) => {
      expect(commandProblem(c)).toBeUndefined();
      expect(parseInvalidation(serializeInvalidation(origin, c))).toEqual({ origin, command: c });
    }));
  });

  it('never throw on arbitrary text or JSON, and accept nothing that is not a message (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      const parsed = parseInvalidation(text);
      if (parsed !== undefined) expect(commandProblem(parsed.command)).toBeUndefined();
    }));
  });

  it.each([
    ['another version', { v: 2, o: 'x', c: { type: 'match' } }],
    ['no origin', { v: 1, c: { type: 'match' } }],
    ['an unknown type', { v: 1, o: 'x', c: { type: 'drop' } }],
    ['no keys', { v: 1, o: 'x', c: { type: 'keys', keys: [] } }],
    ['a key that is not a string', { v: 1, o: 'x', c: { type: 'keys', keys: [1] } }],
    ['an extra field', { v: 1, o: 'x', c: { type: 'match', value: 'secret' } }],
    ['a prototype key', JSON.parse('{"v":1,"o":"x","c":{"type":"match","__proto__":{"scope":"a"}}}') as unknown],
    ['an empty model', { v: 1, o: 'x', c: { type: 'match', model: '' } }],
    ['a tag too long', { v: 1, o: 'x', c: { type: 'match', tag: 't'.repeat(129) } }],
    ['a scope that is not a string', { v: 1, o: 'x', c: { type: 'match', scope: 7 } }],
  ])('refuse %s', (_, wire) => {
    expect(parseInvalidation(JSON.stringify(wire))).toBeUndefined();
  });

  it('name what is wrong with a command a caller gives', () => {
    expect(commandProblem({ type: 'keys', keys: Array.from({ length: 1001 }, () => 'k') })).toMatch(/1 to 1000 keys/);
    expect(commandProblem({ type: 'match', tag: '' })).toMatch(/`command.tag` must be a non-empty string/);
    expect(commandProblem(null)).toMatch(/`command` must be an object/);
  });
});
