import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { validatePrompt } from '../../src/internal/arguments.js';

const secret = 'SSN 123-45-6789 of patient Jane Doe';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('validatePrompt', () => {
  it('names what was wrong in a chat prompt, never its text', () => {
    expect(messageOf(() => validatePrompt([{ role: 'user', content: 'hi' }, secret])))
      .toBe('`prompt[1]` must be a chat message `{ role: string, content: string }`, received a string');
    expect(messageOf(() => validatePrompt([{ role: 'user', content: 42 }]))).toBe('`prompt[0].content` must be a string, received a number');
    expect(messageOf(() => validatePrompt([{ content: secret }]))).toBe('`prompt[0].role` must be a string, received undefined');
    expect(messageOf(() => validatePrompt([[secret]]))).toBe('`prompt[0]` must be a chat message `{ role: string, content: string }`, received an array');
    expect(messageOf(() => validatePrompt({ text: secret }))).toBe('`prompt` must be a string or an array of chat messages, received an object');
  });

  it('never echoes any part of a refused prompt', async () => {
    // Marked, so that a quoted prompt shows as `QZ` in the message whatever the text.
    const text = fc.string().map((s) => `QZ${s}QZ`);
    const bad = fc.oneof(
      text.map((s) => [s]),
      text.map((s) => [{ role: s, content: 7 }]),
      text.map((s) => [{ role: 7, content: s }]),
      text.map((s) => [{ role: 'user', content: s }, { role: 'user', content: [s] }]),
      text.map((s) => [{ role: 'user', content: s, images: [new Map([[s, s]])] }]),
    );
    const engine = new OptimizationEngine();
    await fc.assert(
      fc.asyncProperty(bad, async (prompt) => {
        const error = await engine.optimizeAiCall(prompt as never, 'm', () => 'x').then(() => undefined, (e: unknown) => e as Error);
        expect(error).toBeInstanceOf(TypeError);
        expect(error?.message).not.toContain('QZ');
      }),
    );
  });
});

