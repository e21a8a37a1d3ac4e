import { afterEach, describe, expect, it } from 'vitest';
import { runExample } from '../../examples/langchain.js';
import { createMockModel, startOllamaTestServer, type OllamaTestServer } from '../../src/testing.js';

let server: OllamaTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('examples/langchain.ts', () => {
  it('runs against the loopback server: a hit on the repeat, one request for five streams', async () => {
    server = await startOllamaTestServer({ backend: createMockModel({ chunkDelayMs: 5 }).backend });
    const lines: string[] = [];
    const figures = await runExample(server.url, (line) => lines.push(line));
    expect(figures.invokeOutcomes).toEqual(['miss', 'hit']);
    expect(new Set(figures.streamedTexts).size).toBe(1);
    expect(figures.cacheOutcome).toBe('hit');
    expect(server.requests.filter((r) => r.path === '/api/chat')).toHaveLength(3);
    expect(lines).toHaveLength(4);
  });
});
