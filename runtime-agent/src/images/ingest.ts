import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';
import { invalid } from '../errors.js';
import { decompressed } from './compression.js';
import type { BlobInfo, ContentStore } from './content-store.js';
import type { Digest } from './digest.js';

export interface LayerExpectations {
  /** sha256 of the uncompressed tar (the config's diff_ids entry). */
  readonly diffId?: Digest;
  /** sha256 of the bytes as they arrive (compressed or not), when known. */
  readonly raw?: Digest;
}

/**
 * Stores a layer tar as it arrives (plain or gzip) in the content store, uncompressed and
 * keyed by its diff ID, verifying both digests it is given. The blob is what the layer is
 * unpacked from and what `docker save` writes back byte for byte.
 */
export async function ingestLayer(content: ContentStore, source: Readable, expect: LayerExpectations, what: string): Promise<BlobInfo> {
  const rawHash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      rawHash.update(chunk);
      callback(null, chunk);
    },
  });
  pipeline(source, hashing, () => undefined); // errors reach the consumer through `hashing`
  const info = await content.write(await decompressed(hashing, what), expect.diffId, what);
  if (expect.raw !== undefined) {
    const raw: Digest = `sha256:${rawHash.digest('hex')}`;
    if (raw !== expect.raw) throw invalid(`invalid ${what}: digest mismatch: expected ${expect.raw}, got ${raw}`);
  }
  return info;
}
