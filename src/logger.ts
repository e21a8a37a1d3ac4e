// The logger lives apart from the event hub so that an entry point needing only a logger (the
// HTTP handler) does not load eventemitter3.

/** Where the library reports what it survived (a throwing listener, a failing store). Silent by default. */
export interface Logger {
  warn(message: string, details?: unknown): void;
}

export const silentLogger: Logger = { warn: () => undefined };
