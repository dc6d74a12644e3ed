import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { BerthError, errnoCode, invalid, messageOf, systemError } from '../errors.js';
import { log } from '../log.js';
import { entryComponents, forget, resolveDirectory } from './scoped-path.js';
import { classifyWhiteout, makeWhiteout, markOpaque, type LayerAddon } from './whiteouts.js';

/**
 * Unpacks one layer tar into a directory, as an overlay lower dir: modes, owners, mtimes,
 * symlinks, hardlinks (within the layer), device nodes, fifos, PAX xattrs, and whiteouts
 * in overlay form (whiteouts.ts). The tar is hostile input (see scoped-path.ts for how
 * paths are confined); any refused entry aborts the whole unpack with an invalid-parameter
 * error naming it. The caller unpacks into a staging dir and deletes it on failure.
 *
 * Metadata syscalls are synchronous (see scoped-path.ts): a layer of a few hundred entries
 * unpacks in milliseconds instead of a thread-pool round trip per call; the event loop
 * still turns between entries.
 */
export interface ExtractResult {
  /** Bytes of regular files (each inode once) and symlink targets: Docker's layer size. */
  readonly size: number;
  readonly entries: number;
}

/** tar-stream's header as it really arrives (v2 adds the PAX records). */
type TarHeader = tar.Headers & { pax?: Record<string, string> };

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const XATTR_PREFIX = 'SCHILY.xattr.';
const DEVICE_TYPES: Partial<Record<string, number>> = {
  'character-device': constants.S_IFCHR,
  'block-device': constants.S_IFBLK,
  fifo: constants.S_IFIFO,
};
/** Failures of the disk rather than of the archive. */
const SYSTEM_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'ENOMEM']);

export async function extractLayer(source: Readable, target: string, addon: LayerAddon): Promise<ExtractResult> {
  const unpacker = new Unpacker(target, addon);
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      source.destroy();
      extract.destroy();
      reject(err instanceof BerthError ? err : invalid(`invalid layer tar: ${messageOf(err)}`, err));
    };
    extract.on('entry', (header: TarHeader, stream: Readable, next: (err?: unknown) => void) => {
      unpacker.entry(header, stream).then(
        () => {
          stream.resume(); // drain whatever the entry did not consume
          next();
        },
        (err: unknown) => {
          stream.resume();
          fail(err);
        },
      );
    });
    extract.on('finish', () => {
      if (!failed) resolve();
    });
    pipeline(source, extract, (err) => {
      if (err) fail(err);
    });
  });
  unpacker.finish();
  return { size: unpacker.size, entries: unpacker.entries };
}

class Unpacker {
  size = 0;
  entries = 0;
  /** Entry paths (clean, root-relative) created so far: hardlinks may only point at these. */
  private readonly created = new Set<string>();
  private readonly known = new Set<string>();
  /** Directories whose mtime is set last (adding children changes it). */
  private readonly dirTimes: { rel: string; mtime: Date }[] = [];

  constructor(
    private readonly root: string,
    private readonly addon: LayerAddon,
  ) {}

  async entry(header: TarHeader, stream: Readable): Promise<void> {
    this.entries++;
    const name = header.name;
    try {
      await this.unpack(header, stream);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      const code = errnoCode(err);
      if (code !== undefined && SYSTEM_ERRNOS.has(code)) throw systemError(`unpacking "${name}": ${messageOf(err)}`, err);
      throw invalid(`cannot unpack tar entry "${name}": ${messageOf(err)}`, err);
    }
  }

  private async unpack(header: TarHeader, stream: Readable): Promise<void> {
    const parts = entryComponents(header.name);
    const uid = paxNumber(header.pax?.uid) ?? header.uid ?? 0;
    const gid = paxNumber(header.pax?.gid) ?? header.gid ?? 0;
    const mtime = paxDate(header.pax?.mtime) ?? header.mtime ?? new Date(0);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const type = header.type ?? 'file';
    if (parts.length === 0) {
      if (type !== 'directory') throw invalid(`refusing tar entry "${header.name}": it names the layer root`);
      this.setDirAttrs('', uid, gid, mode, mtime);
      return;
    }
    const base = parts[parts.length - 1] as string;
    const parent = resolveDirectory(this.root, parts.slice(0, -1), { create: true, entry: header.name, known: this.known });
    const whiteout = classifyWhiteout(base);
    if (whiteout?.kind === 'meta') return;
    if (whiteout?.kind === 'opaque') {
      markOpaque(this.addon, join(this.root, ...parent));
      return;
    }
    if (whiteout?.kind === 'whiteout') {
      if (whiteout.name === '' || whiteout.name === '.' || whiteout.name === '..') {
        throw invalid(`refusing tar entry "${header.name}": not a valid whiteout`);
      }
      const rel = [...parent, whiteout.name].join('/');
      this.clear(rel, false);
      makeWhiteout(this.addon, join(this.root, rel), uid, gid);
      return;
    }
    const rel = [...parent, base].join('/');
    const host = join(this.root, rel);
    this.clear(rel, type === 'directory');
    switch (type) {
      case 'directory':
        if (lstatSync(host, { throwIfNoEntry: false }) === undefined) mkdirSync(host, { mode: 0o700 });
        this.known.add(rel);
        this.setDirAttrs(rel, uid, gid, mode, mtime);
        break;
      case 'file':
      case 'contiguous-file':
        await this.writeFile(host, stream, uid, gid, mode, mtime);
        this.size += header.size ?? 0;
        break;
      case 'symlink': {
        const target = header.linkname ?? '';
        if (target === '') throw invalid(`refusing tar entry "${header.name}": symlink without a target`);
        symlinkSync(target, host);
        lchownSync(host, uid, gid);
        lutimesSync(host, mtime, mtime);
        this.size += Buffer.byteLength(target);
        break;
      }
      case 'link':
        this.hardlink(header, host);
        break;
      default: {
        const fileType = DEVICE_TYPES[type];
        if (fileType === undefined) throw invalid(`refusing tar entry "${header.name}": unsupported entry type ${String(type)}`);
        this.addon.mknod(host, fileType | mode, header.devmajor ?? 0, header.devminor ?? 0);
        lchownSync(host, uid, gid);
        chmodSync(host, mode); // mknod's mode went through the umask
        lutimesSync(host, mtime, mtime);
      }
    }
    this.created.add(parts.join('/'));
    this.applyXattrs(header, host);
  }

  /** Removes what is at `rel` unless both it and the new entry are directories. */
  private clear(rel: string, keepDirectory: boolean): void {
    const host = join(this.root, rel);
    const stats = lstatSync(host, { throwIfNoEntry: false });
    if (stats === undefined || (keepDirectory && stats.isDirectory())) return;
    forget(this.known, rel);
    if (stats.isDirectory()) rmSync(host, { recursive: true, force: true });
    else unlinkSync(host);
  }

  private async writeFile(host: string, stream: Readable, uid: number, gid: number, mode: number, mtime: Date): Promise<void> {
    const fd = openSync(host, CREATE_FILE, 0o600);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      }
      fchownSync(fd, uid, gid);
      fchmodSync(fd, mode); // after chown, which clears set-id bits
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
  }

  private hardlink(header: TarHeader, host: string): void {
    const linkname = header.linkname ?? '';
    const targetParts = entryComponents(linkname, `hardlink target of "${header.name}"`);
    const key = targetParts.join('/');
    if (targetParts.length === 0 || !this.created.has(key)) {
      throw invalid(`refusing tar entry "${header.name}": hardlink target "${linkname}" does not exist in this layer`);
    }
    const dir = resolveDirectory(this.root, targetParts.slice(0, -1), { create: false, entry: header.name, known: this.known });
    const target = join(this.root, ...dir, targetParts[targetParts.length - 1] as string);
    const stats = lstatSync(target);
    if (stats.isDirectory()) throw invalid(`refusing tar entry "${header.name}": hardlink target "${linkname}" is a directory`);
    linkSync(target, host);
  }

  private setDirAttrs(rel: string, uid: number, gid: number, mode: number, mtime: Date): void {
    const fd = openSync(join(this.root, rel), OPEN_DIR);
    try {
      fchownSync(fd, uid, gid);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
    this.dirTimes.push({ rel, mtime });
  }

  private applyXattrs(header: TarHeader, host: string): void {
    for (const [key, value] of Object.entries(header.pax ?? {})) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const name = key.slice(XATTR_PREFIX.length);
      // The overlay's own attributes would let a layer forge opaque dirs or redirects.
      if (name.startsWith('trusted.overlay.') || !/^(user|security|trusted)\./.test(name)) continue;
      if (value.includes('\ufffd')) {
        log.warn('image.layer.xattr-skipped', { entry: header.name, xattr: name, reason: 'binary value not representable' });
        continue;
      }
      try {
        this.addon.lsetxattr(host, name, Buffer.from(value, 'utf8'));
      } catch (err) {
        log.debug('image.layer.xattr-failed', { entry: header.name, xattr: name, error: messageOf(err) });
      }
    }
  }

  /** Sets directory mtimes, deepest last-written first; skips any since replaced. */
  finish(): void {
    for (const { rel, mtime } of this.dirTimes.reverse()) {
      try {
        const parts = rel === '' ? [] : rel.split('/');
        const parent = resolveDirectory(this.root, parts.slice(0, -1), { create: false, entry: rel, known: this.known });
        const host = join(this.root, ...parent, ...parts.slice(-1));
        if (lstatSync(host).isDirectory()) lutimesSync(host, mtime, mtime);
      } catch {
        // replaced by a later entry: nothing to date
      }
    }
  }
}

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function paxDate(value: string | undefined): Date | undefined {
  if (value === undefined || !/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  return new Date(Number(value) * 1000);
}
