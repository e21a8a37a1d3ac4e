// The contract between the Ollama-compatible test server and whatever produces its answers
// (the mock model, a real GGUF model). Types only: the server owns all wire-format concerns.

/** A chat message as Ollama's `/api/chat` carries it (extra fields such as `images` are ignored). */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** What a model is asked: a prompt string (`/api/generate`) or chat messages (`/api/chat`). */
export type ModelPrompt = string | readonly ChatMessage[];

/** Why a generation stopped, as Ollama reports it in `done_reason`. */
export type DoneReason = 'stop' | 'length';

/** One model a backend serves; listed by `/api/tags` and `/api/ps`. */
export interface BackendModel {
  /** Full name with tag, e.g. `llama3.1:8b`. A request for `name` without a tag matches `name:latest`. */
  readonly name: string;
  /** Size in bytes reported by `/api/tags`. */
  readonly sizeBytes?: number;
  /** `details.family`, e.g. `llama`. */
  readonly family?: string;
  /** `details.parameter_size`, e.g. `8B`. */
  readonly parameterSize?: string;
  /** `details.quantization_level`, e.g. `Q4_K_M`. */
  readonly quantizationLevel?: string;
}

/** A text-generation request handed to a backend (already validated by the server). */
export interface BackendGenerateRequest {
  /** The resolved model name (one of {@link OllamaBackend.models}). */
  readonly model: string;
  /** `/api/generate` → the prompt string; `/api/chat` → the messages. */
  readonly prompt: ModelPrompt;
  /** `/api/generate`'s `system`, when given. */
  readonly system?: string;
  /** Ollama's `options` object as sent (`num_predict`, `temperature`, `seed`, `top_k`, …). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Aborts when the client goes away or the server closes: stop work and reject promptly. */
  readonly signal: AbortSignal;
  /** Called with each piece of text as it is produced (the server streams it as one NDJSON line). */
  readonly onText: (text: string) => void;
}

/** How a generation ended; durations in nanoseconds, as Ollama reports them. */
export interface BackendGenerateResult {
  readonly doneReason: DoneReason;
  readonly promptEvalCount: number;
  readonly evalCount: number;
  /** Token ids for `/api/generate`'s `context`; the server makes up stable ids when absent. */
  readonly context?: readonly number[];
  /** Measured by the server when absent. */
  readonly totalDurationNs?: number;
  readonly loadDurationNs?: number;
  readonly promptEvalDurationNs?: number;
  readonly evalDurationNs?: number;
  /** Log-probability of each generated token, sent on the final line when the request asks for `logprobs`. */
  readonly logprobs?: readonly number[];
}

/** An embedding request: `input` is always an array here (the server normalizes a single string). */
export interface BackendEmbedRequest {
  readonly model: string;
  readonly input: readonly string[];
  /** Ollama's `dimensions`: truncate each vector to this length, when given. */
  readonly dimensions?: number;
  readonly signal: AbortSignal;
}

export interface BackendEmbedResult {
  readonly embeddings: number[][];
  readonly promptEvalCount: number;
}

/**
 * What {@link startOllamaTestServer} needs from a model. Implement it to put any model behind the
 * server; `createMockModel().backend` and `createLlamaCppBackend()` are the two built in.
 *
 * Contract: `generate` calls `onText` zero or more times and then resolves, or rejects (with the
 * signal's reason after an abort). Text already passed to `onText` has been sent to the client.
 */
export interface OllamaBackend {
  /** The models served; a request for any other model gets Ollama's 404. */
  readonly models: readonly BackendModel[];
  generate(request: BackendGenerateRequest): Promise<BackendGenerateResult>;
  /** Absent: `/api/embed` answers 400 "does not support embeddings", as Ollama does for such models. */
  embed?(request: BackendEmbedRequest): Promise<BackendEmbedResult>;
}
