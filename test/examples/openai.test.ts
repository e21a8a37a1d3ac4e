import { describe, expect, it } from 'vitest';
import { runOpenAiExample } from '../../examples/openai.js';

describe('examples/openai.ts', () => {
  it('runs against the loopback server: 5 concurrent calls and a hit share one request, a stream and its replay one more, a new scope one more', async () => {
    const lines: string[] = [];
    const { upstream } = await runOpenAiExample(undefined, (line) => lines.push(line));
    expect(upstream).toBe(3);
    expect(lines[0]).toMatch(/^answer: \S/);
    expect(lines[1]).toBe(lines[2]?.replace('stream 2', 'stream 1'));
  });
});
