import type { ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openContainerFilesystem } from '../../containers/filesystem.js';
import type { ContainerService } from '../../containers/service.js';
import { conflict, errnoCode, forbidden, invalid, isBerthError } from '../../errors.js';
import { openConfinedTree } from '../../files/tree.js';
import type { ByteRange, ConfinedTree, FileInfo } from '../../files/types.js';
import type { NativeAddon } from '../../native/addon-api.js';
import { attachment, parseRange } from '../downloads.js';
import { boolParam } from '../query.js';
import type { Handler, RequestContext, Router } from '../router.js';

/**
 * The browse API (docs/berth-api.md): the app's file browser over a volume's files
 * (read-write, `beneath` confinement: the volume's own absolute links mean container paths)
 * and over a container's filesystem (read-only, `in-root`: what its processes see).
 * `{root}` is `/berth/volumes/{name}` or `/berth/containers/{id}`; every path is a query
 * parameter (never a URL segment, which URL parsing would normalise) resolved inside the root
 * by files/ (openat2), so `..` and symlinks cannot leave it.
 *
 *   GET    {root}/entry?path=P[&follow=1]        one entry (lstat)
 *   DELETE {root}/entry?path=P                   remove it (a folder with everything in it)
 *   GET    {root}/directory?path=P               {path, entries}
 *   POST   {root}/directory?path=P[&mode=0755]   create a folder
 *   GET    {root}/content?path=P   (HEAD too)    a file's bytes; `Range: bytes=a-b` → 206
 *   PUT    {root}/content?path=P[&overwrite=1][&mode=0644]   upload (the body, streamed)
 *   GET    {root}/archive?path=P                 a file or folder as a tar
 *   PUT    {root}/archive?path=D                 extract the tar in the body into folder D
 *   POST   {root}/rename?from=P&to=Q             rename within the root
 *
 * Writes under /berth/containers/ are refused (403). Nothing is buffered whole: file bodies
 * and tars stream between the socket and the disk.
 */
export interface BrowseVolumes {
  /** The host directory holding a volume's files (its `_data`); not-found for an unknown volume. */
  dataDir(name: string): Promise<string>;
}

export interface BrowseDeps {
  readonly addon: NativeAddon;
  readonly volumes: BrowseVolumes;
  readonly containers: ContainerService;
}

/** A tree opened for one request; `release` when the response is done. */
interface OpenedRoot {
  readonly tree: ConfinedTree;
  /** The volume's or the container's name: the download name of the root itself. */
  readonly label: string;
  release(): Promise<void>;
}

type RootOpener = (ctx: RequestContext) => Promise<OpenedRoot>;

/** Linux limits: PATH_MAX and NAME_MAX, in bytes. */
const PATH_MAX = 4096;
const NAME_MAX = 255;
/** Bytes of an unread request body berthd still reads (and drops) after an early answer. */
const DRAIN_LIMIT = 1024 * 1024;

export function registerBrowseRoutes(router: Router, deps: BrowseDeps): void {
  const volume: RootOpener = async (ctx) => {
    const name = ctx.params.name as string;
    const tree = openConfinedTree(deps.addon, await deps.volumes.dataDir(name), 'beneath');
    return { tree, label: name, release: () => Promise.resolve(tree.close()) };
  };
  const container: RootOpener = async (ctx) => {
    const c = deps.containers.get(ctx.params.id as string);
    const fs = await openContainerFilesystem(deps.containers.ctx, c, 'read');
    return { tree: fs.tree, label: c.Name.replace(/^\//, ''), release: async () => fs.release() };
  };

  for (const [prefix, open] of [['/berth/volumes/:name', volume], ['/berth/containers/:id', container]] as const) {
    router.get(`${prefix}/entry`, browse(open, (q) => ({ path: requiredPath(q), follow: boolParam(q, 'follow') }), async (ctx, { tree }, p) => {
      sendJson(ctx.res, 200, entryJson(await tree.stat(p.path, { follow: p.follow })));
    }));
    router.get(`${prefix}/directory`, browse(open, (q) => requiredPath(q), async (ctx, { tree }, path) => {
      const entries = await tree.list(path);
      sendJson(ctx.res, 200, { path, entries: entries.map(entryJson) });
    }));
    router.get(`${prefix}/content`, browse(open, (q) => requiredPath(q), serveContent));
    router.get(`${prefix}/archive`, browse(open, (q) => requiredPath(q), serveArchive));
  }

  router.delete('/berth/volumes/:name/entry', browse(volume, (q) => requiredPath(q), async (ctx, { tree }, path) => {
    await tree.remove(path);
    ctx.res.writeHead(204).end();
  }));
  router.post('/berth/volumes/:name/directory', browse(volume, (q) => ({ path: requiredPath(q), mode: modeParam(q, 0o755) }), async (ctx, { tree }, p) => {
    sendJson(ctx.res, 201, entryJson(await tree.mkdir(p.path, p.mode)));
  }));
  router.put('/berth/volumes/:name/content', browse(volume, uploadParams, receiveContent));
  router.put('/berth/volumes/:name/archive', browse(volume, (q) => requiredPath(q), async (ctx, { tree }, dir) => {
    const report = await uploading(ctx, tree.extract(dir, requestBody(ctx)));
    sendJson(ctx.res, 200, { files: report.files, bytes: report.bytes });
  }));
  router.post('/berth/volumes/:name/rename', browse(volume, (q) => ({ from: requiredPath(q, 'from'), to: requiredPath(q, 'to') }), async (ctx, { tree }, p) => {
    await tree.rename(p.from, p.to);
    ctx.res.writeHead(204).end();
  }));

  // A container's filesystem is browsed, never changed: refuse before opening anything (an
  // unknown container is still a 404).
  const readOnly = async (ctx: RequestContext): Promise<void> => {
    const c = deps.containers.get(ctx.params.id as string);
    closeAfterReply(ctx);
    throw forbidden(
      `the filesystem of container ${c.Name.replace(/^\//, '')} is read-only in the browse API: ` +
        'change files in a volume (/berth/volumes/{name}/...) or copy them in with docker cp (PUT /containers/{id}/archive)',
    );
  };
  router.delete('/berth/containers/:id/entry', readOnly);
  router.post('/berth/containers/:id/directory', readOnly);
  router.put('/berth/containers/:id/content', readOnly);
  router.put('/berth/containers/:id/archive', readOnly);
  router.post('/berth/containers/:id/rename', readOnly);
}

/**
 * One browse route: checks the query (`parse`) before anything is opened (a stopped
 * container's filesystem costs a helper process), opens the root, runs `run`, and releases the
 * root once the answer is done, even when `run` fails.
 */
function browse<P>(
  open: RootOpener,
  parse: (query: URLSearchParams) => P,
  run: (ctx: RequestContext, root: OpenedRoot, params: P) => Promise<void>,
): Handler {
  return async (ctx) => {
    let params: P;
    let root: OpenedRoot;
    try {
      params = parse(ctx.query);
      root = await open(ctx);
    } catch (err) {
      closeAfterReply(ctx);
      throw err;
    }
    try {
      await run(ctx, root, params);
    } finally {
      await root.release();
    }
  };
}

/** GET/HEAD content: the whole file (200) or one range of it (206); 416 for a range outside it. */
async function serveContent(ctx: RequestContext, root: OpenedRoot, path: string): Promise<void> {
  // Stat first: a directory or a range outside the file is answered before anything is opened.
  const info = await root.tree.stat(path, { follow: true });
  if (info.type !== 'file') {
    const hint = info.type === 'directory' ? 'list it with GET {root}/directory or download it with GET {root}/archive' : 'only regular files have content';
    throw invalid(`"${path}" is a ${info.type}, not a regular file: ${hint}`);
  }
  const wanted = parseRange(headerOf(ctx, 'range'), info.size);
  if (wanted.kind === 'unsatisfiable') {
    sendRangeError(ctx.res, info.size, wanted.reason);
    return;
  }
  // Always an explicit range (but for an empty file), so Content-Length holds even if the
  // file grows while it is sent.
  const range: ByteRange | undefined =
    wanted.kind === 'range' ? wanted.range : info.size > 0 ? { start: 0, end: info.size - 1 } : undefined;
  const { info: opened, stream } = await root.tree.read(path, range);
  const length = range === undefined ? 0 : (range.end ?? opened.size - 1) - range.start + 1;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    'Last-Modified': opened.mtime.toUTCString(),
    'Content-Disposition': attachment(baseName(path, root.label)),
  };
  if (wanted.kind === 'range') headers['Content-Range'] = `bytes ${wanted.range.start}-${wanted.range.end}/${opened.size}`;
  ctx.res.writeHead(wanted.kind === 'range' ? 206 : 200, headers);
  if (ctx.req.method === 'HEAD') {
    stream.destroy();
    ctx.res.end();
    return;
  }
  await streamOut(stream, ctx.res);
}

/** A tar of a file or folder, produced while it is sent; the root's top entry is named after it. */
async function serveArchive(ctx: RequestContext, root: OpenedRoot, path: string): Promise<void> {
  const name = baseName(path, root.label);
  // pack() resolves the path before it returns: a missing path or an escape is a 404/403 here.
  const tarStream = root.tree.pack(path, name === root.label ? { name } : {});
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Disposition': attachment(`${name}.tar`) });
  if (ctx.req.method === 'HEAD') {
    tarStream.destroy();
    ctx.res.end();
    return;
  }
  await streamOut(tarStream, ctx.res);
}

interface UploadParams {
  readonly path: string;
  readonly overwrite: boolean;
  readonly mode: number;
}

function uploadParams(query: URLSearchParams): UploadParams {
  return { path: requiredPath(query), overwrite: boolParam(query, 'overwrite'), mode: modeParam(query, 0o644) };
}

/** PUT content: the request body goes to disk as it arrives (files/ renames it into place at the end). */
async function receiveContent(ctx: RequestContext, root: OpenedRoot, { path, overwrite, mode }: UploadParams): Promise<void> {
  const existed = await root.tree.stat(path).then(
    () => true,
    () => false,
  );
  const info = await uploading(ctx, root.tree.write(path, requestBody(ctx), { mode, overwrite })).catch((err: unknown) => {
    if (isBerthError(err, 'conflict') && !overwrite) throw conflict(`${err.message}: pass overwrite=1 to replace it`);
    throw err;
  });
  sendJson(ctx.res, existed ? 200 : 201, entryJson(info));
}

/**
 * The request body as a stream of its own, so a client that goes away mid-upload fails it (the
 * upload is abandoned, not left waiting: a request's own stream just stops); backpressure
 * passes through to the socket.
 */
function requestBody(ctx: RequestContext): Readable {
  const body = new PassThrough({ highWaterMark: 256 * 1024 });
  ctx.req.on('error', (err) => body.destroy(err));
  ctx.req.on('close', () => {
    if (!ctx.req.complete) body.destroy(invalid('the client closed the connection before the upload was complete'));
  });
  ctx.req.pipe(body);
  return body;
}

/** Waits for an operation that consumes the request body (see closeAfterReply when it fails). */
async function uploading<T>(ctx: RequestContext, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    closeAfterReply(ctx);
    throw err;
  }
}

/**
 * An answer given before the request body was read: a small body (≤ 1 MiB, by Content-Length)
 * is read and dropped by Node after the answer, so the connection stays usable and the client
 * surely sees the answer; a larger or chunked one is not worth reading, so the connection
 * closes after the answer (as Go's net/http does).
 */
function closeAfterReply(ctx: RequestContext): void {
  if (ctx.req.complete || ctx.res.headersSent) return;
  const length = Number(ctx.req.headers['content-length']);
  if (Number.isSafeInteger(length) && length <= DRAIN_LIMIT) return;
  ctx.res.setHeader('Connection', 'close');
}

/** Pipes a file or tar to the client; a client that goes away just ends it. */
async function streamOut(source: Readable, res: ServerResponse): Promise<void> {
  try {
    await pipeline(source, res);
  } catch (err) {
    if (errnoCode(err) === 'ERR_STREAM_PREMATURE_CLOSE' && res.destroyed) return;
    throw err;
  }
}

/** The JSON form of one entry: what the app's file list shows. */
export interface EntryJson {
  name: string;
  type: FileInfo['type'];
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** RFC 3339, UTC. */
  mtime: string;
  linkTarget?: string;
}

function entryJson(info: FileInfo): EntryJson {
  return {
    name: info.name,
    type: info.type,
    size: info.size,
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    mtime: info.mtime.toISOString(),
    ...(info.linkTarget !== undefined ? { linkTarget: info.linkTarget } : {}),
  };
}

/** A path query parameter: present, without NUL, within Linux's limits. */
function requiredPath(query: URLSearchParams, name = 'path'): string {
  const value = query.get(name);
  if (value === null || value === '') {
    throw invalid(`missing query parameter "${name}": give the path inside the root, e.g. ?${name}=/dir/file.txt ("/" is the root)`);
  }
  if (value.includes('\0')) throw invalid(`query parameter "${name}" contains a NUL byte; paths cannot`);
  const bytes = Buffer.byteLength(value);
  if (bytes >= PATH_MAX) throw invalid(`${name} is ${bytes} bytes long; paths must be shorter than ${PATH_MAX} bytes`);
  for (const part of value.split('/')) {
    const len = Buffer.byteLength(part);
    if (len > NAME_MAX) {
      throw invalid(`the name "${part.slice(0, 40)}…" in ${name} is ${len} bytes long; a file name is at most ${NAME_MAX} bytes`);
    }
  }
  return value;
}

/** `mode=0755` (octal, 3 or 4 digits). */
function modeParam(query: URLSearchParams, fallback: number): number {
  const value = query.get('mode');
  if (value === null || value === '') return fallback;
  if (!/^0?[0-7]{3,4}$/.test(value)) throw invalid(`invalid mode "${value}": give octal permission bits, e.g. mode=0644`);
  return parseInt(value, 8);
}

function headerOf(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sendRangeError(res: ServerResponse, size: number, reason: string): void {
  const body = JSON.stringify({ message: reason });
  res.writeHead(416, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Content-Range': `bytes */${size}`,
  });
  res.end(body);
}

/** The last name of a path, or the root's label for the root itself. */
function baseName(path: string, rootLabel: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const last = parts[parts.length - 1];
  return last === undefined || last === '..' ? rootLabel : last;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
