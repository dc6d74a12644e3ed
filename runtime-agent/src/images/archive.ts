import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { BerthError, invalid, messageOf, systemError } from '../errors.js';
import { decompressed } from './compression.js';
import { entryComponents } from './scoped-path.js';

/**
 * An image archive (`docker save` output, an OCI layout tar) spooled to `tmp/` and indexed,
 * so its files can be read in any order without ever unpacking it: tar entries are not in a
 * useful order, and nothing from a hostile archive touches the filesystem except the one
 * spool file. Symlinks and hardlinks inside the archive (old `docker save` links duplicate
 * layers) are followed within the archive only. `close()` deletes the spool; callers call
 * it in `finally`.
 */
interface Entry {
  readonly type: 'file' | 'symlink' | 'link' | 'directory' | 'other';
  /** Offset of the entry's data in the spool file. */
  readonly offset: number;
  readonly size: number;
  readonly linkname: string;
}

const MAX_HOPS = 40;
/** The largest metadata file (manifest, index, config) read into memory. */
export const MAX_METADATA_BYTES = 32 * 1024 * 1024;

export class SpooledArchive {
  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Spools `body` (a tar, possibly gzip-compressed) into `tmpDir` and indexes it. */
  static async spool(body: Readable, tmpDir: string): Promise<SpooledArchive> {
    const file = join(tmpDir, `archive-${randomBytes(8).toString('hex')}.tar`);
    try {
      const source = await decompressed(body, 'image archive');
      const handle = await open(file, 'wx', 0o600);
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) await handle.write(chunk);
      } finally {
        await handle.close();
      }
      return new SpooledArchive(file, await indexTar(file));
    } catch (err) {
      await unlink(file).catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await unlink(this.file).catch(() => undefined);
  }

  has(path: string): boolean {
    try {
      this.lookup(path);
      return true;
    } catch {
      return false;
    }
  }

  /** Identifies the file a path leads to (links to one file give the same value). */
  fileId(path: string): number {
    return this.lookup(path).offset;
  }

  size(path: string): number {
    return this.lookup(path).size;
  }

  /** A regular file's bytes (metadata: limited to MAX_METADATA_BYTES). */
  async read(path: string): Promise<Buffer> {
    const entry = this.lookup(path);
    if (entry.size > MAX_METADATA_BYTES) throw invalid(`invalid archive: ${path} is too large (${entry.size} bytes)`);
    const handle = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(entry.size);
      const { bytesRead } = await handle.read(buf, 0, entry.size, entry.offset);
      if (bytesRead !== entry.size) throw invalid(`invalid archive: ${path} is truncated`);
      return buf;
    } finally {
      await handle.close();
    }
  }

  stream(path: string): Readable {
    const entry = this.lookup(path);
    if (entry.size === 0) return createReadStream(this.file, { start: 1, end: 0 });
    return createReadStream(this.file, { start: entry.offset, end: entry.offset + entry.size - 1 });
  }

  /** Finds a regular file, following the archive's own symlinks and hardlinks. */
  private lookup(path: string): Entry {
    let parts = entryComponents(path, 'archive path');
    let hops = 0;
    restart: for (;;) {
      for (let i = 1; i <= parts.length; i++) {
        const entry = this.entries.get(parts.slice(0, i).join('/'));
        if (entry === undefined) continue;
        const isLink = entry.type === 'symlink' || (entry.type === 'link' && i === parts.length);
        if (!isLink) continue;
        if (++hops > MAX_HOPS) throw invalid(`invalid archive: too many links resolving ${path}`);
        const base = entry.type === 'link' || entry.linkname.startsWith('/') ? [] : parts.slice(0, i - 1);
        parts = clamp([...base, ...entry.linkname.split('/'), ...parts.slice(i)]);
        continue restart;
      }
      const entry = this.entries.get(parts.join('/'));
      if (entry?.type !== 'file') throw invalid(`invalid archive: ${path} not found`);
      return entry;
    }
  }
}

/** Normalises components; `..` stops at the archive root (as if chrooted there). */
function clamp(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out;
}

async function indexTar(file: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  const extract = tar.extract();
  extract.on('entry', (header: tar.Headers, stream: Readable & { offset?: number }, next: (err?: unknown) => void) => {
    stream.on('end', () => next());
    stream.resume();
    try {
      if (stream.offset === undefined) throw systemError('tar-stream did not report entry offsets');
      const parts = entryComponents(header.name, 'archive entry');
      const t = header.type;
      const type = t === 'file' || t === 'contiguous-file' ? 'file' : t === 'symlink' || t === 'link' || t === 'directory' ? t : 'other';
      entries.set(parts.join('/'), { type, offset: stream.offset, size: header.size ?? 0, linkname: header.linkname ?? '' });
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  });
  await new Promise<void>((resolve, reject) => {
    pipeline(createReadStream(file), extract, (err) => (err ? reject(err) : resolve()));
  }).catch((err: unknown) => {
    throw err instanceof BerthError ? err : invalid(`invalid archive: ${messageOf(err)}`, err);
  });
  return entries;
}
