import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode, invalid } from '../errors.js';
import { hexOf, type Digest } from './digest.js';

/** What a write stored: the blob's digest and length in bytes. */
export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

/**
 * The content store: immutable blobs (manifests, configs, uncompressed layer tars) in
 * `blobs/sha256/<hex>`, named by the sha256 of their bytes. A blob is written to a temp
 * file under tmp/ while it is hashed, verified against the expected digest when there is
 * one, fsynced and renamed into place, so a blob file is always complete and correct.
 * Layer tars are kept uncompressed, keyed by diff ID, so `docker save` is byte-exact.
 */
export class ContentStore {
  constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  path(digest: Digest): string {
    return join(this.dir, hexOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  /** The blob's size, or undefined when it is absent. */
  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  read(digest: Digest): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  stream(digest: Digest): Readable {
    return createReadStream(this.path(digest));
  }

  /**
   * Stores what `source` yields. When `expected` is given and the bytes hash to anything
   * else the blob is discarded and an invalid-parameter error names `what`.
   */
  async write(source: AsyncIterable<Buffer | string> | Iterable<Buffer>, expected?: Digest, what = 'blob'): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `blob-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const handle = await open(tmp, 'wx', 0o600);
    let renamed = false;
    try {
      try {
        for await (const chunk of source) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          hash.update(buf);
          size += buf.length;
          await handle.write(buf);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) {
        throw invalid(`invalid ${what}: digest mismatch: expected ${expected}, got ${digest}`);
      }
      await rename(tmp, this.path(digest));
      renamed = true;
      return { digest, size };
    } finally {
      if (!renamed) await unlink(tmp).catch(() => undefined);
    }
  }

  writeBytes(data: Buffer, expected?: Digest, what?: string): Promise<BlobInfo> {
    return this.write([data], expected, what);
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.path(digest));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}
