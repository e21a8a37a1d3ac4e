import { createMockModel, startOllamaTestServer } from '../../src/testing.js';
import type { MockModel, MockModelOptions, OllamaBackend, OllamaTestServer, RecordedRequest } from '../../src/testing.js';

/** Where the end-to-end tests send their requests. */
export interface OllamaTarget {
  readonly url: string;
  /** The model the tests ask for. */
  readonly model: string;
  /** The server's request log: only the loopback test server has one. */
  readonly requests: readonly RecordedRequest[] | undefined;
  readonly mock: MockModel | undefined;
  close(): Promise<void>;
}

/**
 * The Ollama named by `OLLAMA_HOST` when it answers `/api/version` within a second (model:
 * `OLLAMA_TEST_MODEL`, default `llama3.1:8b`), else `undefined`. Probed once per test file.
 */
export async function realOllama(): Promise<{ url: string; model: string } | undefined> {
  const host = process.env['OLLAMA_HOST'];
  if (host === undefined || host === '') return undefined;
  const url = host.includes('://') ? host : `http://${host}`;
  try {
    const response = await fetch(`${url.replace(/\/$/, '')}/api/version`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return undefined;
    return { url, model: process.env['OLLAMA_TEST_MODEL'] ?? 'llama3.1:8b' };
  } catch {
    return undefined;
  }
}

/** Real Ollama when `real` is given, else a loopback test server over a mock model (or `backend`). */
export async function startTarget(
  real: { url: string; model: string } | undefined,
  options: { mock?: MockModelOptions; backend?: (mock: MockModel) => OllamaBackend } = {},
): Promise<OllamaTarget> {
  if (real !== undefined) return { ...real, requests: undefined, mock: undefined, close: () => Promise.resolve() };
  const mock = createMockModel(options.mock);
  const server: OllamaTestServer = await startOllamaTestServer({ backend: options.backend?.(mock) ?? mock.backend });
  return { url: server.url, model: 'llama3.1:8b', requests: server.requests, mock, close: () => server.close() };
}

/** Requests to one path in the log. */
export function sent(target: OllamaTarget, path: string): RecordedRequest[] {
  return (target.requests ?? []).filter((r) => r.path === path);
}
