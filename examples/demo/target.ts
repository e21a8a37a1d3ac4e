// Where the demo's model calls go: a real Ollama when one answers, otherwise loopback test servers
// (the bundled GGUF model for text, the mock model for embeddings, which stories260K cannot make).
import { fileURLToPath } from 'node:url';
import { Ollama, type Options } from 'ollama';
import {
  createLlamaCppBackend, createMockModel, startOllamaTestServer, type OllamaBackend,
} from '../../src/testing.js';

/** The model endpoints the demo talks to. */
export interface DemoTarget {
  /** One line saying what answers, for the output. */
  readonly label: string;
  /** Caveats worth printing (e.g. embeddings from a mock model). */
  readonly notes: readonly string[];
  readonly client: Ollama;
  readonly embedClient: Ollama;
  readonly model: string;
  readonly embedModel: string;
  /** Ollama options the services add to their own for this model. */
  readonly options: Partial<Options>;
  close(): Promise<void>;
}

export const BUNDLED_MODEL_PATH = fileURLToPath(new URL('../../models/stories260K.gguf', import.meta.url));
const MOCK_EMBED_MODEL = 'mock-embed:latest';

/** `OLLAMA_HOST` as the ollama client reads it (`host`, `host:port`, `:port` or a URL) → a base URL. */
export function ollamaBaseUrl(host: string | undefined): string {
  const value = host === undefined || host.trim() === '' ? '127.0.0.1:11434' : host.trim();
  const explicit = value.includes('://');
  const url = new URL(explicit ? value : `http://${value.startsWith(':') ? '127.0.0.1' : ''}${value}`);
  if (url.port === '' && !explicit) url.port = '11434';
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  return url.origin;
}

/** The Ollama version when `/api/version` answers within `timeoutMs`, else undefined. */
export async function probeOllama(baseUrl: string, timeoutMs = 1000): Promise<string | undefined> {
  try {
    const response = await fetch(`${baseUrl}/api/version`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { version?: unknown };
    return typeof body.version === 'string' ? body.version : 'unknown';
  } catch {
    return undefined;
  }
}

const hasModel = (names: readonly string[], model: string): boolean =>
  names.includes(model) || names.includes(`${model}:latest`);

/** A real Ollama at `baseUrl`, if it answers and serves `model`; otherwise the reason it cannot be used. */
export async function connectOllama(baseUrl: string, model: string, embedModel: string): Promise<DemoTarget | string> {
  const version = await probeOllama(baseUrl);
  if (version === undefined) return `no Ollama answered at ${baseUrl}`;
  const client = new Ollama({ host: baseUrl });
  const names = (await client.list()).models.map((entry) => entry.name);
  const missing = [model, embedModel].filter((name) => !hasModel(names, name));
  if (missing.length > 0) return `Ollama ${version} at ${baseUrl} does not have ${missing.join(', ')} (ollama pull ${missing[0] ?? ''})`;
  return {
    label: `Ollama ${version} at ${baseUrl}, model ${model}, embeddings ${embedModel}`,
    notes: [],
    client, embedClient: client, model, embedModel, options: {},
    close: () => Promise.resolve(),
  };
}

/**
 * Loopback Ollama-compatible servers: `textBackend` (default: stories260K through node-llama-cpp,
 * one thread) answers generate/chat, a mock model answers embed.
 */
export async function startLoopbackTarget(textBackend?: OllamaBackend & { close?(): Promise<void> }): Promise<DemoTarget> {
  const backend = textBackend ?? createLlamaCppBackend({ modelPath: BUNDLED_MODEL_PATH, threads: 1 });
  const embedMock = createMockModel({ models: [MOCK_EMBED_MODEL], embeddingDimensions: 64 });
  const textServer = await startOllamaTestServer({ backend });
  const embedServer = await startOllamaTestServer({ backend: embedMock.backend });
  const model = backend.models[0]?.name ?? 'stories260K:latest';
  const bundled = textBackend === undefined;
  return {
    label: bundled
      ? `loopback Ollama-compatible server, model ${model} (models/stories260K.gguf via node-llama-cpp, 1 thread)`
      : `loopback Ollama-compatible server, model ${model}`,
    notes: [
      `embeddings come from a mock model on a second loopback server (${MOCK_EMBED_MODEL}): stories260K has no embeddings`,
      ...(bundled ? ['stories260K writes children\'s stories, not suggestions or JSON: the answers are nonsense, the traffic is real',
        'the services are told to stop at the first sentence (stop: ["."]) so that answers end with done_reason "stop" and may be cached'] : []),
    ],
    client: new Ollama({ host: textServer.url }),
    embedClient: new Ollama({ host: embedServer.url }),
    model,
    embedModel: MOCK_EMBED_MODEL,
    options: bundled ? { num_predict: 64, stop: ['.'] } : {},
    close: async () => {
      await Promise.all([textServer.close(), embedServer.close()]);
      await backend.close?.();
    },
  };
}

/** Real Ollama when it answers (`OLLAMA_HOST`, `DEMO_MODEL`, `DEMO_EMBED_MODEL`), else the loopback target. */
export async function connectDemoTarget(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<DemoTarget> {
  const model = env['DEMO_MODEL'] ?? 'llama3.1:8b';
  const embedModel = env['DEMO_EMBED_MODEL'] ?? model;
  const real = await connectOllama(ollamaBaseUrl(env['OLLAMA_HOST']), model, embedModel);
  if (typeof real !== 'string') return real;
  log(`${real}: using the bundled model on a loopback server instead`);
  return startLoopbackTarget();
}
