import { describe } from './internal/validate.js';

// The logger lives apart from the event hub so that an entry point needing only a logger (the
// HTTP handler) does not load eventemitter3.

/** Where the library reports what it survived (a throwing listener, a failing store). Silent by default. */
export interface Logger {
  warn(message: string, details?: unknown): void;
}

export const silentLogger: Logger = { warn: () => undefined };

/**
 * The `logger` option, validated, behind a guard: the logger is told what the engine survived (a
 * throwing listener, a failing store), so a logger that throws must not turn that into a failed call.
 */
export function loggerOption(name: string, logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const warn: unknown = typeof logger === 'object' && logger !== null ? (logger as { warn?: unknown }).warn : undefined;
  if (typeof warn !== 'function') {
    throw new TypeError(`\`${name}\` must have a \`warn(message, details)\` method, received ${describe(logger)}`);
  }
  const own = logger as Logger;
  return {
    warn(message, details) {
      try {
        own.warn(message, details);
      } catch {
        // Nowhere left to report it.
      }
    },
  };
}
