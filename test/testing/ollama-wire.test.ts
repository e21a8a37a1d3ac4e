import { describe, expect, it } from 'vitest';
import { startOllamaTestServer, createMockModel } from '../../src/testing.js';

describe('the Ollama test server: bad requests', () => {
  it('answers a malformed body without quoting it (the body holds the prompt)', async () => {
    const server = await startOllamaTestServer({ backend: createMockModel().backend });
    try {
      const response = await fetch(`${server.url}/api/generate`, { method: 'POST', body: 'SSN 123-45-6789 of patient Jane Doe' });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).toBe('{"error":"invalid JSON body"}');
    } finally {
      await server.close();
    }
  });
});
