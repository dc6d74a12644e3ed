import { constants, createReadStream, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { errnoCode, systemError } from '../../errors.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../../images/whiteouts.js';
import type { NativeAddon } from '../../native/addon-api.js';

/**
 * A container's writable layer as a layer tar (what `docker commit` stores): the overlay
 * upper dir read back into the image form of a layer.
 *
 *   upper dir (overlay form)                 tar (AUFS form)
 *   dir/name: character device 0/0          dir/.wh.name         (empty regular file)
 *   dir with trusted.overlay.opaque=y       dir/ + dir/.wh..wh..opq
 *   trusted.overlay.* xattrs                dropped (overlay's bookkeeping)
 *
 * Files, directories, symlinks, hardlinks (second and later names as link entries),
 * devices and fifos keep their modes, owners, mtimes and (UTF-8 representable) xattrs.
 * Paths berthd made only to mount on (`scaffolding`: /etc/hosts, /proc, a volume's mount
 * point...) are left out when they hold nothing else: Docker keeps them in an init layer
 * below the container's, so they are never part of its diff.
 *
 * The upper dir of a running container is written by it while we read (commit --pause=false),
 * so no path inside is ever resolved twice: each directory is held open and its entries are
 * reached as one final component below it (`/proc/self/fd/<fd>/<name>`, O_NOFOLLOW), so a
 * directory swapped for a symlink mid-walk can only fail the walk, never lead it outside.
 */
export interface LayerDiffSource {
  /** The container's upper dir. */
  readonly upper: string;
  /** The image's layer dirs, top-most first (to tell scaffolding from image content). */
  readonly lowersTopFirst: readonly string[];
  /** Absolute container paths that may be mount scaffolding. */
  readonly scaffolding: ReadonlySet<string>;
  readonly xattrs: Pick<NativeAddon, 'lgetxattr' | 'llistxattr'>;
}

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: a fifo swapped in for a file must not block the open. */
const OPEN_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const PAX_XATTR = 'SCHILY.xattr.';

export function layerDiffTar(source: LayerDiffSource): Readable {
  const pack = tar.pack();
  void new LayerDiffWriter(source, pack).run().then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return pack;
}

/** A directory held open while its entries are read. */
interface OpenDir {
  readonly handle: FileHandle;
  /** Its path in the container, `/` for the root. */
  readonly path: string;
}

const at = (dir: OpenDir, name: string): string => `/proc/self/fd/${dir.handle.fd}/${name}`;

class LayerDiffWriter {
  /** `dev:ino` of multiply linked files already written → their tar name. */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly source: LayerDiffSource,
    private readonly pack: tar.Pack,
  ) {}

  async run(): Promise<void> {
    const root = await open(this.source.upper, OPEN_DIR);
    try {
      await this.walk({ handle: root, path: '/' });
    } finally {
      await root.close();
    }
  }

  private async walk(dir: OpenDir): Promise<void> {
    for (const name of (await readdir(`/proc/self/fd/${dir.handle.fd}`)).sort()) {
      const path = posix.join(dir.path, name);
      const st = await lstatOrUndefined(at(dir, name));
      if (!st) continue; // removed while we read (a running container)
      if (this.source.scaffolding.has(path) && (await this.onlyScaffolding(dir, name, path, st))) continue;
      await this.entry(dir, name, path, st);
    }
  }

  private async entry(dir: OpenDir, name: string, path: string, st: Stats): Promise<void> {
    const tarName = path.slice(1);
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isCharacterDevice() && st.rdev === 0) {
      await this.write({ ...base, name: posix.join(posix.dirname(tarName), `${WHITEOUT_PREFIX}${name}`), type: 'file', size: 0 });
      return;
    }
    const pax = this.xattrs(at(dir, name));
    const header = (h: tar.Headers): tar.Headers => (pax ? ({ ...h, pax } as tar.Headers) : h);
    if (st.isDirectory()) {
      const handle = await open(at(dir, name), OPEN_DIR).catch(gone);
      if (!handle) return;
      try {
        await this.write(header({ ...base, name: `${tarName}/`, type: 'directory' }));
        if (this.isOpaque(at(dir, name))) {
          await this.write({ ...base, name: `${tarName}/${WHITEOUT_OPAQUE}`, type: 'file', size: 0 });
        }
        await this.walk({ handle, path });
      } finally {
        await handle.close();
      }
    } else if (st.isSymbolicLink()) {
      const target = await readlink(at(dir, name)).catch(gone);
      if (target !== undefined) await this.write(header({ ...base, name: tarName, type: 'symlink', linkname: target }));
    } else if (st.isFile()) {
      await this.file(dir, name, tarName, st, header);
    } else {
      const type = st.isCharacterDevice() ? 'character-device' : st.isBlockDevice() ? 'block-device' : st.isFIFO() ? 'fifo' : undefined;
      if (type === undefined) return; // sockets have no tar form (Docker skips them too)
      await this.write(header({ ...base, name: tarName, type, devmajor: major(st.rdev), devminor: minor(st.rdev) }));
    }
  }

  private async file(dir: OpenDir, name: string, tarName: string, st: Stats, header: (h: tar.Headers) => tar.Headers): Promise<void> {
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? this.links.get(key) : undefined;
    if (first !== undefined) {
      await this.write(header({ ...base, name: tarName, type: 'link', linkname: first, size: 0 }));
      return;
    }
    const handle = await open(at(dir, name), OPEN_FILE).catch(gone);
    if (!handle) return;
    try {
      const now = await handle.stat();
      if (!now.isFile() || now.ino !== st.ino) return; // replaced while we read
      if (st.nlink > 1) this.links.set(key, tarName);
      await this.untilWritten((done) => {
        const entry = this.pack.entry(header({ ...base, name: tarName, type: 'file', size: now.size }), done);
        if (now.size === 0) {
          entry.end();
          return;
        }
        const data = createReadStream('', { fd: handle.fd, autoClose: false, start: 0, end: now.size - 1 });
        data.on('error', (err) => {
          entry.destroy(err);
          done(err);
        });
        data.pipe(entry);
      });
    } finally {
      await handle.close();
    }
  }

  /**
   * Whether `path` (a scaffolding candidate) is only there to mount on: an empty regular file
   * or a directory the image does not have, or a directory it has unchanged (mode, owner, not
   * opaque), holding nothing but such things.
   */
  private async onlyScaffolding(dir: OpenDir, name: string, path: string, st: Stats): Promise<boolean> {
    const below = await this.inImage(path);
    if (below) {
      if (!st.isDirectory() || !below.isDirectory()) return false;
      if (st.mode !== below.mode || st.uid !== below.uid || st.gid !== below.gid || this.isOpaque(at(dir, name))) return false;
    } else if (!st.isDirectory()) {
      return st.isFile() && st.size === 0;
    }
    const handle = await open(at(dir, name), OPEN_DIR).catch(gone);
    if (!handle) return true;
    try {
      const inner: OpenDir = { handle, path };
      for (const child of await readdir(`/proc/self/fd/${handle.fd}`)) {
        const childPath = posix.join(path, child);
        const cst = await lstatOrUndefined(at(inner, child));
        if (!cst) continue;
        if (!this.source.scaffolding.has(childPath) || !(await this.onlyScaffolding(inner, child, childPath, cst))) return false;
      }
      return true;
    } finally {
      await handle.close();
    }
  }

  /** What an image layer has at `path` (berthd's own layer dirs), undefined when nothing or a whiteout. */
  private async inImage(path: string): Promise<Stats | undefined> {
    for (const layer of this.source.lowersTopFirst) {
      const st = await lstatOrUndefined(layer + path);
      if (st) return st.isCharacterDevice() && st.rdev === 0 ? undefined : st;
    }
    return undefined;
  }

  private isOpaque(path: string): boolean {
    try {
      return this.source.xattrs.lgetxattr(path, OVERLAY_OPAQUE_XATTR)?.toString('latin1') === 'y';
    } catch {
      return false;
    }
  }

  /** The entry's xattrs as PAX records, without overlay's own and values UTF-8 cannot carry. */
  private xattrs(path: string): Record<string, string> | undefined {
    let names: string[];
    try {
      names = this.source.xattrs.llistxattr(path);
    } catch {
      return undefined;
    }
    const pax: Record<string, string> = {};
    for (const name of names) {
      if (name.startsWith('trusted.overlay.')) continue;
      const value = this.source.xattrs.lgetxattr(path, name);
      if (value === undefined) continue;
      const text = value.toString('utf8');
      if (Buffer.from(text, 'utf8').equals(value)) pax[`${PAX_XATTR}${name}`] = text;
    }
    return Object.keys(pax).length > 0 ? pax : undefined;
  }

  private write(header: tar.Headers): Promise<void> {
    // An empty body, not none: tar-stream would wait for the data of a `file` entry given none.
    return this.untilWritten((done) => this.pack.entry(header, Buffer.alloc(0), done));
  }

  /**
   * Settles when the entry `start` adds is written: its callback, or the pack closing first
   * (the consumer gave up, e.g. the image store failed), which must end the walk too.
   */
  private untilWritten(start: (done: (err?: Error | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const closed = (): void => reject(new Error('the layer tar was closed before it was complete'));
      this.pack.once('close', closed);
      start((err) => {
        this.pack.off('close', closed);
        if (err) reject(err);
        else resolve();
      });
    });
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw systemError(`reading the container's layer: ${code ?? String(err)}`, err);
  }
}

/** An entry that vanished (or turned into something else) between lstat and open: skipped. */
function gone(err: unknown): undefined {
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
  throw err;
}

/** Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor). */
function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}
