import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type * as tar from 'tar-stream';
import { invalid, isBerthError } from '../../errors.js';
import type { ConfinedTree, FileInfo } from '../../files/types.js';
import { decompress } from './decompress.js';
import type { WalkedEntry } from './copy-sources.js';
import { DOWNLOAD_MODE, type Download } from './download.js';
import { extractWritten, type TarWriter } from './tar-writer.js';

/**
 * Writing one planned COPY/ADD item into the target (a container's writable filesystem, an
 * in-root ConfinedTree), with the classic builder's rules (moby copy.go performCopyForInfo):
 *
 *   file       into `dest` when it ends with `/` or is an existing directory (by the source's
 *              name), else as `dest`; missing parents are made 0755 and owned like the file
 *   directory  its contents into `dest` (merged with what is there); `dest` made 0755 and owned
 *              like the files when missing, its missing parents root's (moby's CopyWithTar)
 *   archive    (ADD, a local tar) extracted into `dest` with the archive's own owners; `dest`
 *              and its parents made 0755 root's when missing
 *   download   (ADD <url>) as a file, mode 0600
 *
 * Copied entries keep their modes (`--chmod` overrides files' and directories') and mtimes,
 * and are owned by `owner` (--chown) or root. Nothing is written through a path the target
 * would not resolve inside itself: every write is the target's extract().
 */
export type PlannedItem =
  | { readonly kind: 'file'; readonly tree: ConfinedTree; readonly path: string; readonly info: FileInfo }
  | { readonly kind: 'directory'; readonly tree: ConfinedTree; readonly path: string; readonly entries: readonly WalkedEntry[] }
  | { readonly kind: 'archive'; readonly tree: ConfinedTree; readonly path: string }
  | { readonly kind: 'download'; readonly download: Download };

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface Destination {
  /** Absolute, normalised, no trailing `/` (except `/` itself). */
  readonly path: string;
  /** The instruction's destination ended with `/`: always a directory. */
  readonly isDirectory: boolean;
}

/** Who owns what is copied: one owner (--chown, or root), or the source's own owners (`COPY
 *  --from` without --chown, as moby's preserveOwnership). New parent directories: root then. */
export type OwnerRule = Owner | 'source';

export interface ApplyOptions {
  readonly command: string;
  readonly owner: OwnerRule;
  readonly chmod?: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

function entryOwner(info: Pick<FileInfo, 'uid' | 'gid'>, rule: OwnerRule): Owner {
  return rule === 'source' ? { uid: info.uid, gid: info.gid } : rule;
}

/** The owner of what the copy makes itself: parent directories, downloads. */
function ownerOfMade(rule: OwnerRule): Owner {
  return rule === 'source' ? ROOT : rule;
}
const NEW_DIR_MODE = 0o755;
const SMALL_FILE = 256 * 1024;

/** Docker's normalizeDest: a relative destination is below the workdir; a trailing `/` kept as a flag. */
export function destination(dest: string, workdir: string): Destination {
  const joined = dest.startsWith('/') ? posix.normalize(dest) : posix.join('/', workdir === '' ? '/' : workdir, dest);
  const path = joined.length > 1 ? joined.replace(/\/+$/, '') : '/';
  return { path: path === '' ? '/' : path, isDirectory: dest.endsWith('/') };
}

export async function applyItem(target: ConfinedTree, item: PlannedItem, dest: Destination, opts: ApplyOptions): Promise<void> {
  switch (item.kind) {
    case 'file': {
      const path = await fileDestination(target, dest, item.info.name, opts);
      const { info, stream } = await item.tree.read(item.path);
      return write(target, async (writer) => {
        await makeParents(writer, await missingParents(target, path, opts), ownerOfMade(opts.owner));
        await writer.add(header(path, 'file', { ...info, mode: opts.chmod ?? info.mode }, entryOwner(info, opts.owner), { size: info.size }), stream);
      }, () => stream.destroy());
    }
    case 'download': {
      const { download } = item;
      const path = await fileDestination(target, dest, download.name, opts);
      const stream = createReadStream(download.file);
      const info = { mode: opts.chmod ?? DOWNLOAD_MODE, mtime: download.mtime };
      return write(target, async (writer) => {
        await makeParents(writer, await missingParents(target, path, opts), ownerOfMade(opts.owner));
        await writer.add(header(path, 'file', info, ownerOfMade(opts.owner), { size: download.size }), stream);
      }, () => stream.destroy());
    }
    case 'directory':
      return copyDirectory(target, item.tree, item.entries, dest.path, opts);
    case 'archive':
      return extractArchive(target, item.tree, item.path, dest.path, opts);
  }
}

/** Where a file lands: inside `dest` when it is a directory (named or existing), else `dest` itself. */
async function fileDestination(target: ConfinedTree, dest: Destination, name: string, opts: ApplyOptions): Promise<string> {
  const existing = await lookup(target, dest.path, opts);
  const path = dest.isDirectory || existing?.type === 'directory' ? posix.join(dest.path, name) : dest.path;
  if (path === '/') throw invalid(`${opts.command} failed: cannot copy a file over the root directory`);
  return path;
}

async function copyDirectory(target: ConfinedTree, source: ConfinedTree, entries: readonly WalkedEntry[], dest: string, opts: ApplyOptions): Promise<void> {
  const existing = await lookup(target, dest, opts);
  if (existing !== undefined && existing.type !== 'directory') {
    throw invalid(`${opts.command} failed: cannot copy a directory to ${dest}: it exists and is not a directory`);
  }
  const parents = await missingParents(target, dest, opts);
  await write(target, async (writer) => {
    await makeParents(writer, parents, ROOT);
    if (existing === undefined) await makeParents(writer, [dest], ownerOfMade(opts.owner));
    for (const entry of entries) await addEntry(writer, source, entry, posix.join(dest, entry.rel), opts);
  });
}

async function addEntry(writer: TarWriter, source: ConfinedTree, entry: WalkedEntry, path: string, opts: ApplyOptions): Promise<void> {
  const { info } = entry;
  switch (info.type) {
    case 'directory':
      return writer.add(header(path, 'directory', { ...info, mode: opts.chmod ?? info.mode }, entryOwner(info, opts.owner)));
    case 'symlink':
      return writer.add(header(path, 'symlink', info, entryOwner(info, opts.owner), { linkname: info.linkTarget ?? '' }));
    case 'fifo':
      return writer.add(header(path, 'fifo', { ...info, mode: opts.chmod ?? info.mode }, entryOwner(info, opts.owner)));
    case 'file': {
      const { info: now, stream } = await source.read(entry.path);
      try {
        // Small files go in whole: a stream pipeline per file costs more than the copy itself.
        const body = now.size <= SMALL_FILE ? await collect(stream) : stream;
        await writer.add(header(path, 'file', { ...now, mode: opts.chmod ?? now.mode }, entryOwner(now, opts.owner), { size: now.size }), body);
      } finally {
        stream.destroy();
      }
      return;
    }
    default:
      return; // sockets and devices were left out when walking
  }
}

/** ADD of a local archive: its entries (owners included) unpacked into `dest`. */
async function extractArchive(target: ConfinedTree, source: ConfinedTree, path: string, dest: string, opts: ApplyOptions): Promise<void> {
  const existing = await lookup(target, dest, opts);
  if (existing !== undefined && existing.type !== 'directory') {
    throw invalid(`${opts.command} failed: cannot extract ${path} into ${dest}: it exists and is not a directory`);
  }
  if (existing === undefined) {
    const missing = [...(await missingParents(target, dest, opts)), dest];
    await write(target, (writer) => makeParents(writer, missing, ROOT));
  }
  const { stream: file } = await source.read(path);
  try {
    const { stream } = await decompress(file, `${opts.command} source ${path}`);
    try {
      await target.extract(dest, stream);
    } catch (err) {
      if (isBerthError(err, 'invalid-parameter')) throw invalid(`${opts.command} failed: cannot extract ${path}: ${err.message}`, err);
      throw err;
    } finally {
      stream.destroy();
    }
  } finally {
    file.destroy();
  }
}

/** One extraction into the target's root; `cleanup` releases what the writer was given. */
async function write(target: ConfinedTree, produce: (writer: TarWriter) => Promise<void>, cleanup?: () => void): Promise<void> {
  try {
    await extractWritten(target, '/', produce);
  } finally {
    cleanup?.();
  }
}

async function makeParents(writer: TarWriter, dirs: readonly string[], owner: Owner): Promise<void> {
  const now = new Date();
  for (const dir of dirs) await writer.add(header(dir, 'directory', { mode: NEW_DIR_MODE, mtime: now }, owner));
}

/** The ancestors of `path` the target lacks, top-down; an ancestor that is not a directory is a 400. */
async function missingParents(target: ConfinedTree, path: string, opts: ApplyOptions): Promise<string[]> {
  const parts = path.split('/').filter((part) => part !== '');
  for (let depth = 1; depth < parts.length; depth++) {
    const ancestor = `/${parts.slice(0, depth).join('/')}`;
    const found = await lookup(target, ancestor, opts);
    if (found === undefined) {
      return parts.slice(depth - 1, -1).map((_, i) => `/${parts.slice(0, depth + i).join('/')}`);
    }
    if (found.type !== 'directory') throw invalid(`${opts.command} failed: cannot create ${path}: ${ancestor} is not a directory`);
  }
  return [];
}

/** What the target holds at `path` (symlinks followed inside it), or undefined. */
async function lookup(target: ConfinedTree, path: string, opts: ApplyOptions): Promise<FileInfo | undefined> {
  try {
    return await target.stat(path, { follow: true });
  } catch (err) {
    if (isBerthError(err, 'not-found')) return undefined;
    if (isBerthError(err, 'invalid-parameter')) throw invalid(`${opts.command} failed: ${err.message}`, err);
    throw err;
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

function header(path: string, type: tar.Headers['type'], info: Pick<FileInfo, 'mode' | 'mtime'>, owner: Owner, extra: Partial<tar.Headers> = {}): tar.Headers {
  return { name: path.replace(/^\/+/, ''), type, mode: info.mode & 0o7777, uid: owner.uid, gid: owner.gid, mtime: info.mtime, ...extra };
}
