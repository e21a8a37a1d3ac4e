const marker = Symbol.for('llm-optimization-engine.OptimizerError');

/**
 * Every code an {@link OptimizerError} can carry. Closed union: match on it with a `switch`.
 *
 * - `ERR_CLOSED`: the engine was closed with `close()`.
 * - `ERR_NOT_CACHED`: `cache: 'only-if-cached'` and nothing usable was cached.
 * - `ERR_CIRCUIT_OPEN`: the circuit breaker is open and no stale entry could be served.
 * - `ERR_STORE`: a cache store failed (reported through events, never thrown to callers of `optimizeAiCall`).
 * - `ERR_SERIALIZATION`: a value could not be serialized for a store.
 * - `ERR_TIMEOUT`: an operation of the library's own (a store call, a probe) ran past its deadline.
 * - `ERR_STREAM`: a stream ended without a complete answer.
 * - `ERR_UNAVAILABLE`: a health probe found the model server up but the model missing.
 */
export type OptimizerErrorCode =
  | 'ERR_CLOSED'
  | 'ERR_NOT_CACHED'
  | 'ERR_CIRCUIT_OPEN'
  | 'ERR_STORE'
  | 'ERR_SERIALIZATION'
  | 'ERR_TIMEOUT'
  | 'ERR_STREAM'
  | 'ERR_UNAVAILABLE';

/**
 * The one error class the library throws at run time. Errors thrown by your own `exec` function are
 * never wrapped: they reach every caller as the same object.
 *
 * @example
 * ```ts
 * try { await engine.optimizeAiCall(prompt, model, exec, { cache: 'only-if-cached' }); }
 * catch (error) { if (isOptimizerError(error) && error.code === 'ERR_NOT_CACHED') fallback(); }
 * ```
 */
export class OptimizerError extends Error {
  override readonly name = 'OptimizerError';
  readonly code: OptimizerErrorCode;
  readonly [marker] = true;

  constructor(code: OptimizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * True for an {@link OptimizerError}, also one created by another copy of the package (ESM and CJS
 * builds loaded side by side), where `instanceof` would say false.
 */
export function isOptimizerError(value: unknown): value is OptimizerError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}
