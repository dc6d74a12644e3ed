import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { systemError } from '../errors.js';
import type { Digest } from '../images/digest.js';
import type { RegistryConnection } from './connection.js';
import { registryError } from './errors.js';
import { discard, readText, type HttpResponse } from './http.js';
import type { BlobProgress } from './types.js';

/**
 * A streamed blob upload (distribution spec, "chunked" upload in one PATCH):
 *
 *   POST  /v2/<name>/blobs/uploads/          -> 202, Location: <upload URL>
 *   PATCH <upload URL>   the stream, chunked -> 202, Location: <upload URL'>
 *   PUT   <upload URL'>&digest=sha256:...    -> 201
 *
 * The digest is computed while the bytes go out, so the blob is read once. Each Location may
 * be relative or absolute and carries the registry's own query (`_state=...`), kept as is.
 * A failed upload is cancelled (DELETE) on a best-effort basis.
 */
export async function uploadBlob(
  connection: RegistryConnection,
  uploadsPath: string,
  source: Readable,
  onProgress?: BlobProgress,
): Promise<{ digest: Digest; size: number }> {
  const endpoint = await connection.endpoint();
  const started = await connection.send({ method: 'POST', url: uploadsPath });
  if (started.status !== 202) {
    source.destroy();
    throw await failure(started);
  }
  discard(started);
  let location = nextLocation(started, new URL(uploadsPath, endpoint.base));
  try {
    const meter = new Meter(onProgress);
    // Errors of the source reach the request through the meter, which pipeline destroys.
    pipeline(source, meter).catch(() => undefined);
    const patched = await connection.send({
      method: 'PATCH',
      url: location,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: meter,
    });
    if (patched.status !== 202) throw await failure(patched);
    discard(patched);
    location = nextLocation(patched, location);
    const digest = meter.digest();
    const done = new URL(location);
    done.searchParams.set('digest', digest);
    const put = await connection.send({ method: 'PUT', url: done, headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201 && put.status !== 204) throw await failure(put);
    discard(put);
    return { digest, size: meter.size };
  } catch (err) {
    source.destroy();
    await connection.send({ method: 'DELETE', url: location }).then(discard, () => undefined);
    throw err;
  }
}

function nextLocation(res: HttpResponse, base: URL): URL {
  const location = res.headers.location;
  if (typeof location !== 'string' || location === '') {
    throw systemError(`the registry ${base.host} answered ${res.status} to a blob upload without a Location header`);
  }
  return new URL(location, base);
}

async function failure(res: HttpResponse): Promise<Error> {
  return registryError(res.status, await readText(res, 64 * 1024).catch(() => ''));
}

/** Passes the bytes through, hashing and counting them. */
class Meter extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  constructor(private readonly onProgress: BlobProgress | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.onProgress?.(this.size);
    done(null, chunk);
  }

  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
