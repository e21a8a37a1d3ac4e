import type { EmbedRequest, EmbedResponse } from 'ollama';
import { canonicalJson } from '../cache/cache-key.js';

/** What the batcher needs of an Ollama client. */
export interface EmbedClient {
  embed(request: EmbedRequest): Promise<EmbedResponse>;
}

/** One caller's part of a batch. */
interface Member {
  readonly request: EmbedRequest;
  readonly inputs: readonly string[];
  readonly signal: AbortSignal;
  readonly resolve: (response: EmbedResponse) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
  done: boolean;
}

interface Batch {
  readonly group: string;
  readonly members: Member[];
  inputs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Request batching for `/api/embed`: calls for the same model and settings that arrive within
 * `windowMs` of the first are sent as one request with an input array, and the vectors are split
 * back to their callers in order. A caller whose signal aborts leaves the batch (before it is sent)
 * or stops waiting (after); the others are unaffected.
 */
export class EmbedBatcher {
  readonly #client: EmbedClient;
  readonly #windowMs: number;
  readonly #maxInputs: number;
  readonly #open = new Map<string, Batch>();

  constructor(client: EmbedClient, windowMs: number, maxInputs: number) {
    this.#client = client;
    this.#windowMs = windowMs;
    this.#maxInputs = maxInputs;
  }

  embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResponse> {
    signal.throwIfAborted();
    if (this.#windowMs === 0) return this.#client.embed({ ...request });
    const { input, ...settings } = request;
    const inputs = typeof input === 'string' ? [input] : [...input];
    const group = canonicalJson(settings, 'request');
    let batch = this.#open.get(group);
    if (batch !== undefined && batch.inputs + inputs.length > this.#maxInputs) {
      this.#send(batch);
      batch = undefined;
    }
    if (batch === undefined) batch = this.#openBatch(group);
    return this.#join(batch, request, inputs, signal);
  }

  #openBatch(group: string): Batch {
    const batch: Batch = { group, members: [], inputs: 0, timer: undefined };
    // Not unref'd: the callers' promises wait on this timer, so it must keep the process alive.
    batch.timer = setTimeout(() => this.#send(batch), this.#windowMs);
    this.#open.set(group, batch);
    return batch;
  }

  #join(batch: Batch, request: EmbedRequest, inputs: readonly string[], signal: AbortSignal): Promise<EmbedResponse> {
    return new Promise<EmbedResponse>((resolve, reject) => {
      const member: Member = {
        request, inputs, signal, resolve, reject, done: false,
        onAbort: () => {
          const i = batch.members.indexOf(member);
          if (this.#open.get(batch.group) === batch && i >= 0) {
            batch.members.splice(i, 1);
            batch.inputs -= inputs.length;
          }
          settle(member, () => reject(signal.reason));
        },
      };
      signal.addEventListener('abort', member.onAbort, { once: true });
      batch.members.push(member);
      batch.inputs += inputs.length;
      if (batch.inputs >= this.#maxInputs) this.#send(batch);
    });
  }

  #send(batch: Batch): void {
    if (this.#open.get(batch.group) === batch) this.#open.delete(batch.group);
    clearTimeout(batch.timer);
    const members = batch.members.filter((m) => !m.done);
    const only = members.length === 1 ? members[0] : undefined;
    if (members.length === 0) return;
    const first = members[0] as Member;
    const request = only !== undefined ? { ...only.request } : { ...first.request, input: members.flatMap((m) => m.inputs) };
    // A client that throws instead of rejecting, or an answer that cannot be split, fails the
    // batch's callers: none may be left waiting (settle() ignores a caller already answered).
    promiseOf(() => this.#client.embed(request))
      .then((response) => split(response, members))
      .catch((error: unknown) => {
        for (const m of members) settle(m, () => m.reject(error));
      });
  }
}

function promiseOf(request: () => Promise<EmbedResponse>): Promise<EmbedResponse> {
  try {
    return Promise.resolve(request());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Each caller's vectors, with the batch's counts and timings shared out in proportion to its input length. */
function split(response: EmbedResponse, members: readonly Member[]): void {
  const total = members.reduce((n, m) => n + m.inputs.length, 0);
  const embeddings = Array.isArray(response.embeddings) ? response.embeddings : [];
  if (embeddings.length !== total) {
    const error = new Error(`Ollama returned ${embeddings.length} embeddings for a batch of ${total} inputs`);
    for (const m of members) settle(m, () => m.reject(error));
    return;
  }
  const chars = members.reduce((n, m) => n + weight(m), 0);
  let offset = 0;
  for (const m of members) {
    const share = members.length === 1 || chars === 0 ? 1 : weight(m) / chars;
    const part = { ...response, embeddings: embeddings.slice(offset, offset + m.inputs.length) };
    offset += m.inputs.length;
    scale(part, share);
    settle(m, () => m.resolve(part));
  }
}

function weight(member: Member): number {
  return member.inputs.reduce((n, s) => n + s.length, 0);
}

function scale(part: EmbedResponse, share: number): void {
  if (share === 1) return;
  for (const field of ['prompt_eval_count', 'total_duration', 'load_duration'] as const) {
    if (typeof part[field] === 'number') part[field] = Math.round(part[field] * share);
  }
}

function settle(member: Member, action: () => void): void {
  if (member.done) return;
  member.done = true;
  member.signal.removeEventListener('abort', member.onAbort);
  action();
}
