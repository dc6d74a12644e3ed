import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { errnoCode, messageOf } from '../errors.js';
import { log } from '../log.js';
import { encodePax, fitsUstar, ustarStandIn, type PaxRecord } from './pax.js';
import { FileSlice } from './file-slice.js';
import { fdPath, O_DIRECTORY, O_NONBLOCK, O_PATH, O_RDONLY, onKernelFs, type TreeRoot } from './resolver.js';
import { writeTarEntry } from './tar-entry.js';

/**
 * pack(): a tar of one entry of a tree, directories recursively, produced as it is read (the
 * consumer's pace drives the walk). Each directory is opened through its parent's fd with
 * O_NOFOLLOW (resolver.ts), so a symlink swapped in mid-walk is packed as a symlink, never
 * followed. Entries carry modes (set-id and sticky bits too), owners, mtimes (seconds, as
 * Docker's archive does) and xattrs (PAX `SCHILY.xattr.*`, raw bytes); a second name for an
 * inode already packed becomes a hardlink entry; fifos and devices keep their type; sockets
 * are left out, as GNU tar and Docker do. Directories on the kernel's pseudo file systems
 * (/proc, /sys... seen through a running container's root) are packed empty.
 *
 * A file that shrinks while it is read is padded with zeros and one that grows is cut at the
 * size in its header, so the tar stays well-formed.
 */
export interface PackStart {
  readonly dirFd: number;
  readonly name: string;
  readonly stats: Stats;
  /** The tar name of the top entry ('' with contentsOnly: children are named bare). */
  readonly tarName: string;
  readonly contentsOnly: boolean;
}

/** Files up to this size are read whole with one synchronous read; bigger ones are streamed. */
const SMALL_FILE = 1 << 20;
const MAX_USTAR_ID = 0o7777777;
const MAX_USTAR_SIZE = 0o77777777777;

export function packTree(root: TreeRoot, start: PackStart, release: () => void): Readable {
  const pack = tar.pack();
  const packer = new Packer(root, pack);
  packer
    .run(start)
    .then(
      () => pack.finalize(),
      (err: unknown) => {
        if (!packer.closed) log.warn('files.pack.failed', { error: messageOf(err) });
        pack.destroy(err instanceof Error ? err : new Error(messageOf(err)));
      },
    )
    .finally(release);
  return pack;
}

class Packer {
  closed = false;
  /** `dev:ino` of every multiply-linked non-directory packed so far -> its tar name. */
  private readonly inodes = new Map<string, string>();

  constructor(
    private readonly root: TreeRoot,
    private readonly pack: tar.Pack,
  ) {
    pack.on('close', () => {
      this.closed = true;
    });
  }

  async run(start: PackStart): Promise<void> {
    if (!start.contentsOnly) await this.entry(start.dirFd, start.name, start.stats, start.tarName);
    if (start.stats.isDirectory()) await this.directory(start.dirFd, start.name, start.stats, start.tarName, undefined);
  }

  /** Packs a directory's entries; `parentDev` undefined for the top one (always checked). */
  private async directory(parentFd: number, name: string, stats: Stats, tarName: string, parentDev: number | undefined): Promise<void> {
    const fd = this.root.openChild(parentFd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    try {
      if (parentDev !== stats.dev && onKernelFs(fd)) return;
      const names = readdirSync(fdPath(fd)).sort();
      for (const child of names) {
        const childStats = lstatSync(fdPath(fd, child), { throwIfNoEntry: false });
        if (childStats === undefined) continue; // removed meanwhile
        const childTar = tarName === '' ? child : `${tarName}/${child}`;
        await this.entry(fd, child, childStats, childTar);
        if (childStats.isDirectory()) await this.directory(fd, child, childStats, childTar, stats.dev);
      }
    } finally {
      closeSync(fd);
    }
  }

  private async entry(dirFd: number, name: string, stats: Stats, tarName: string): Promise<void> {
    if (stats.isSocket()) return;
    const header: tar.Headers = {
      name: tarName,
      mode: stats.mode & 0o7777,
      uid: stats.uid,
      gid: stats.gid,
      mtime: stats.mtime,
    };
    if (!stats.isDirectory() && stats.nlink > 1) {
      const inode = `${stats.dev}:${stats.ino}`;
      const first = this.inodes.get(inode);
      if (first !== undefined) return this.put({ ...header, type: 'link', linkname: first }, []);
      this.inodes.set(inode, tarName);
    }
    const xattrs = this.xattrs(dirFd, name);
    if (stats.isDirectory()) return this.put({ ...header, type: 'directory' }, xattrs);
    if (stats.isSymbolicLink()) {
      return this.put({ ...header, type: 'symlink', linkname: readlinkSync(fdPath(dirFd, name)) }, xattrs);
    }
    if (stats.isFIFO()) return this.put({ ...header, type: 'fifo' }, xattrs);
    if (stats.isCharacterDevice() || stats.isBlockDevice()) {
      const type = stats.isCharacterDevice() ? 'character-device' : 'block-device';
      return this.put({ ...header, type, devmajor: major(stats.rdev), devminor: minor(stats.rdev) }, xattrs);
    }
    return this.file(dirFd, name, stats, header, xattrs);
  }

  /** A regular file: opened O_PATH first and checked, so a device swapped in is never opened. */
  private async file(dirFd: number, name: string, stats: Stats, header: tar.Headers, xattrs: PaxRecord[]): Promise<void> {
    let fd: number | undefined;
    let size: number;
    const handle = this.root.openChild(dirFd, name, O_PATH);
    try {
      const now = fstatSync(handle);
      if (!now.isFile() || now.ino !== stats.ino) {
        log.warn('files.pack.changed', { entry: header.name, reason: 'replaced while being packed' });
        return;
      }
      size = now.size;
      fd = openSync(fdPath(handle), O_RDONLY);
    } finally {
      closeSync(handle);
    }
    const fileHeader: tar.Headers = { ...header, type: 'file', size };
    if (size <= SMALL_FILE) {
      const data = Buffer.alloc(size);
      try {
        for (let off = 0; off < size; ) {
          const n = readSync(fd, data, off, size - off, off);
          if (n === 0) break; // shrank: the rest stays zeros
          off += n;
        }
      } finally {
        closeSync(fd);
      }
      return this.put(fileHeader, xattrs, data);
    }
    const body = new FileSlice(fd, 0, size, true);
    try {
      await this.put(fileHeader, xattrs, body);
    } finally {
      body.destroy(); // closes the fd whatever happened
    }
  }

  private xattrs(dirFd: number, name: string): PaxRecord[] {
    const path = fdPath(dirFd, name);
    let names: string[];
    try {
      names = this.root.addon.llistxattr(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOTSUP' || errnoCode(err) === 'EOPNOTSUPP') return [];
      throw err;
    }
    const records: PaxRecord[] = [];
    for (const key of names.sort()) {
      // Overlay's own attributes describe the layer, not the file; system.* are ACLs (not PAX xattrs).
      if (key.startsWith('trusted.overlay.') || key.startsWith('system.')) continue;
      const value = this.root.addon.lgetxattr(path, key);
      if (value !== undefined) records.push([`SCHILY.xattr.${key}`, value]);
    }
    return records;
  }

  /** Writes one entry (its own PAX header first when ustar cannot hold it) and waits for it. */
  private async put(header: tar.Headers, xattrs: PaxRecord[], body?: Buffer | Readable): Promise<void> {
    const records = [...this.paxFor(header), ...xattrs];
    if (records.length > 0) {
      const pax = encodePax(records);
      await this.write({ name: 'PaxHeader', type: 'pax-header', mode: 0o644, mtime: header.mtime, size: pax.length }, pax);
      header.name = ustarStandIn(header.name, 99);
      if (header.linkname) header.linkname = ustarStandIn(header.linkname, 100);
    }
    await this.write(header, body);
  }

  private paxFor(header: tar.Headers): PaxRecord[] {
    const records: PaxRecord[] = [];
    if (!fitsUstar(header.name, header.type === 'directory')) records.push(['path', Buffer.from(header.name)]);
    if (header.linkname && Buffer.byteLength(header.linkname) > 100) records.push(['linkpath', Buffer.from(header.linkname)]);
    if ((header.uid ?? 0) > MAX_USTAR_ID) records.push(['uid', Buffer.from(String(header.uid))]);
    if ((header.gid ?? 0) > MAX_USTAR_ID) records.push(['gid', Buffer.from(String(header.gid))]);
    if ((header.size ?? 0) > MAX_USTAR_SIZE) records.push(['size', Buffer.from(String(header.size))]);
    return records;
  }

  private write(header: tar.Headers, body?: Buffer | Readable): Promise<void> {
    return writeTarEntry(this.pack, () => this.closed, header, body);
  }
}

/** glibc's gnu_dev_major / gnu_dev_minor on the 64-bit dev_t Node gives as a number. */
function major(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}

function minor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}
