import { createHash, randomBytes } from 'node:crypto';
import { access, constants, lstat, mkdir, open, readdir, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { jsonDataProblem } from '../internal/json-data.js';

/** Envelope version of snapshot files. */
export const SNAPSHOT_VERSION = 1;

/** Largest snapshot file read back, in bytes: anything larger is not ours. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** Deepest nesting read back: the envelope, the state and a cached value nested as deep as a store allows. */
const MAX_DEPTH = 300;

/** What `readSnapshot` found. */
export type SnapshotRead =
  | { status: 'missing' }
  | { status: 'ok'; data: unknown; savedAt: string }
  | { status: 'invalid'; reason: string; movedTo: string | undefined };

interface Envelope {
  format: string;
  version: number;
  saved_at: string;
  sha256: string;
  data: unknown;
}

/**
 * Writes `data` as JSON to `path` atomically: a uniquely named temporary file in the same directory
 * (mode 0600), fsynced, then renamed over `path`, then the directory fsynced. A process killed at any
 * moment leaves either the previous file or the new one, never a torn one; at worst a `.tmp` file
 * remains, removed by `removeStaleTempFiles` at the next start. The envelope carries a format name
 * and a SHA-256 of the data, so a foreign or damaged file is recognised on read.
 *
 * When `path` is a symbolic link, the file it points at is written (temporary file beside the
 * target, renamed over the target): the link stays a link.
 */
export async function writeSnapshot(path: string, format: string, data: unknown, savedAt: Date = new Date()): Promise<void> {
  const body = JSON.stringify(data);
  const envelope: Envelope = { format, version: SNAPSHOT_VERSION, saved_at: savedAt.toISOString(), sha256: sha256(body), data: undefined };
  const text = `${JSON.stringify(envelope).slice(0, -1)},"data":${body}}\n`;
  const target = await resolveLink(path);
  const temp = tempName(target);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(target));
}

const MAX_LINKS = 40;

/**
 * The file a write to `path` must replace: `path` itself, or, through symbolic links (a dangling one
 * included), the file they point at. Renaming over the link would replace the link by a regular file.
 */
export async function resolveLink(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  let current = resolve(path);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    const info = await lstat(current).catch(() => undefined);
    if (info === undefined || !info.isSymbolicLink()) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`Too many symbolic links in ${path}`), { code: 'ELOOP' });
}

/**
 * Reads a snapshot written by `writeSnapshot`. A file that is not one (not JSON, another format or
 * version, a checksum mismatch, too large) is moved aside to `<path>.corrupt-<timestamp>` (never
 * deleted: it may be someone's data) and reported as `invalid`. Never throws for file content;
 * only for an unreadable path (permissions), which the caller reports too.
 */
export async function readSnapshot(path: string, format: string, now: number = Date.now()): Promise<SnapshotRead> {
  let text: string | undefined;
  try {
    text = await readRegularFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { status: 'missing' };
    throw error;
  }
  if (text === undefined) return setAside(path, `the file is larger than ${MAX_FILE_BYTES} bytes`, now);
  const problem = check(text, format);
  if (typeof problem === 'string') return setAside(path, problem, now);
  return { status: 'ok', data: problem.data, savedAt: problem.saved_at };
}

/**
 * The text of the regular file at `path`, or `undefined` when it is larger than `MAX_FILE_BYTES`.
 * Opened without blocking and checked on the open handle: a FIFO or a device (a link to `/dev/zero`)
 * would block a thread forever or be read without end; it is refused with `ENOTREGULAR`.
 */
async function readRegularFile(path: string): Promise<string | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path);
    if (info.size > MAX_FILE_BYTES) return undefined;
    // Read at most one byte past the bound: a file growing while it is read is not read without end.
    let buffer = Buffer.alloc(Math.min(info.size + 1, MAX_FILE_BYTES + 1));
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return buffer.toString('utf8', 0, length);
      length += bytesRead;
      if (length < buffer.length) continue;
      if (length > MAX_FILE_BYTES) return undefined;
      const larger = Buffer.alloc(Math.min(buffer.length * 2, MAX_FILE_BYTES + 1));
      buffer.copy(larger);
      buffer = larger;
    }
  } finally {
    await handle.close();
  }
}

function notRegular(path: string): Error {
  return Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREGULAR' });
}

function check(text: string, format: string): Envelope | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.length === 0 ? 'the file is empty' : 'the file is not JSON';
  }
  // The parsed value, not the text: `"\u005f_proto__"` is a `__proto__` key once parsed.
  const problem = jsonDataProblem(parsed, MAX_DEPTH);
  if (problem !== undefined) return `the file holds ${problem}`;
  const envelope = parsed as Partial<Envelope> | null;
  if (typeof envelope !== 'object' || envelope === null || envelope.format !== format) return `the file is not a ${format} snapshot`;
  if (envelope.version !== SNAPSHOT_VERSION) return `the snapshot has version ${String(envelope.version)}, expected ${SNAPSHOT_VERSION}`;
  if (typeof envelope.sha256 !== 'string' || sha256(JSON.stringify(envelope.data)) !== envelope.sha256) return 'the snapshot checksum does not match';
  if (typeof envelope.saved_at !== 'string') return 'the snapshot has no saved_at';
  return envelope as Envelope;
}

async function setAside(path: string, reason: string, now: number): Promise<SnapshotRead> {
  try {
    // Through a symbolic link, the file is moved aside, not the link (the next save recreates the file behind it).
    const target = await resolveLink(path);
    const movedTo = `${target}.corrupt-${Math.round(now)}`;
    await rename(target, movedTo);
    return { status: 'invalid', reason, movedTo };
  } catch {
    return { status: 'invalid', reason, movedTo: undefined };
  }
}

let counter = 0;

function tempName(path: string): string {
  return `${path}.${process.pid}.${++counter}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Removes temporary files left next to `path` by writers that were killed mid-write: those whose
 * process no longer runs. Returns how many it removed. Never throws.
 */
export async function removeStaleTempFiles(path: string): Promise<number> {
  let removed = 0;
  try {
    const target = await resolveLink(path);
    const pattern = new RegExp(`^${escapeRegExp(basename(target))}\\.(\\d+)\\.\\d+\\.[0-9a-f]{8}\\.tmp$`);
    for (const name of await readdir(dirname(target))) {
      const pid = pattern.exec(name)?.[1];
      if (pid === undefined || isAlive(Number(pid))) continue;
      await unlink(join(dirname(target), name)).then(() => removed++, () => undefined);
    }
  } catch {
    // The directory may not exist yet: nothing to clean.
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can fsync a directory (Windows); the rename itself is still atomic.
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Serializes the writes of one process to one file: a save waits for the previous one. */
export class FileSnapshot {
  readonly path: string;
  readonly #format: string;
  #last: Promise<void> = Promise.resolve();

  constructor(path: string, format: string) {
    this.path = path;
    this.#format = format;
  }

  /**
   * Makes sure saves can succeed: creates the folder of the file (or of the file a symbolic link
   * points at) when missing, mode 0700, and checks that it is writable. Rejects otherwise.
   */
  async prepare(): Promise<void> {
    const target = await resolveLink(this.path);
    const existing = await stat(target).catch(() => undefined);
    // A FIFO or a device where the file should be: reading it would block or never end.
    if (existing !== undefined && !existing.isFile()) throw notRegular(this.path);
    const folder = dirname(target);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await access(folder, constants.W_OK);
  }

  save(data: unknown, savedAt?: Date): Promise<void> {
    const next = this.#last.then(() => writeSnapshot(this.path, this.#format, data, savedAt));
    this.#last = next.catch(() => undefined);
    return next;
  }

  load(now?: number): Promise<SnapshotRead> {
    return this.#last.then(() => readSnapshot(this.path, this.#format, now));
  }
}
