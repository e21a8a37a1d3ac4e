import type { DoneReason, ModelPrompt } from './backend.js';
import { realSleep } from './abort.js';
import { hash32, promptText, wordsFromSeed } from './deterministic.js';
import {
  expectFunction, expectNonNegativeNumber, expectOneOf, expectOptionsObject, expectPositiveInteger,
  expectString, rejectUnknownKeys, describeValue,
} from './option-checks.js';

/** One call the mock model received, as recorded in {@link MockModel.callLog}. */
export interface MockCall {
  /** 1-based position of this call since creation or the last `reset()`. */
  readonly index: number;
  /** `generate` for `exec`, `stream` and the backend's generate/chat; `embed` for embeddings. */
  readonly kind: 'generate' | 'embed';
  /** The prompt as received; an embedding call records its inputs joined by `\n`. */
  readonly prompt: ModelPrompt;
  readonly model: string;
  /** `clock.now()` when the call started. */
  readonly time: number;
}

/** Sleeps `ms` on some clock; must reject with the signal's reason when `signal` aborts. */
export type SleepFunction = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Options of {@link createMockModel}. All optional: the default is a fast, deterministic, reliable model. */
export interface MockModelOptions {
  /**
   * Produces the answer text. Must be deterministic if the tests rely on determinism.
   * @default 8–23 words from a fixed vocabulary, chosen by a hash of the model name and the prompt
   * @example `respond: (prompt) => (typeof prompt === 'string' ? prompt.toUpperCase() : 'chat')`
   */
  readonly respond?: (prompt: ModelPrompt, model: string) => string;
  /**
   * Time before the first chunk, in ms on the injected clock; a function is asked per call.
   * @default 0 (no sleep at all, so tests without a clock need not advance anything)
   * @example `latencyMs: (call) => (call.index === 1 ? 2000 : 50)`
   */
  readonly latencyMs?: number | ((call: MockCall) => number);
  /**
   * Time between stream chunks, in ms on the injected clock.
   * @default 0
   */
  readonly chunkDelayMs?: number;
  /**
   * How the answer is split into stream chunks: `'words'` (each word with its leading space, like
   * LLM tokens; trailing whitespace stays on the last chunk), a number of characters per chunk, or
   * a function returning the chunks. The answer is always the chunks joined.
   * @default 'words'
   */
  readonly chunks?: 'words' | number | ((text: string) => readonly string[]);
  /**
   * Token count of a text, used for `prompt_eval_count`, `eval_count` and `num_predict`.
   * @default `Math.ceil(text.length / 4)`
   */
  readonly countTokens?: (text: string) => number;
  /**
   * Every n-th call fails (calls n, 2n, 3n… counted from 1).
   * @default undefined (never)
   */
  readonly failEvery?: number;
  /**
   * Probability in [0, 1] that a call fails, drawn from a PRNG seeded with `seed` (one draw per call).
   * @default 0
   */
  readonly failRate?: number;
  /**
   * Seed of the failure PRNG; the same seed gives the same failing calls.
   * @default 1
   */
  readonly seed?: number;
  /**
   * When true (or when the function returns true for a call) the call never settles until its
   * signal aborts; it then rejects with the signal's reason.
   * @default false
   */
  readonly hang?: boolean | ((call: MockCall) => boolean);
  /**
   * The error an injected failure rejects with.
   * @default `new Error('mock model failure on call <index>')`
   */
  readonly error?: (call: MockCall) => Error;
  /**
   * `done_reason` reported by the backend. By default it is `'length'` only when `num_predict` cut
   * the answer short; a fixed value or a function overrides that.
   * @default undefined ('stop', or 'length' when truncated)
   */
  readonly doneReason?: DoneReason | ((call: MockCall, text: string) => DoneReason);
  /**
   * Time source for `callLog` and the backend's durations. A clock with a `sleep` method (such as
   * `createManualClock()`) also provides the default `sleep`.
   * @default `{ now: Date.now }`
   */
  readonly clock?: { now(): number; sleep?: SleepFunction };
  /**
   * How latency and chunk delays wait.
   * @default `clock.sleep` when the clock has one, else a real `setTimeout`
   */
  readonly sleep?: SleepFunction;
  /**
   * Model names served through {@link MockModel.backend} (a request for another gets a 404).
   * `exec` and `stream` accept any name.
   * @default ['llama3.1:8b']
   */
  readonly models?: readonly string[];
  /**
   * Length of the deterministic unit vectors returned for embeddings.
   * @default 16
   */
  readonly embeddingDimensions?: number;
}

export interface ResolvedMockOptions {
  readonly respond: (prompt: ModelPrompt, model: string) => string;
  readonly latencyMs: (call: MockCall) => number;
  readonly chunkDelayMs: number;
  readonly split: (text: string) => readonly string[];
  readonly countTokens: (text: string) => number;
  readonly failEvery: number | undefined;
  readonly failRate: number;
  readonly seed: number;
  readonly hang: (call: MockCall) => boolean;
  readonly error: (call: MockCall) => Error;
  readonly doneReason: ((call: MockCall, text: string) => DoneReason) | undefined;
  readonly now: () => number;
  readonly sleep: SleepFunction;
  readonly models: readonly string[];
  readonly embeddingDimensions: number;
}

const KNOWN = [
  'respond', 'latencyMs', 'chunkDelayMs', 'chunks', 'countTokens', 'failEvery', 'failRate', 'seed',
  'hang', 'error', 'doneReason', 'clock', 'sleep', 'models', 'embeddingDimensions',
] as const;

const defaultRespond = (prompt: ModelPrompt, model: string): string =>
  wordsFromSeed(hash32(`${model}\n${promptText(prompt)}`));

// Every word with the whitespace before it; trailing whitespace stays on the last chunk, so the
// chunks always join back to the whole text.
const splitWords = (text: string): readonly string[] => text.match(/\s*\S+(?:\s+$)?/g) ?? (text === '' ? [] : [text]);

function splitter(chunks: MockModelOptions['chunks']): (text: string) => readonly string[] {
  if (chunks === undefined || chunks === 'words') return splitWords;
  if (typeof chunks === 'function') return chunks;
  if (typeof chunks !== 'number') throw new TypeError(`\`chunks\` must be 'words', a number or a function, received ${describeValue(chunks)}`);
  const size = expectPositiveInteger('chunks', chunks);
  return (text) => Array.from({ length: Math.ceil(text.length / size) }, (_, index) => text.slice(index * size, (index + 1) * size));
}

function perCall<T>(name: string, value: T | ((call: MockCall) => T) | undefined, fallback: T, check: (name: string, value: unknown) => T): (call: MockCall) => T {
  if (value === undefined) return () => fallback;
  if (typeof value === 'function') {
    const fn = value as (call: MockCall) => T;
    return (call) => check(name, fn(call));
  }
  const fixed = check(name, value);
  return () => fixed;
}

const expectBoolean = (name: string, value: unknown): boolean => {
  if (typeof value !== 'boolean') throw new TypeError(`\`${name}\` must be a boolean, received ${describeValue(value)}`);
  return value;
};

function resolveTiming(options: MockModelOptions): Pick<ResolvedMockOptions, 'now' | 'sleep' | 'latencyMs' | 'chunkDelayMs'> {
  const clock = options.clock ?? { now: () => Date.now() };
  if (typeof clock.now !== 'function') throw new TypeError(`\`clock\` must have a now() method, received ${describeValue(clock)}`);
  const sleep: SleepFunction = options.sleep ?? (clock.sleep === undefined
    ? realSleep
    : (ms, signal) => clock.sleep?.(ms, signal) ?? realSleep(ms, signal));
  expectFunction('sleep', sleep);
  return {
    now: () => clock.now(),
    sleep,
    latencyMs: perCall('latencyMs', options.latencyMs, 0, expectNonNegativeNumber),
    chunkDelayMs: expectNonNegativeNumber('chunkDelayMs', options.chunkDelayMs ?? 0),
  };
}

function resolveFailures(options: MockModelOptions): Pick<ResolvedMockOptions, 'failEvery' | 'failRate' | 'seed' | 'hang' | 'error'> {
  const failRate = expectNonNegativeNumber('failRate', options.failRate ?? 0);
  if (failRate > 1) throw new RangeError(`\`failRate\` must be between 0 and 1, received ${failRate}`);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new TypeError(`\`seed\` must be an integer, received ${describeValue(seed)}`);
  return {
    failEvery: options.failEvery === undefined ? undefined : expectPositiveInteger('failEvery', options.failEvery),
    failRate,
    seed,
    hang: perCall('hang', options.hang, false, expectBoolean),
    error: options.error === undefined
      ? (call) => new Error(`mock model failure on call ${call.index}`)
      : expectFunction<ResolvedMockOptions['error']>('error', options.error),
  };
}

function resolveDoneReason(value: MockModelOptions['doneReason']): ResolvedMockOptions['doneReason'] {
  if (value === undefined || typeof value === 'function') return value;
  const fixed = expectOneOf('doneReason', value, ['stop', 'length']);
  return () => fixed;
}

function resolveModels(models: unknown): readonly string[] {
  if (models === undefined) return ['llama3.1:8b'];
  if (!Array.isArray(models) || models.length === 0) {
    throw new TypeError(`\`models\` must be a non-empty array of model names, received ${describeValue(models)}`);
  }
  return Object.freeze(models.map((name, index) => expectString(`models[${index}]`, name)));
}

/** Validates `createMockModel`'s options once, into a frozen, fully defaulted object. */
export function resolveMockOptions(input: unknown): ResolvedMockOptions {
  const options = expectOptionsObject('createMockModel', input) as MockModelOptions;
  rejectUnknownKeys('createMockModel', options, KNOWN);
  return Object.freeze({
    respond: options.respond === undefined ? defaultRespond : expectFunction<ResolvedMockOptions['respond']>('respond', options.respond),
    split: splitter(options.chunks),
    countTokens: options.countTokens === undefined
      ? (text: string) => Math.ceil(text.length / 4)
      : expectFunction<ResolvedMockOptions['countTokens']>('countTokens', options.countTokens),
    doneReason: resolveDoneReason(options.doneReason),
    models: resolveModels(options.models),
    embeddingDimensions: expectPositiveInteger('embeddingDimensions', options.embeddingDimensions ?? 16),
    ...resolveTiming(options),
    ...resolveFailures(options),
  });
}
