// The handlers behind each Ollama endpoint the test server speaks.
import type { ServerResponse } from 'node:http';
import { throwIfAborted } from './abort.js';
import type { ChatMessage, ModelPrompt, OllamaBackend } from './backend.js';
import { HttpError, NdjsonWriter, doneFields, partLine, resolveModel, runningEntry, sendJson, tagEntry } from './ollama-wire.js';

/** What a route handler gets: the parsed body, the response, and the request's abort signal. */
export interface RouteContext {
  readonly backend: OllamaBackend;
  readonly body: unknown;
  readonly res: ServerResponse;
  readonly signal: AbortSignal;
  readonly version: string;
}

/** `'ok'` for a complete success, `'error'` when an error reached the client. */
export type RouteResult = 'ok' | 'error';

const asRecord = (body: unknown): Record<string, unknown> => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
};

function parseMessages(value: unknown): readonly ChatMessage[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new HttpError(400, '`messages` must be an array');
  return value.map((message: unknown, index) => {
    const { role, content } = (message ?? {}) as Record<string, unknown>;
    if (typeof role !== 'string' || (content !== undefined && typeof content !== 'string')) {
      throw new HttpError(400, `invalid message at index ${index}: needs a string \`role\` and \`content\``);
    }
    return { role, content: content ?? '' };
  });
}

function parseOptions(value: unknown): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) return {};
  return asRecord(value);
}

function parsePrompt(kind: 'generate' | 'chat', body: Record<string, unknown>): ModelPrompt {
  if (kind === 'chat') return parseMessages(body['messages']);
  const prompt = body['prompt'] ?? '';
  if (typeof prompt !== 'string') throw new HttpError(400, '`prompt` must be a string');
  return prompt;
}

/** `POST /api/generate` and `POST /api/chat`, streamed (the default) or not. */
export async function handleGeneration(kind: 'generate' | 'chat', ctx: RouteContext): Promise<RouteResult> {
  const body = asRecord(ctx.body);
  const model = resolveModel(ctx.backend.models, body['model']).name;
  const echoed = String(body['model']); // Ollama answers with the name as the request spelt it
  const prompt = parsePrompt(kind, body);
  const system = typeof body['system'] === 'string' ? body['system'] : undefined;
  const writer = body['stream'] === false ? undefined : new NdjsonWriter(ctx.res);
  const started = performance.now();
  let text = '';
  try {
    const result = await ctx.backend.generate({
      model, prompt, options: parseOptions(body['options']), signal: ctx.signal,
      ...(system === undefined ? {} : { system }),
      onText: (piece) => {
        if (piece === '' || ctx.signal.aborted) return;
        text += piece;
        writer?.line(partLine(kind, echoed, piece));
      },
    });
    throwIfAborted(ctx.signal); // a backend that ignored the abort must not write to a closed socket
    const measuredNs = Math.round((performance.now() - started) * 1e6);
    const done = { ...partLine(kind, echoed, writer === undefined ? text : ''), ...doneFields(kind, result, measuredNs) };
    if (body['logprobs'] === true && result.logprobs !== undefined) {
      done['logprobs'] = result.logprobs.map((logprob) => ({ token: '', logprob, bytes: [] }));
    }
    if (writer === undefined) sendJson(ctx.res, 200, done);
    else writer.line(done);
    writer?.end();
    return 'ok';
  } catch (error) {
    if (ctx.signal.aborted || writer?.started !== true) throw error;
    writer.line({ error: messageOf(error) });
    writer.end();
    return 'error';
  }
}

/** `POST /api/embed`: `input` is a string or an array of strings. */
export async function handleEmbed(ctx: RouteContext): Promise<RouteResult> {
  const body = asRecord(ctx.body);
  const model = resolveModel(ctx.backend.models, body['model']).name;
  const raw = body['input'] ?? [];
  const input = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(input) || !input.every((item): item is string => typeof item === 'string')) {
    throw new HttpError(400, '`input` must be a string or an array of strings');
  }
  const dimensions = body['dimensions'];
  if (dimensions !== undefined && (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1)) {
    throw new HttpError(400, '`dimensions` must be a positive integer');
  }
  if (ctx.backend.embed === undefined) throw new HttpError(400, `"${model}" does not support embeddings`);
  const started = performance.now();
  const result = await ctx.backend.embed({ model, input, signal: ctx.signal, ...(dimensions === undefined ? {} : { dimensions }) });
  sendJson(ctx.res, 200, {
    model: body['model'], embeddings: result.embeddings, total_duration: Math.round((performance.now() - started) * 1e6),
    load_duration: 0, prompt_eval_count: result.promptEvalCount,
  });
  return 'ok';
}

const STARTED_AT = new Date().toISOString();

export function handleTags(ctx: RouteContext): RouteResult {
  sendJson(ctx.res, 200, { models: ctx.backend.models.map((model) => tagEntry(model, STARTED_AT)) });
  return 'ok';
}

export function handlePs(ctx: RouteContext): RouteResult {
  const expiresAt = new Date(Date.now() + 5 * 60_000).toISOString();
  sendJson(ctx.res, 200, { models: ctx.backend.models.map((model) => runningEntry(model, expiresAt)) });
  return 'ok';
}

export function handleVersion(ctx: RouteContext): RouteResult {
  sendJson(ctx.res, 200, { version: ctx.version });
  return 'ok';
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
