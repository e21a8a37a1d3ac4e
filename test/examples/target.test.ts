import { afterEach, describe, expect, it } from 'vitest';
import { connectDemoTarget, connectOllama, ollamaBaseUrl, probeOllama } from '../../examples/demo/target.js';
import { parseScore } from '../../examples/services/i-match.js';
import { timeSlot } from '../../examples/services/i-proactive.js';
import { createMockModel, startOllamaTestServer, type OllamaTestServer } from '../../src/testing.js';

let server: OllamaTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function ollamaWith(models: string[]): Promise<string> {
  server = await startOllamaTestServer({ backend: createMockModel({ models }).backend });
  return server.url;
}

describe('ollamaBaseUrl', () => {
  it('reads OLLAMA_HOST the way the ollama CLI does', () => {
    expect(ollamaBaseUrl(undefined)).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('')).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('0.0.0.0')).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('gpu-box:8080')).toBe('http://gpu-box:8080');
    expect(ollamaBaseUrl('https://ollama.internal')).toBe('https://ollama.internal');
    expect(ollamaBaseUrl('http://10.0.0.5:11434/')).toBe('http://10.0.0.5:11434');
    expect(ollamaBaseUrl(':11500')).toBe('http://127.0.0.1:11500');
  });
});

describe('connecting to a real Ollama', () => {
  it('uses a server that answers /api/version and has the model', async () => {
    const url = await ollamaWith(['llama3.1:8b', 'nomic-embed-text:latest']);
    expect(await probeOllama(url)).toMatch(/\d/);
    const target = await connectOllama(url, 'llama3.1:8b', 'nomic-embed-text');
    if (typeof target === 'string') throw new Error(target);
    expect(target.label).toContain('llama3.1:8b');
    const answer = await target.client.generate({ model: target.model, prompt: 'hi', stream: false });
    expect(answer.done).toBe(true);
  });

  it('says why it cannot use a server that lacks the model, or none at all', async () => {
    const url = await ollamaWith(['llama3.1:8b']);
    expect(await connectOllama(url, 'llama3.1:70b', 'llama3.1:70b')).toMatch(/does not have llama3\.1:70b.*ollama pull llama3\.1:70b/);
    await server?.close();
    server = undefined;
    expect(await probeOllama(url)).toBeUndefined();
    expect(await connectOllama(url, 'llama3.1:8b', 'llama3.1:8b')).toBe(`no Ollama answered at ${url}`);
  });

  it('connectDemoTarget picks the Ollama named by OLLAMA_HOST, DEMO_MODEL and DEMO_EMBED_MODEL', async () => {
    const url = await ollamaWith(['tiny:latest', 'embed:latest']);
    const lines: string[] = [];
    const target = await connectDemoTarget({ OLLAMA_HOST: url, DEMO_MODEL: 'tiny', DEMO_EMBED_MODEL: 'embed' }, (line) => lines.push(line));
    expect([target.model, target.embedModel, lines]).toEqual(['tiny', 'embed', []]);
    await target.close();
  });
});

describe('the services\' own helpers', () => {
  it('I MATCH reads a JSON score, else the first number, else none', () => {
    expect(parseScore('{"score": 87, "reason": "strong SQL"}')).toEqual({ score: 87, reason: 'strong SQL' });
    expect(parseScore('{"score": 140}')).toEqual({ score: 100, reason: '' });
    expect(parseScore('I would say 72 out of 100.')).toEqual({ score: 72, reason: 'I would say 72 out of 100.' });
    expect(parseScore('Once upon a time')).toEqual({ score: null, reason: 'Once upon a time' });
  });

  it('I PROACTIVE buckets a time into weekday and part of day', () => {
    expect(timeSlot(new Date(Date.UTC(2026, 10, 23, 8)))).toBe('Monday morning');
    expect(timeSlot(new Date(Date.UTC(2026, 10, 23, 12)))).toBe('Monday afternoon');
    expect(timeSlot(new Date(Date.UTC(2026, 10, 24, 17, 30)))).toBe('Tuesday evening');
  });
});
