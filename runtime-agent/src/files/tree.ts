import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  unlinkSync,
  write,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError, conflict, errnoCode, forbidden, invalid, messageOf, notFound, systemError } from '../errors.js';
import { extractInto } from './extract.js';
import { fileInfo } from './file-info.js';
import { FileSlice } from './file-slice.js';
import { fsError, type FailedCall } from './fs-errors.js';
import { packTree } from './pack.js';
import { quote, splitPath } from './path-components.js';
import { removeEntry } from './remove-tree.js';
import {
  closeQuietly,
  fdPath,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  onKernelFs,
  TreeRoot,
  type Location,
  type TreeAddon,
} from './resolver.js';
import type { ByteRange, Confinement, ConfinedTree, ExtractOptions, ExtractReport, FileInfo, PackOptions } from './types.js';

/**
 * openConfinedTree: the ConfinedTree of types.ts over a directory of the host (a volume's
 * `_data`, a container's `/proc/<pid>/root`), opened O_PATH once and reached only through that
 * fd (resolver.ts says how). Metadata calls are synchronous: each is one short syscall on an fd
 * we hold, cheaper than a thread-pool round trip; file data moves asynchronously, streamed.
 *
 * Throws not-found if `rootPath` does not exist. pack() resolves its path before returning, so
 * a missing path throws there (a 404 before any byte is sent); later failures destroy the stream.
 */
export function openConfinedTree(addon: TreeAddon, rootPath: string, confinement: Confinement): ConfinedTree {
  let fd: number;
  try {
    fd = openSync(rootPath, O_PATH | O_DIRECTORY);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw notFound('the directory to browse no longer exists');
    throw systemError(`cannot open the directory to browse: ${errnoCode(err) ?? messageOf(err)}`, err);
  }
  return new Tree(new TreeRoot(addon, fd, confinement));
}

const MAX_LINK_HOPS = 40;

class Tree implements ConfinedTree {
  private closed = false;

  constructor(private readonly root: TreeRoot) {}

  get confinement(): Confinement {
    return this.root.confinement;
  }

  stat(path: string, opts?: { follow?: boolean }): Promise<FileInfo> {
    return this.run(path, (parts) => {
      if (!opts?.follow) return this.at(parts, (loc) => this.info(parts, loc));
      const fd = this.root.open(parts, O_PATH);
      try {
        return fileInfo(baseName(parts), fstatSync(fd), fdPath(fd));
      } finally {
        closeSync(fd);
      }
    });
  }

  list(path: string): Promise<FileInfo[]> {
    return this.run(path, (parts) => {
      const fd = this.root.open(parts, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
      try {
        const infos: FileInfo[] = [];
        for (const name of readdirSync(fdPath(fd)).sort()) {
          try {
            infos.push(fileInfo(name, lstatSync(fdPath(fd, name)), fdPath(fd, name)));
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'EINVAL') throw err; // gone or replaced meanwhile
          }
        }
        return infos;
      } finally {
        closeSync(fd);
      }
    });
  }

  read(path: string, range?: ByteRange): Promise<{ info: FileInfo; stream: Readable }> {
    return this.run(path, (parts) => {
      // O_PATH first: opening a fifo would block and opening a device can have side effects.
      const handle = this.root.open(parts, O_PATH);
      try {
        const info = fileInfo(baseName(parts), fstatSync(handle), fdPath(handle));
        if (info.type === 'directory') throw invalid(`${quote(path)} is a directory, not a file`);
        if (info.type !== 'file') throw invalid(`${quote(path)} is not a regular file (it is a ${info.type})`);
        const { start, length } = byteRange(range, info.size, path);
        const fd = openSync(fdPath(handle), O_RDONLY);
        return { info, stream: new FileSlice(fd, start, length, false) };
      } finally {
        closeSync(handle);
      }
    });
  }

  async write(path: string, source: Readable, opts?: { mode?: number; overwrite?: boolean }): Promise<FileInfo> {
    const parts = this.parts(path);
    const loc = this.locateEntry(path, parts, 'write');
    const temp = `.berth-upload-${randomBytes(8).toString('hex')}`;
    let fd: number | undefined;
    let during: FailedCall = 'other';
    try {
      this.assertWritable(loc, path);
      if (opts?.overwrite === false && this.exists(loc)) throw conflict(`${quote(path)} already exists`);
      fd = this.root.openChild(loc.dirFd, temp, O_WRONLY | O_CREAT | O_EXCL, 0o600);
      await this.receive(source, fd, path);
      fchmodSync(fd, (opts?.mode ?? 0o644) & 0o7777);
      closeSync(fd);
      fd = undefined;
      during = 'rename';
      if (opts?.overwrite === false) {
        linkSync(fdPath(loc.dirFd, temp), fdPath(loc.dirFd, loc.name)); // fails if the name appeared meanwhile
        unlinkSync(fdPath(loc.dirFd, temp));
      } else {
        renameSync(fdPath(loc.dirFd, temp), fdPath(loc.dirFd, loc.name));
      }
      return this.info(parts, loc);
    } catch (err) {
      closeQuietly(fd);
      try {
        unlinkSync(fdPath(loc.dirFd, temp));
      } catch {
        // never created, or already renamed
      }
      throw this.error(err, path, during);
    } finally {
      loc.release();
    }
  }

  mkdir(path: string, mode = 0o755): Promise<FileInfo> {
    return this.run(path, (parts) =>
      this.at(parts, (loc) => {
        if (loc.name === '.') throw conflict(`${quote(path)} already exists`);
        this.assertWritable(loc, path);
        mkdirSync(fdPath(loc.dirFd, loc.name), { mode: 0o700 });
        const fd = this.root.openChild(loc.dirFd, loc.name, O_RDONLY | O_DIRECTORY);
        try {
          fchmodSync(fd, mode & 0o7777); // mkdir's mode went through the umask
        } finally {
          closeSync(fd);
        }
        return this.info(parts, loc);
      }),
    );
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.locateEntry(from, this.parts(from), 'rename');
    try {
      const target = this.locateEntry(to, this.parts(to), 'rename to');
      try {
        this.assertWritable(source, from);
        this.assertWritable(target, to);
        if (this.exists(target)) throw conflict(`${quote(to)} already exists`);
        renameSync(fdPath(source.dirFd, source.name), fdPath(target.dirFd, target.name));
      } catch (err) {
        throw this.error(err, `renaming ${quote(from)} to ${quote(to)}`, 'rename', false);
      } finally {
        target.release();
      }
    } finally {
      source.release();
    }
  }

  async remove(path: string): Promise<void> {
    const loc = this.locateEntry(path, this.parts(path), 'remove');
    try {
      this.assertWritable(loc, path);
      removeEntry(loc.dirFd, loc.name);
    } catch (err) {
      throw this.error(err, path);
    } finally {
      loc.release();
    }
  }

  pack(path: string, opts: PackOptions = {}): Readable {
    const asked = this.parts(path);
    let parts = asked;
    let loc = this.locateOrThrow(path, parts);
    try {
      let stats = lstatSync(fdPath(loc.dirFd, loc.name));
      for (let hops = 0; opts.followLink && stats.isSymbolicLink(); hops++) {
        if (hops === MAX_LINK_HOPS) throw forbidden(`${quote(path)}: too many levels of symbolic links`);
        const text = readlinkSync(fdPath(loc.dirFd, loc.name));
        if (text.startsWith('/') && this.confinement === 'beneath') throw forbidden(`${quote(path)} points outside the volume (an absolute symbolic link)`);
        parts = text.startsWith('/') ? splitPath(text) : [...parts.slice(0, -1), ...splitPath(text)];
        loc.release();
        loc = this.locateOrThrow(path, parts);
        stats = lstatSync(fdPath(loc.dirFd, loc.name));
      }
      const contentsOnly = (opts.contentsOnly ?? false) && stats.isDirectory();
      // Contents alone are named bare (`a`, `b/c`) unless a name is given (Docker's cp: `.`).
      const tarName = opts.name ?? (contentsOnly ? '' : asked.length === 0 ? '.' : baseName(asked));
      const start = { dirFd: loc.dirFd, name: loc.name, stats, tarName, contentsOnly };
      return packTree(this.root, start, loc.release);
    } catch (err) {
      loc.release();
      throw this.error(err, path);
    }
  }

  async extract(dir: string, source: Readable, opts?: ExtractOptions): Promise<ExtractReport> {
    return extractInto(this.root, this.parts(dir), quote(dir), source, opts ?? {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.root.fd);
  }

  /** Splits a caller's path; refuses a closed tree. */
  private parts(path: string): string[] {
    if (this.closed) throw systemError('this file tree was closed');
    return splitPath(path);
  }

  /** Runs a synchronous operation on `path`, turning errno failures into BerthErrors. */
  private async run<T>(path: string, op: (parts: string[]) => T): Promise<T> {
    const parts = this.parts(path);
    try {
      return op(parts);
    } catch (err) {
      throw this.error(err, path);
    }
  }

  private at<T>(parts: readonly string[], op: (loc: Location) => T): T {
    const loc = this.root.locate(parts);
    try {
      return op(loc);
    } finally {
      loc.release();
    }
  }

  private locateOrThrow(path: string, parts: readonly string[]): Location {
    try {
      return this.root.locate(parts);
    } catch (err) {
      throw this.error(err, path);
    }
  }

  /** The location of an entry a mutation acts on: not the root, not a path ending in `..`. */
  private locateEntry(path: string, parts: readonly string[], verb: string): Location {
    const loc = this.locateOrThrow(path, parts);
    if (loc.name === '.') {
      loc.release();
      throw invalid(`cannot ${verb} ${quote(path)}: it names the root directory or ends in ".."`);
    }
    return loc;
  }

  private info(parts: readonly string[], loc: Location): FileInfo {
    const host = fdPath(loc.dirFd, loc.name);
    return fileInfo(baseName(parts), lstatSync(host), host);
  }

  private exists(loc: Location): boolean {
    return lstatSync(fdPath(loc.dirFd, loc.name), { throwIfNoEntry: false }) !== undefined;
  }

  private assertWritable(loc: Location, path: string): void {
    if (onKernelFs(loc.dirFd)) throw forbidden(`${quote(path)} is on a kernel file system (/proc, /sys...), which cannot be changed here`);
  }

  /**
   * Copies an upload into `fd`; a failed source is the client's (400), a failed disk is ours.
   * On failure the source is left undestroyed, so an HTTP server can still answer with the error.
   */
  private async receive(source: Readable, fd: number, path: string): Promise<void> {
    let chunk: Buffer;
    const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    for (;;) {
      try {
        const next = await chunks.next();
        if (next.done) return;
        chunk = next.value;
      } catch (err) {
        throw invalid(`the upload of ${quote(path)} was interrupted: ${messageOf(err)}`, err);
      }
      for (let off = 0; off < chunk.length; ) off += await writeAsync(fd, chunk, off);
    }
  }

  private error(err: unknown, path: string, during: FailedCall = 'other', quoted = true): BerthError {
    return fsError(err, quoted ? quote(path) : path, this.confinement, during);
  }
}

/** write(2) on the thread pool: uploads may be large and the disk slow. */
function writeAsync(fd: number, data: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, data, offset, data.length - offset, null, (err, written) => (err ? reject(err) : resolve(written)));
  });
}

function baseName(parts: readonly string[]): string {
  return parts.length === 0 ? '/' : (parts[parts.length - 1] as string);
}

/** The bytes of a `size`-byte file that `range` asks for; a range beyond the end is refused. */
function byteRange(range: ByteRange | undefined, size: number, path: string): { start: number; length: number } {
  if (range === undefined) return { start: 0, length: size };
  const { start, end } = range;
  const valid = Number.isSafeInteger(start) && start >= 0 && (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!valid || start >= size) {
    throw invalid(`byte range ${start}-${end ?? ''} is not satisfiable for ${quote(path)} (${size} bytes)`);
  }
  const last = Math.min(end ?? size - 1, size - 1);
  return { start, length: last - start + 1 };
}
