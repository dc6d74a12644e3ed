import { join, posix } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { forbidden, invalid, isBerthError, notFound } from '../../errors.js';
import type { FileInfo } from '../../files/types.js';
import { decompressed } from '../../images/compression.js';
import { emitContainerEvent, type ContainerContext } from '../context.js';
import { openContainerFilesystem, type ContainerFilesystem } from '../filesystem.js';
import type { ContainerRecord, MountPoint } from '../model.js';
import { resolveUser } from '../user.js';

/**
 * The archive API (`docker cp`) over a container's filesystem (filesystem.ts): live for a
 * running or paused container, held otherwise, with its volumes and binds either way.
 *
 *   HEAD  stat        lstat of `path`; a symlink's linkTarget fully resolved in the container
 *                     (Docker's, not the link's text)
 *   GET   archive     a tar of `path`: a directory recursively under its base name, `dir/.`
 *                     its contents (`./name`), a symlink as the link itself (`link/` follows it)
 *   PUT   extract     a tar (plain or gzip) into the directory `path` (a link to one is
 *                     followed); noOverwriteDirNonDir and copyUIDGID as Docker's
 * A path missing in the container is 404 `Could not find the file <path> in container <name>`
 * (the name as the client gave it). The container's events: `archive-path`, `extract-to-dir`.
 */

/** Docker's symlink resolution depth (the kernel's too). */
const MAX_LINKS = 40;

/** `path` as an absolute container path, keeping the `/.` or `/` that means "follow"/"contents". */
function containerPath(path: string): string {
  if (path === '') throw invalid('bad parameter: path cannot be empty');
  if (path.includes('\0')) throw invalid('bad parameter: path must not contain NUL bytes');
  const clean = posix.normalize(posix.join('/', path));
  if (path.endsWith('/.') || path === '.') return clean === '/' ? '/.' : `${clean}/.`;
  if (path.endsWith('/') && clean !== '/') return `${clean}/`;
  return clean;
}

/** Whether the path asks for what a final symlink points at (`x/`, `x/.`). */
const followsFinal = (path: string): boolean => path.endsWith('/') || path.endsWith('/.');

function fileNotFound(err: unknown, path: string, ref: string): unknown {
  return isBerthError(err, 'not-found') ? notFound(`Could not find the file ${path} in container ${ref}`) : err;
}

/**
 * `path` with every symlink in it resolved inside the container (Docker's EvalSymlinks /
 * FollowSymlinkInScope): the real directory a PUT writes to, and the linkTarget a stat shows.
 * A component that cannot be looked up ends the resolution there (the rest is kept as given;
 * the caller's own look-up then reports why).
 */
async function realPath(fs: ContainerFilesystem, path: string): Promise<string> {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  let resolved: string[] = [];
  for (let hops = 0; pending.length > 0; ) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    let info: FileInfo;
    try {
      info = await fs.tree.stat(`/${[...resolved, part].join('/')}`);
    } catch {
      return `/${[...resolved, part, ...pending].join('/')}`;
    }
    if (info.type !== 'symlink' || info.linkTarget === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_LINKS) throw invalid(`${path}: too many levels of symbolic links`);
    if (info.linkTarget.startsWith('/')) resolved = [];
    pending = [...info.linkTarget.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
  }
  return `/${resolved.join('/')}`;
}

/** HEAD: the stat the X-Docker-Container-Path-Stat header carries. */
export async function statContainerPath(ctx: ContainerContext, c: ContainerRecord, ref: string, rawPath: string): Promise<FileInfo> {
  const path = containerPath(rawPath);
  const fs = await openContainerFilesystem(ctx, c, 'read');
  try {
    const info = await fs.tree.stat(path, { follow: followsFinal(path) }).catch((err: unknown) => {
      throw fileNotFound(err, rawPath, ref);
    });
    return info.type === 'symlink' ? { ...info, linkTarget: await realPath(fs, path) } : info;
  } finally {
    await fs.release();
  }
}

/**
 * GET: the stat and the tar stream. The filesystem stays open until the stream ends, fails
 * or is destroyed (a client that goes away mid-transfer), then is released.
 */
export async function archiveContainerPath(
  ctx: ContainerContext,
  c: ContainerRecord,
  ref: string,
  rawPath: string,
): Promise<{ info: FileInfo; stream: Readable }> {
  const path = containerPath(rawPath);
  const fs = await openContainerFilesystem(ctx, c, 'read');
  try {
    const follow = followsFinal(path);
    let info = await fs.tree.stat(path, { follow }).catch((err: unknown) => {
      throw fileNotFound(err, rawPath, ref);
    });
    if (info.type === 'symlink') info = { ...info, linkTarget: await realPath(fs, path) };
    const contentsOnly = path.endsWith('/.') && info.type === 'directory';
    const stream = fs.tree.pack(path, contentsOnly ? { contentsOnly: true, name: '.', followLink: follow } : { followLink: follow });
    void finished(stream).catch(() => undefined).finally(() => void fs.release());
    emitContainerEvent(ctx, c, 'archive-path');
    return { info, stream };
  } catch (err) {
    await fs.release();
    throw err;
  }
}

export interface ExtractRequest {
  readonly noOverwriteDirNonDir: boolean;
  readonly copyUIDGID: boolean;
}

/** The mount `path` lies in (the deepest one), if any. */
function mountAt(c: ContainerRecord, path: string, live: boolean): MountPoint | undefined {
  let found: MountPoint | undefined;
  for (const m of c.MountPoints ?? []) {
    // A stopped container's tmpfs mounts are not made: the rootfs below them is written.
    if (m.Type === 'tmpfs' && !live) continue;
    const inside = path === m.Destination || path.startsWith(m.Destination === '/' ? '/' : `${m.Destination}/`);
    if (inside && (found === undefined || m.Destination.length > found.Destination.length)) found = m;
  }
  return found;
}

/** Docker's checkWritablePath: a read-only mount or rootfs refuses the copy up front. */
function assertWritable(c: ContainerRecord, path: string, live: boolean): void {
  const mount = mountAt(c, path, live);
  if (mount) {
    if (!mount.RW) throw forbidden('mounted volume is marked read-only');
    return;
  }
  if (c.HostConfig.ReadonlyRootfs === true) throw forbidden('container rootfs is marked read-only');
}

/** PUT: extracts `body` into the directory `path`. */
export async function extractToContainer(
  ctx: ContainerContext,
  c: ContainerRecord,
  ref: string,
  rawPath: string,
  body: Readable,
  req: ExtractRequest,
): Promise<void> {
  const path = containerPath(rawPath);
  const fs = await openContainerFilesystem(ctx, c, 'write');
  try {
    // The real directory (links followed, the last one too), as Docker resolves it before its checks.
    const dir = await realPath(fs, path);
    const info = await fs.tree.stat(dir).catch((err: unknown) => {
      throw fileNotFound(err, rawPath, ref);
    });
    if (info.type !== 'directory') throw invalid('extraction point is not a directory');
    assertWritable(c, dir, fs.live);
    const owner = req.copyUIDGID ? await containerUser(ctx, c) : undefined;
    const tar = await decompressed(body, 'the archive');
    await fs.tree.extract(dir, tar, {
      noOverwriteDirNonDir: req.noOverwriteDirNonDir,
      ...(owner !== undefined ? { owner } : {}),
    });
    emitContainerEvent(ctx, c, 'extract-to-dir');
  } finally {
    await fs.release();
  }
}

/** copyUIDGID: the container's user as its start resolves it (its /etc/passwd and /etc/group). */
async function containerUser(ctx: ContainerContext, c: ContainerRecord): Promise<{ uid: number; gid: number }> {
  const image = await ctx.images.byId(c.Image);
  const layers = image ? [...image.layers].reverse().map((l) => l.dir) : [];
  const user = await resolveUser(c.Config.User, [join(ctx.layout.container(c.Id), 'upper'), ...layers]);
  return { uid: user.uid, gid: user.gid };
}
