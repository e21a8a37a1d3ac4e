import type { ExecContext, StreamExecFunction } from '../../src/index.js';

/** One upstream stream opened by the fake exec, driven by the test. */
export interface FakeUpstream<C> {
  readonly context: ExecContext;
  push(chunk: C): void;
  end(): void;
  fail(error: unknown): void;
  /** Set when the engine aborted this upstream (through its signal or its `abort()`). */
  aborted: boolean;
}

/** A streaming exec whose upstreams the test drives chunk by chunk. */
export function fakeStreamExec<C>(): { exec: StreamExecFunction<C>; opened: FakeUpstream<C>[] } {
  const opened: FakeUpstream<C>[] = [];
  const exec: StreamExecFunction<C> = (_prompt, _model, context) => {
    const queue: IteratorResult<C, undefined>[] = [];
    let failure: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      wake?.();
      wake = undefined;
    };
    const upstream: FakeUpstream<C> = {
      context,
      aborted: false,
      push: (chunk) => (queue.push({ done: false, value: chunk }), poke()),
      end: () => (queue.push({ done: true, value: undefined }), poke()),
      fail: (error) => ((failure = { error }), poke()),
    };
    context.signal.addEventListener('abort', () => {
      upstream.aborted = true;
      failure ??= { error: context.signal.reason };
      poke();
    });
    opened.push(upstream);
    return {
      [Symbol.asyncIterator]: () => ({
        async next(): Promise<IteratorResult<C, undefined>> {
          for (;;) {
            const item = queue.shift();
            if (item !== undefined) return item;
            if (failure !== undefined) throw failure.error;
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
      }),
    };
  };
  return { exec, opened };
}

/** Lets every pending promise callback run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Reads a stream to its end. */
export async function collect<C>(stream: AsyncIterable<C>): Promise<C[]> {
  const out: C[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

/** The chunk shape the stream tests use: text, and whether the model said it was done. */
export interface Chunk {
  text: string;
  done: boolean;
}

export const MODEL = 'llama3.1:8b';
export const chunk = (text: string, done = false): Chunk => ({ text, done });
export const lastDone = (chunks: readonly Chunk[]): boolean => chunks.at(-1)?.done === true;
