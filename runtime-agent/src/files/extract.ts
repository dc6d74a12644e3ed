import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  constants,
  type Stats,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError, errnoCode, forbidden, invalid, messageOf } from '../errors.js';
import { log } from '../log.js';
import { fsError, type FailedCall } from './fs-errors.js';
import { entryComponents } from './path-components.js';
import { removeEntry } from './remove-tree.js';
import { readTar, type TarEntry } from './tar-reader.js';
import {
  closeQuietly,
  fdPath,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  onKernelFs,
  type TreeRoot,
} from './resolver.js';
import type { ExtractOptions, ExtractReport } from './types.js';

/**
 * extract(): a tar into an existing directory of a tree, Docker's untar semantics with the
 * tree's confinement.
 *
 * Names: a leading `/` is dropped and `..` is cleaned lexically; one that climbs above the
 * target directory refuses the entry. An entry's parent directories are resolved with openat2
 * from the tree's root (so a symlink in them is followed only inside the tree: in-root as if
 * the root were `/`, beneath refused if it leads out), missing ones are created 0755; the
 * entry itself is then made under that one directory fd, never through a symlink, and never
 * on the kernel's pseudo file systems (/proc, /sys through a container's root).
 *
 * What is there already: a directory merges into a directory; anything else is removed first
 * (a directory with all it holds) unless `noOverwriteDirNonDir` forbids a directory <->
 * non-directory swap. Hardlinks must name a non-directory inside the target directory.
 *
 * Attributes: owners (the header's, or opts.owner), modes with set-id and sticky bits (set
 * after chown, which clears them), mtimes (directories' last, as adding children changes
 * them), xattrs from PAX `SCHILY.xattr.*`. Xattrs are best effort, as Docker's are: one the
 * file system or the kernel refuses (ENOTSUP, EPERM for security.* labels...) is skipped and
 * logged; `trusted.overlay.*` is never applied (it would forge overlay whiteouts/redirects).
 * Values are applied as raw bytes (tar-reader.ts), so binary ones like security.capability survive.
 *
 * Speed: the metadata syscalls are synchronous (a thread-pool round trip costs more than the
 * syscall), parent directory fds are cached while nothing is removed, and file data is written
 * straight from the source's chunks as they arrive, so a tree of small files costs about the
 * syscalls tar itself makes.
 */
const MAX_CACHED_DIRS = 128;
const KEEP_AS_IS = new Set(['EROFS', 'EACCES']);
const SUPPORTED = new Set<TarEntry['type']>(['file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);
const DEVICE_TYPES = {
  'character-device': constants.S_IFCHR,
  'block-device': constants.S_IFBLK,
  fifo: constants.S_IFIFO,
} as const;

export async function extractInto(root: TreeRoot, dir: readonly string[], dirLabel: string, source: Readable, opts: ExtractOptions): Promise<ExtractReport> {
  let targetFd: number;
  try {
    targetFd = root.open(dir, O_PATH | O_DIRECTORY);
  } catch (err) {
    throw fsError(err, `extraction directory ${dirLabel}`, root.confinement, 'resolve');
  }
  const unpacker = new Unpacker(root, dir, opts);
  try {
    if (onKernelFs(targetFd)) throw forbidden(`cannot extract into ${dirLabel}: it is on a kernel file system (/proc, /sys...)`);
    try {
      for await (const entry of readTar(chunksOf(source))) await unpacker.entry(entry);
    } catch (err) {
      // The source is left as it is: its owner decides (an HTTP server answers, then drops the rest).
      throw err instanceof BerthError ? err : invalid(`cannot read the tar archive: ${messageOf(err)}`, err);
    }
    unpacker.finish();
    return { files: unpacker.files, bytes: unpacker.bytes };
  } finally {
    unpacker.close();
    closeSync(targetFd);
  }
}

/**
 * The source's chunks, leaving a Node stream undestroyed when an entry is refused, so an HTTP
 * server can still answer with the error. pack()'s own streams (tar-stream's, not Node's) have
 * no `iterator()`: plain iteration is right for them.
 */
function chunksOf(source: Readable): AsyncIterable<Buffer> {
  return typeof source.iterator === 'function' ? (source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) : source;
}

class Unpacker {
  files = 0;
  bytes = 0;
  /** Parent directory fds by entry path ('' = the target directory). Dropped when anything is removed. */
  private readonly dirs = new Map<string, number>();
  /** Directories created or merged, for their mtimes at the end. */
  private readonly dirTimes: { parts: string[]; mtime: Date }[] = [];

  constructor(
    private readonly root: TreeRoot,
    private readonly target: readonly string[],
    private readonly opts: ExtractOptions,
  ) {}

  async entry(entry: TarEntry): Promise<void> {
    const subject = `tar entry "${entry.name}"`;
    let during: FailedCall = 'other';
    try {
      const parts = entryComponents(entry.name, subject);
      const type = entry.type;
      if (parts.length === 0) {
        if (type !== 'directory') throw invalid(`refusing ${subject}: it names the target directory itself`);
        return; // the target's own attributes are left alone: it already exists and is the caller's
      }
      // Refusals that need no look at the tree come first, so a refused entry removes nothing.
      if (!SUPPORTED.has(type)) throw invalid(`refusing ${subject}: ${type} entries are not supported`);
      if (type === 'symlink' && entry.linkname === '') throw invalid(`refusing ${subject}: a symbolic link without a target`);
      const name = parts[parts.length - 1] as string;
      during = 'resolve';
      const parentFd = this.parent(parts.slice(0, -1), subject);
      during = 'other';
      const existing = lstatSync(fdPath(parentFd, name), { throwIfNoEntry: false });
      if (type === 'link') {
        during = 'link';
        this.hardlink(parentFd, name, entry.linkname, subject, existing);
        this.files++;
        return;
      }
      if (existing !== undefined && !(type === 'directory' && existing.isDirectory())) this.clear(parentFd, name, existing, type, subject);
      const uid = this.opts.owner?.uid ?? entry.uid;
      const gid = this.opts.owner?.gid ?? entry.gid;
      const { mode, mtime } = entry;
      switch (type) {
        case 'directory':
          if (existing === undefined) mkdirSync(fdPath(parentFd, name), { mode: 0o700 });
          this.withChild(parentFd, name, O_RDONLY | O_DIRECTORY, (fd) => {
            fchownSync(fd, uid, gid);
            fchmodSync(fd, mode);
            this.applyXattrs(entry, parentFd, name);
          });
          this.dirTimes.push({ parts, mtime });
          break;
        case 'file':
          await this.file(parentFd, name, entry, { uid, gid, mode, mtime });
          this.bytes += entry.size;
          break;
        case 'symlink': {
          const path = fdPath(parentFd, name);
          symlinkSync(entry.linkname, path);
          lchownSync(path, uid, gid);
          this.applyXattrs(entry, parentFd, name);
          lutimesSync(path, mtime, mtime);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          const fileType = DEVICE_TYPES[type];
          const path = fdPath(parentFd, name);
          during = 'mknod';
          this.root.addon.mknod(path, fileType | mode, entry.devmajor, entry.devminor);
          during = 'other';
          lchownSync(path, uid, gid);
          // mknod's mode went through the umask. chmod follows: only ever on the node just made.
          this.withChild(parentFd, name, O_PATH, (fd) => {
            if ((fstatSync(fd).mode & constants.S_IFMT) === fileType) chmodSync(fdPath(fd), mode);
          });
          this.applyXattrs(entry, parentFd, name);
          lutimesSync(path, mtime, mtime);
          break;
        }
      }
      this.files++;
    } catch (err) {
      if (err instanceof BerthError) throw err;
      const mapped = fsError(err, subject, this.root.confinement, during);
      // The tree's own state (read-only, no permission, disk full) is reported as such; any
      // other refusal is the archive's fault, a 400 naming the entry.
      if (mapped.code === 'system' || KEEP_AS_IS.has(errnoCode(err) ?? '')) throw mapped;
      throw invalid(`refusing ${mapped.message}`, err);
    }
  }

  private async file(parentFd: number, name: string, entry: TarEntry, attrs: Attributes): Promise<void> {
    const fd = this.root.openChild(parentFd, name, O_WRONLY | O_CREAT | O_EXCL, 0o600);
    try {
      for await (const chunk of entry.body()) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      }
      fchownSync(fd, attrs.uid, attrs.gid);
      fchmodSync(fd, attrs.mode); // after chown, which clears set-id bits
      this.applyXattrs(entry, parentFd, name); // after chown too: it clears security.capability
      futimesSync(fd, attrs.mtime, attrs.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /** A hardlink to a non-directory inside the target; checked before `existing` is replaced. */
  private hardlink(parentFd: number, name: string, linkname: string, subject: string, existing: Stats | undefined): void {
    const parts = entryComponents(linkname, `${subject} (hardlink target "${linkname}")`);
    if (parts.length === 0) throw invalid(`refusing ${subject}: a hardlink to the target directory`);
    let targetDir: number;
    try {
      targetDir = this.root.open([...this.target, ...parts.slice(0, -1)], O_PATH | O_DIRECTORY);
    } catch (err) {
      const mapped = fsError(err, `hardlink target "${linkname}"`, this.root.confinement, 'resolve');
      throw invalid(`refusing ${subject}: ${mapped.message}`, err);
    }
    try {
      const targetName = parts[parts.length - 1] as string;
      const stats = lstatSync(fdPath(targetDir, targetName), { throwIfNoEntry: false });
      if (stats === undefined) throw invalid(`refusing ${subject}: hardlink target "${linkname}" does not exist`);
      if (stats.isDirectory()) throw invalid(`refusing ${subject}: hardlink target "${linkname}" is a directory`);
      if (existing !== undefined && existing.ino === stats.ino && existing.dev === stats.dev) return; // already that file
      if (existing !== undefined) this.clear(parentFd, name, existing, 'link', subject);
      linkSync(fdPath(targetDir, targetName), fdPath(parentFd, name));
    } finally {
      closeSync(targetDir);
    }
  }

  /** Removes what `name` holds before an entry of `type` replaces it. */
  private clear(parentFd: number, name: string, existing: Stats, type: TarEntry['type'], subject: string): void {
    const newIsDir = type === 'directory';
    if (this.opts.noOverwriteDirNonDir && existing.isDirectory() !== newIsDir) {
      throw invalid(
        existing.isDirectory()
          ? `refusing ${subject}: cannot overwrite directory "${name}" with a non-directory`
          : `refusing ${subject}: cannot overwrite non-directory "${name}" with a directory`,
      );
    }
    if (existing.isDirectory()) removeEntry(parentFd, name);
    else unlinkSync(fdPath(parentFd, name));
    if (existing.isDirectory() || existing.isSymbolicLink()) this.forgetDirs(parentFd);
  }

  /** The directory fd of the entry's parent `parts` (below the target), made if missing. */
  private parent(parts: readonly string[], subject: string): number {
    const key = parts.join('/');
    const cached = this.dirs.get(key);
    if (cached !== undefined) return cached;
    let fd: number;
    try {
      fd = this.root.open([...this.target, ...parts], O_PATH | O_DIRECTORY);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || parts.length === 0) throw err;
      const above = this.parent(parts.slice(0, -1), subject);
      try {
        mkdirSync(fdPath(above, parts[parts.length - 1] as string), { mode: 0o755 });
      } catch (mkdirErr) {
        if (errnoCode(mkdirErr) !== 'EEXIST') throw mkdirErr;
      }
      fd = this.root.open([...this.target, ...parts], O_PATH | O_DIRECTORY);
    }
    try {
      if (onKernelFs(fd)) throw forbidden(`refusing ${subject}: it lies on a kernel file system (/proc, /sys...)`);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (this.dirs.size >= MAX_CACHED_DIRS) this.forgetDirs();
    this.dirs.set(key, fd);
    return fd;
  }

  /** Drops cached directory fds (a removal may have changed where paths lead), except `keep`. */
  private forgetDirs(keep?: number): void {
    for (const [key, fd] of this.dirs) {
      if (fd === keep) continue;
      closeQuietly(fd);
      this.dirs.delete(key);
    }
  }

  private withChild(parentFd: number, name: string, flags: number, act: (fd: number) => void): void {
    const fd = this.root.openChild(parentFd, name, flags);
    try {
      act(fd);
    } finally {
      closeSync(fd);
    }
  }

  private applyXattrs(entry: TarEntry, parentFd: number, name: string): void {
    for (const [xattr, value] of entry.xattrs) {
      if (xattr.startsWith('trusted.overlay.')) continue;
      try {
        this.root.addon.lsetxattr(fdPath(parentFd, name), xattr, value);
      } catch (err) {
        log.debug('files.extract.xattr-failed', { entry: entry.name, xattr, error: errnoCode(err) ?? messageOf(err) });
      }
    }
  }

  /** Sets directory mtimes, last-made first; a directory since replaced is skipped. */
  finish(): void {
    this.forgetDirs();
    for (const { parts, mtime } of this.dirTimes.reverse()) {
      let fd: number | undefined;
      try {
        fd = this.root.open([...this.target, ...parts], O_RDONLY | O_DIRECTORY | constants.O_NOFOLLOW);
        futimesSync(fd, mtime, mtime);
      } catch {
        // replaced by a later entry: nothing to date
      } finally {
        closeQuietly(fd);
      }
    }
  }

  close(): void {
    this.forgetDirs();
  }
}

interface Attributes {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly mtime: Date;
}
