/** Why a request body was refused. */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415;
  readonly code: string;

  constructor(status: 400 | 413 | 415, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Reads a JSON object body of at most `maxBytes` bytes, stopping (and cancelling the stream) as
 * soon as it is larger. An empty body is `{}`. Every request must say `Content-Type:
 * application/json`, even with an empty body: a browser cannot send that cross-site without a CORS
 * preflight (which the handler never grants), so a page elsewhere cannot make a logged-in browser
 * POST here.
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type.trim())) {
    await request.body?.cancel().catch(() => undefined);
    throw new BodyError(415, 'unsupported_media_type', 'Send `Content-Type: application/json` (the body may be empty)');
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  const text = await readText(request, maxBytes);
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BodyError(400, 'malformed_body', 'The body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BodyError(400, 'malformed_body', 'The body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  const body = request.body;
  if (body === null) return '';
  if (request.bodyUsed || body.locked) {
    throw new BodyError(400, 'body_already_read', 'The body was already read before this handler (by `authorize` or earlier middleware)');
  }
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, 'malformed_body', 'The body could not be read');
  } finally {
    reader?.releaseLock();
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(concat(chunks, size));
  } catch {
    throw new BodyError(400, 'malformed_body', 'The body is not valid UTF-8');
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): BodyError {
  return new BodyError(413, 'body_too_large', `The body is larger than ${maxBytes} bytes`);
}

/** Throws a 400 when `body` holds a key outside `known` (which also refuses `__proto__` and `constructor`). */
export function onlyKeys(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      throw new BodyError(400, 'unknown_field', known.length === 0 ? 'This route takes no fields' : `Unknown field; known fields: ${known.join(', ')}`);
    }
  }
}
