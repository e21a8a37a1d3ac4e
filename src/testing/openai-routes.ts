// The OpenAI-compatible endpoints of the test server, as Ollama serves them under `/v1` (its
// openai/openai.go): the request fields it reads, mapped onto the backend's Ollama options, and the
// response shapes and server-sent events it writes, so the official `openai` client works unchanged.
import { randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { throwIfAborted } from './abort.js';
import type { BackendGenerateResult, ChatMessage, ModelPrompt } from './backend.js';
import type { RouteContext, RouteResult } from './ollama-routes.js';
import { messageOf } from './ollama-routes.js';
import { HttpError, resolveModel, sendJson } from './ollama-wire.js';

const asRecord = (body: unknown): Record<string, unknown> => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
};

/** Ollama's `/v1` error body. */
export function openAiError(status: number, message: string): Record<string, unknown> {
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
  return { error: { message, type, param: null, code: null } };
}

/** Writes `data: <json>` events and the closing `data: [DONE]`, as Ollama's `/v1` streams do. */
class EventWriter {
  readonly #res: ServerResponse;
  started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  data(value: unknown): void {
    if (!this.started) {
      this.#res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      this.started = true;
    }
    this.#res.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  done(): void {
    this.#res.write('data: [DONE]\n\n');
    this.#res.end();
  }
}

/** A message's text: a string, or the `text` parts of an array of content parts (images are not read by the mock). */
function messageText(content: unknown, index: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: unknown) => {
      const { type, text } = (part ?? {}) as Record<string, unknown>;
      if (type === 'text' && typeof text === 'string') return text;
      if (type === 'image_url') return '';
      throw new HttpError(400, 'invalid message format');
    }).join('');
  }
  throw new HttpError(400, `invalid message content type at index ${index}`);
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value)) throw new HttpError(400, '`messages` must be an array');
  return value.map((message: unknown, index) => {
    const { role, content } = (message ?? {}) as Record<string, unknown>;
    if (typeof role !== 'string') throw new HttpError(400, `invalid message at index ${index}: needs a string \`role\``);
    return { role, content: messageText(content, index) };
  });
}

const NUMBER_FIELDS = [['temperature', 'temperature'], ['top_p', 'top_p'], ['seed', 'seed'], ['max_tokens', 'num_predict'],
  ['frequency_penalty', 'frequency_penalty'], ['presence_penalty', 'presence_penalty']] as const;

/** The Ollama options `/v1` derives from a request (openai.go: FromChatRequest, FromCompleteRequest). */
function optionsOf(body: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [field, option] of NUMBER_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') throw new HttpError(400, `\`${field}\` must be a number`);
    options[option] = value;
  }
  const stop = body['stop'];
  if (typeof stop === 'string') options['stop'] = [stop];
  else if (Array.isArray(stop)) {
    if (!stop.every((s): s is string => typeof s === 'string')) throw new HttpError(400, "invalid type for 'stop' field");
    options['stop'] = stop;
  }
  options['temperature'] ??= 1;
  options['top_p'] ??= 1;
  return options;
}

type Api = 'chat' | 'completion';

const idOf = (api: Api): string => `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomInt(1_000_000)}`;

function usageOf(result: BackendGenerateResult): Record<string, number> {
  return { prompt_tokens: result.promptEvalCount, completion_tokens: result.evalCount, total_tokens: result.promptEvalCount + result.evalCount };
}

/** One choice of a response or a chunk. */
function choice(api: Api, text: string, finish: string | null, streamed: boolean): Record<string, unknown> {
  if (api === 'completion') return { text, index: 0, finish_reason: finish };
  const message = { role: 'assistant', content: text };
  return streamed ? { index: 0, delta: message, finish_reason: finish } : { index: 0, message, finish_reason: finish };
}

/** `POST /v1/chat/completions` and `POST /v1/completions`, streamed (server-sent events) or not. */
export async function handleOpenAiGeneration(api: Api, ctx: RouteContext): Promise<RouteResult> {
  const body = asRecord(ctx.body);
  const model = resolveModel(ctx.backend.models, body['model']).name;
  const echoed = String(body['model']);
  let prompt: ModelPrompt;
  if (api === 'chat') prompt = parseMessages(body['messages']);
  else if (typeof (body['prompt'] ?? '') === 'string') prompt = (body['prompt'] as string | undefined) ?? '';
  else throw new HttpError(400, '`prompt` must be a string');
  const options = optionsOf(body);
  const writer = body['stream'] === true ? new EventWriter(ctx.res) : undefined;
  const includeUsage = (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
  const id = idOf(api);
  const head = (): Record<string, unknown> => ({
    id, object: api === 'chat' ? (writer === undefined ? 'chat.completion' : 'chat.completion.chunk') : 'text_completion',
    created: Math.floor(Date.now() / 1000), model: echoed, system_fingerprint: 'fp_ollama',
  });
  let text = '';
  try {
    const result = await ctx.backend.generate({
      model, prompt, options, signal: ctx.signal,
      onText: (piece) => {
        if (piece === '' || ctx.signal.aborted) return;
        text += piece;
        writer?.data({ ...head(), choices: [choice(api, piece, null, true)] });
      },
    });
    throwIfAborted(ctx.signal);
    if (writer === undefined) {
      sendJson(ctx.res, 200, { ...head(), choices: [choice(api, text, result.doneReason, false)], usage: usageOf(result) });
      return 'ok';
    }
    writer.data({ ...head(), choices: [choice(api, '', result.doneReason, true)] });
    if (includeUsage) writer.data({ ...head(), choices: [], usage: usageOf(result) });
    writer.done();
    return 'ok';
  } catch (error) {
    if (ctx.signal.aborted || writer?.started !== true) throw error;
    writer.data(openAiError(500, messageOf(error)));
    writer.done();
    return 'error';
  }
}

/** `POST /v1/embeddings`: `input` a string or an array of strings; `encoding_format` `float` (default) or `base64`. */
export async function handleOpenAiEmbeddings(ctx: RouteContext): Promise<RouteResult> {
  const body = asRecord(ctx.body);
  const model = resolveModel(ctx.backend.models, body['model']).name;
  const raw = body['input'];
  const input = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(input) || input.length === 0 || !input.every((item): item is string => typeof item === 'string')) {
    throw new HttpError(400, 'invalid input type');
  }
  const dimensions = body['dimensions'];
  if (dimensions !== undefined && (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1)) {
    throw new HttpError(400, '`dimensions` must be a positive integer');
  }
  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new HttpError(400, '`encoding_format` must be "float" or "base64"');
  if (ctx.backend.embed === undefined) throw new HttpError(400, `"${model}" does not support embeddings`);
  const result = await ctx.backend.embed({ model, input, signal: ctx.signal, ...(dimensions === undefined ? {} : { dimensions }) });
  sendJson(ctx.res, 200, {
    object: 'list',
    data: result.embeddings.map((vector, index) => ({ object: 'embedding', embedding: format === 'base64' ? base64Floats(vector) : vector, index })),
    model: body['model'],
    usage: { prompt_tokens: result.promptEvalCount, total_tokens: result.promptEvalCount },
  });
  return 'ok';
}

/** Little-endian float32s in base64, as Ollama (and OpenAI) send `encoding_format: 'base64'`. */
function base64Floats(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

const CREATED = Math.floor(Date.now() / 1000);

/** `GET /v1/models`. */
export function handleOpenAiModels(ctx: RouteContext): RouteResult {
  sendJson(ctx.res, 200, {
    object: 'list',
    data: ctx.backend.models.map((m) => ({ id: m.name, object: 'model', created: CREATED, owned_by: m.name.includes('/') ? m.name.split('/')[0] : 'library' })),
  });
  return 'ok';
}
