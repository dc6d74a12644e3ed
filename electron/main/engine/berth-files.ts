import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { FileEntry, FileRoot, FileType } from '../../shared/bridge.js';

/**
 * berthd's browse API (docs/berth-api.md, "/berth/volumes/{name}/… and /berth/containers/{id}/…
 * — browse files"), through dockerode's modem so a socket and an SSH connection both work.
 *
 * Paths always travel as query parameters; berthd resolves them inside the root and refuses
 * escapes (403), bad paths (400), missing ones (404) and taken names (409) with a message.
 * Those refusals are thrown as `BrowseRefusal` (statusCode + `{message}`, the shape
 * transport/errors.ts maps for dockerode), so the renderer sees berthd's own words.
 */

/** berthd answered with a status this call does not accept. */
export class BrowseRefusal extends Error {
  readonly json: { readonly message: string };
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'BrowseRefusal';
    this.json = { message };
  }
}

/** Every status, so the modem hands over the response and this module reads the refusal itself. */
const ANY_STATUS: Record<number, true> = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [i + 100, true]));

/** The largest error body read (berthd's are one short JSON line). */
const MAX_ERROR_BODY = 64 * 1024;
/** The largest JSON answer read (a listing of a very large folder). */
const MAX_JSON_BODY = 64 * 1024 * 1024;

export function rootPrefix(root: FileRoot): string {
  return root.kind === 'volume' ? `/berth/volumes/${encodeURIComponent(root.name)}` : `/berth/containers/${encodeURIComponent(root.id)}`;
}

interface BrowseRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly root: FileRoot;
  /** `entry`, `directory`, `content`, `archive` or `rename`. */
  readonly resource: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

function send(docker: Dockerode, r: BrowseRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `${rootPrefix(r.root)}/${r.resource}?`,
        method: r.method,
        isStream: true,
        // `_body: {}` keeps the modem from sending the query again as a JSON body on POST.
        options: { _query: r.query, _body: {} },
        statusCodes: ANY_STATUS,
        ...(r.headers === undefined ? {} : { headers: { ...r.headers } }),
        ...(r.body === undefined ? {} : { file: r.body }),
      },
      (err, result) => {
        if (err !== null && err !== undefined) reject(err);
        else resolve(result as IncomingMessage);
      },
    );
  });
}

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      res.destroy();
      throw new Error(`berthd's answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads a refusal's `{message}` (or its text) and throws it. */
async function refuse(res: IncomingMessage, what: string): Promise<never> {
  const status = res.statusCode ?? 500;
  let message = '';
  try {
    const text = (await readBody(res, MAX_ERROR_BODY)).toString('utf8').trim();
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      message = typeof parsed.message === 'string' ? parsed.message : text;
    } catch {
      message = text;
    }
  } catch {
    res.destroy();
  }
  throw new BrowseRefusal(status, message === '' ? `berthd refused to ${what} (HTTP ${status})` : message);
}

/** Sends `r`; a status outside `ok` is thrown as berthd's message. */
async function call(docker: Dockerode, r: BrowseRequest, ok: readonly number[], what: string): Promise<IncomingMessage> {
  const res = await send(docker, r);
  if (!ok.includes(res.statusCode ?? 0)) return refuse(res, what);
  return res;
}

async function callJson(docker: Dockerode, r: BrowseRequest, ok: readonly number[], what: string): Promise<unknown> {
  const res = await call(docker, r, ok, what);
  const text = (await readBody(res, MAX_JSON_BODY)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`berthd answered ${what} with something that is not JSON`);
  }
}

const FILE_TYPES: readonly FileType[] = ['file', 'directory', 'symlink', 'fifo', 'socket', 'char-device', 'block-device'];

/** One berthd entry as the bridge's FileEntry; anything malformed is an error, never a guess. */
export function toFileEntry(raw: unknown): FileEntry {
  if (raw === null || typeof raw !== 'object') throw new Error('berthd sent an entry that is not an object');
  const e = raw as Record<string, unknown>;
  const num = (k: string) => {
    const v = e[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`berthd sent an entry without a numeric ${k}`);
    return v;
  };
  const name = e['name'];
  const type = e['type'];
  const mtime = e['mtime'];
  if (typeof name !== 'string') throw new Error('berthd sent an entry without a name');
  if (typeof type !== 'string' || !(FILE_TYPES as readonly string[]).includes(type)) throw new Error(`berthd sent an entry of unknown type ${String(type)}`);
  const entry: FileEntry = {
    name,
    type: type as FileType,
    size: num('size'),
    mode: num('mode') & 0o7777,
    uid: num('uid'),
    gid: num('gid'),
    mtime: typeof mtime === 'string' ? mtime : '',
  };
  return typeof e['linkTarget'] === 'string' ? { ...entry, linkTarget: e['linkTarget'] } : entry;
}

export async function describeEntry(docker: Dockerode, root: FileRoot, path: string, follow: boolean): Promise<FileEntry> {
  const query: Record<string, string> = follow ? { path, follow: '1' } : { path };
  return toFileEntry(await callJson(docker, { method: 'GET', root, resource: 'entry', query }, [200], `describe ${path}`));
}

export async function listDirectory(docker: Dockerode, root: FileRoot, path: string): Promise<{ path: string; entries: FileEntry[] }> {
  const raw = await callJson(docker, { method: 'GET', root, resource: 'directory', query: { path } }, [200], `list ${path}`);
  const listing = raw as { path?: unknown; entries?: unknown };
  if (!Array.isArray(listing.entries)) throw new Error('berthd sent a listing without entries');
  return { path: typeof listing.path === 'string' ? listing.path : path, entries: listing.entries.map(toFileEntry) };
}

/** The first `maxBytes` of a file (one Range request), and the whole file's size. */
export async function readStart(docker: Dockerode, root: FileRoot, path: string, maxBytes: number): Promise<{ bytes: Uint8Array; size: number; truncated: boolean }> {
  const res = await send(docker, { method: 'GET', root, resource: 'content', query: { path }, headers: { Range: `bytes=0-${maxBytes - 1}` } });
  const contentRange = String(res.headers['content-range'] ?? '');
  if (res.statusCode === 416 && /^bytes \*\/0$/.test(contentRange)) {
    // An empty file has no byte 0 to ask for: it is simply empty.
    res.resume();
    return { bytes: new Uint8Array(0), size: 0, truncated: false };
  }
  if (res.statusCode !== 206 && res.statusCode !== 200) return refuse(res, `read ${path}`);
  const bytes = await readUpTo(res, maxBytes);
  const total = /\/(\d+)$/.exec(contentRange);
  const size = total !== null ? Number(total[1]) : bytes.length;
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), size, truncated: size > bytes.length };
}

/** At most `limit` bytes of the body; the rest is not read (an engine that ignored the Range). */
async function readUpTo(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    const room = limit - length;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    length += Math.min(chunk.length, room);
    if (length >= limit) {
      res.destroy();
      break;
    }
  }
  return Buffer.concat(chunks);
}

const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE']);

async function entryOrUndefined(docker: Dockerode, root: FileRoot, path: string): Promise<FileEntry | undefined> {
  try {
    return await describeEntry(docker, root, path, false);
  } catch (err) {
    if (err instanceof BrowseRefusal && err.statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Writes `bytes` to `directory/name`.
 *
 * berthd answers a refused upload at once and, for a body over 1 MiB, closes the connection
 * without reading the rest; the kernel may then reset it before the answer is read. So what
 * can be known beforehand is asked first (the folder exists inside the root, the name is free
 * or may be replaced), and the body goes with a Content-Length (a refused body up to 1 MiB is
 * drained by berthd, so its answer always arrives). berthd still decides; this only makes its
 * refusals arrive as messages.
 */
export async function upload(docker: Dockerode, root: FileRoot, directory: string, name: string, bytes: Uint8Array, overwrite: boolean): Promise<FileEntry> {
  const folder = await describeEntry(docker, root, directory, true);
  if (folder.type !== 'directory') throw new BrowseRefusal(400, `${directory} is a ${folder.type}, not a folder: upload into a folder`);
  const path = directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
  const existing = await entryOrUndefined(docker, root, path);
  if (existing !== undefined && !overwrite) throw new BrowseRefusal(409, `${path} already exists: replace it (overwrite) or pick another name`);
  if (existing?.type === 'directory') throw new BrowseRefusal(400, `${path} is a folder; a file cannot replace it`);
  const query: Record<string, string> = overwrite ? { path, overwrite: '1' } : { path };
  // A view of the same memory (no copy); the modem sends it with its Content-Length.
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const r: BrowseRequest = { method: 'PUT', root, resource: 'content', query, headers: { 'Content-Type': 'application/octet-stream' }, body };
  try {
    return toFileEntry(await callJson(docker, r, [200, 201], `upload ${path}`));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (root.kind === 'container' && typeof code === 'string' && CONNECTION_LOST.has(code)) {
      // The documented answer to any change under /berth/containers/ (403), lost with the connection.
      throw new BrowseRefusal(403, `the filesystem of container ${root.id} is read-only in the file browser: copy files in with docker cp`);
    }
    throw err;
  }
}

export async function makeDirectory(docker: Dockerode, root: FileRoot, path: string): Promise<FileEntry> {
  return toFileEntry(await callJson(docker, { method: 'POST', root, resource: 'directory', query: { path } }, [201], `create ${path}`));
}

export async function rename(docker: Dockerode, root: FileRoot, from: string, to: string): Promise<void> {
  (await call(docker, { method: 'POST', root, resource: 'rename', query: { from, to } }, [204, 200], `rename ${from}`)).resume();
}

export async function remove(docker: Dockerode, root: FileRoot, path: string): Promise<void> {
  (await call(docker, { method: 'DELETE', root, resource: 'entry', query: { path } }, [204, 200], `delete ${path}`)).resume();
}

/** A file's bytes (`content`) or a tar of it (`archive`), streamed as berthd sends it. */
export async function openStream(docker: Dockerode, root: FileRoot, path: string, resource: 'content' | 'archive'): Promise<Readable> {
  return call(docker, { method: 'GET', root, resource, query: { path } }, [200], `download ${path}`);
}
