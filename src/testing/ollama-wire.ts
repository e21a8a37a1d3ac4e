// Ollama's wire format: the JSON shapes its REST API sends and how it sends them (status codes,
// `{ "error": "..." }` bodies, NDJSON streams). Kept apart from routing so each stays readable.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackendGenerateResult, BackendModel } from './backend.js';

/** An error the server turns into `status` + `{ "error": message }`, as Ollama does. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes NDJSON lines, sending the 200 header with the first line (as Ollama's streaming does). */
export class NdjsonWriter {
  readonly #res: ServerResponse;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get started(): boolean {
    return this.#started;
  }

  line(value: unknown): void {
    if (!this.#started) {
      this.#res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      this.#started = true;
    }
    this.#res.write(`${JSON.stringify(value)}\n`);
  }

  end(): void {
    this.#res.end();
  }
}

/** Reads the request body, refusing more than `maxBytes` (413) and malformed JSON (400). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > maxBytes) throw new HttpError(413, `request body too large: more than ${maxBytes} bytes`);
    parts.push(part);
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'missing request body');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not the parser's message: V8 quotes the start of the text, which is a prompt.
    throw new HttpError(400, 'invalid JSON body');
  }
}

/** Finds the served model a request names: `name` also matches `name:latest`, as in Ollama. */
export function resolveModel(models: readonly BackendModel[], name: unknown): BackendModel {
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'model is required');
  const wanted = name.includes(':') ? name : `${name}:latest`;
  const found = models.find((model) => model.name === name || model.name === wanted);
  if (found === undefined) throw new HttpError(404, `model "${name}" not found, try pulling it first`);
  return found;
}

const digestOf = (name: string): string => createHash('sha256').update(name).digest('hex');

function details(model: BackendModel): Record<string, unknown> {
  const family = model.family ?? 'llama';
  return {
    parent_model: '', format: 'gguf', family, families: [family],
    parameter_size: model.parameterSize ?? '', quantization_level: model.quantizationLevel ?? '',
  };
}

/** `GET /api/tags` entry. */
export const tagEntry = (model: BackendModel, modifiedAt: string): Record<string, unknown> => ({
  name: model.name, model: model.name, modified_at: modifiedAt, size: model.sizeBytes ?? 0,
  digest: digestOf(model.name), details: details(model),
});

/** `GET /api/ps` entry: every served model is reported as loaded, with nothing in VRAM. */
export const runningEntry = (model: BackendModel, expiresAt: string): Record<string, unknown> => ({
  name: model.name, model: model.name, size: model.sizeBytes ?? 0, digest: digestOf(model.name),
  details: details(model), expires_at: expiresAt, size_vram: 0, context_length: 4096,
});

/** The fields every generate/chat line carries: `response` (generate) or `message` (chat). */
export function partLine(kind: 'generate' | 'chat', model: string, text: string): Record<string, unknown> {
  const head = { model, created_at: new Date().toISOString() };
  return kind === 'generate'
    ? { ...head, response: text, done: false }
    : { ...head, message: { role: 'assistant', content: text }, done: false };
}

/** The statistics of the final (`done: true`) line, with Ollama's nanosecond durations. */
export function doneFields(kind: 'generate' | 'chat', result: BackendGenerateResult, measuredNs: number): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    done: true,
    done_reason: result.doneReason,
    total_duration: result.totalDurationNs ?? measuredNs,
    load_duration: result.loadDurationNs ?? 0,
    prompt_eval_count: result.promptEvalCount,
    prompt_eval_duration: result.promptEvalDurationNs ?? 0,
    eval_count: result.evalCount,
    eval_duration: result.evalDurationNs ?? measuredNs,
  };
  if (kind === 'generate') {
    const total = result.promptEvalCount + result.evalCount;
    fields['context'] = result.context ?? Array.from({ length: total }, (_, index) => index + 1);
  }
  return fields;
}
