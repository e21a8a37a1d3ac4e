import type { ListResponse } from 'ollama';
import { OptimizerError } from '../errors.js';
import { validateModel } from '../internal/arguments.js';
import { raceSignal } from '../internal/abort.js';

/** What the probe needs of an `ollama` client. */
export interface OllamaListClient {
  list(): Promise<ListResponse>;
}

/**
 * A health probe for the autonomous mode: resolves when the Ollama server answers and lists
 * `model` (a name without a tag matches `:latest`); rejects otherwise (with `OptimizerError` code
 * `ERR_UNAVAILABLE` when the server answers without the model). `signal` stops the wait.
 *
 * @example
 * ```ts
 * const probe = createOllamaHealthProbe(new Ollama(), 'llama3.1:8b');
 * await probe(AbortSignal.timeout(2000)); // throws when Ollama or the model is not there
 * ```
 */
export function createOllamaHealthProbe(client: OllamaListClient, model: string): (signal?: AbortSignal) => Promise<void> {
  if (typeof (client as Partial<OllamaListClient> | null)?.list !== 'function') {
    throw new TypeError('`client` must be an `ollama` client (with a `list()` method)');
  }
  validateModel(model);
  const names = model.includes(':') ? [model] : [model, `${model}:latest`];
  return async (signal) => {
    signal?.throwIfAborted();
    const { models } = await raceSignal(client.list(), signal);
    if (!models.some((m) => names.includes(m.name) || names.includes(m.model))) {
      throw new OptimizerError('ERR_UNAVAILABLE', `Ollama does not list the model '${model}' (it lists ${models.length} models)`);
    }
  };
}
