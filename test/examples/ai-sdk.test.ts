import { describe, expect, it } from 'vitest';
import { runNode } from '../node-child.js';

describe('examples/ai-sdk.ts', () => {
  it('runs against the loopback server and shows a hit, one request for two streams, and embedding hits', async () => {
    const env = process.env['OLLAMA_HOST'];
    delete process.env['OLLAMA_HOST'];
    try {
      const { code, stdout, stderr } = await runNode("await import('./examples/ai-sdk.ts');");
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain("outcome: 'hit'");
      expect(stdout).toContain('usage: 0');
      expect(stdout).toContain('two concurrent streams: same text true, requests 1');
      expect(stdout).toContain('{ hits: 2, coalesced: 0, misses: 1 }');
    } finally {
      if (env !== undefined) process.env['OLLAMA_HOST'] = env;
    }
  });
});
