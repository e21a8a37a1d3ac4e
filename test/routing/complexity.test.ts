import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { complexityFeatures, complexityScore, DEFAULT_WEIGHTS, FEATURES } from '../../src/routing/complexity.js';

describe('complexity score', () => {
  it('rises with each feature of a harder request', () => {
    const base = complexityScore(complexityFeatures('What is the capital of France?', undefined), DEFAULT_WEIGHTS);
    const harder = [
      'Write a function in TypeScript: ```ts\nfunction add(a, b) { return a + b; }\n```',
      'Solve the equation 3x + 4 = 19 and prove the result',
      '1. Read the file\n2. Then parse it\n3. Finally print the totals',
    ].map((p) => complexityScore(complexityFeatures(p, undefined), DEFAULT_WEIGHTS));
    for (const h of harder) expect(h).toBeGreaterThan(base);
    const tools = complexityScore(complexityFeatures('hi', { tools: [{}, {}, {}, {}] }), DEFAULT_WEIGHTS);
    const output = complexityScore(complexityFeatures('hi', { options: { num_predict: 4000 } }), DEFAULT_WEIGHTS);
    const plain = complexityScore(complexityFeatures('hi', undefined), DEFAULT_WEIGHTS);
    expect(tools).toBeGreaterThan(plain);
    expect(output).toBeGreaterThan(plain);
  });

  it('counts conversation depth from the turns of a chat', () => {
    const turns = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: 'ok' }));
    expect(complexityFeatures(turns, undefined).depth).toBe(1);
    expect(complexityFeatures([{ role: 'user', content: 'ok' }], undefined).depth).toBe(0);
  });

  it('stays in [0, 1] for any prompt, params and weights (property)', () => {
    const message = fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'tool'), content: fc.string({ maxLength: 300 }) });
    const weights = fc.record(Object.fromEntries(FEATURES.map((f) => [f, fc.double({ min: 0, max: 10, noNaN: true })])) as Record<(typeof FEATURES)[number], fc.Arbitrary<number>>);
    fc.assert(fc.property(
      fc.oneof(fc.string({ maxLength: 2000 }), fc.array(message, { maxLength: 20 })),
      fc.record({ tools: fc.array(fc.object(), { maxLength: 6 }), num_predict: fc.integer({ min: -5, max: 10_000 }) }, { requiredKeys: [] }),
      weights,
      (prompt, params, w) => {
        const features = complexityFeatures(prompt, params);
        for (const f of FEATURES) {
          expect(features[f]).toBeGreaterThanOrEqual(0);
          expect(features[f]).toBeLessThanOrEqual(1);
        }
        const score = complexityScore(features, w);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1 + 1e-12);
      },
    ));
  });
});
