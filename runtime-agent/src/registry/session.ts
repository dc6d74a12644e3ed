import { Readable, Transform, type TransformCallback } from 'node:stream';
import { invalid, isBerthError, messageOf, systemError } from '../errors.js';
import { isDigest, sha256Of, type Digest } from '../images/digest.js';
import type { RegistryConnection } from './connection.js';
import { registryError } from './errors.js';
import { discard, readBytes, readText, type HttpResponse } from './http.js';
import { uploadBlob } from './upload.js';
import type { BlobProgress, FetchedManifest, RepositoryLocation, RepositorySession } from './types.js';

/**
 * RepositorySession over one RegistryConnection: the distribution API's manifest and blob
 * calls for one repository (`/v2/<path>/...`). See types.ts for the contract.
 */

/** What getManifest accepts, as Docker sends it (v2 schema 2 and lists, OCI manifests and indexes). */
export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** Docker refuses manifests over 4 MiB; so do we (a manifest is read into memory). */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

export class RegistrySession implements RepositorySession {
  constructor(
    readonly location: RepositoryLocation,
    private readonly connection: RegistryConnection,
  ) {}

  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.connection.send({
      method: 'GET',
      url: this.path(`manifests/${manifestReference(reference)}`),
      headers: { Accept: MANIFEST_ACCEPT },
      followRedirects: true,
    });
    if (res.status !== 200) throw await this.failure(res, `manifest for ${this.familiar(reference)} not found: `);
    const bytes = await readBytes(res, MANIFEST_LIMIT);
    const digest = sha256Of(bytes);
    // By digest: the bytes must be that digest. By tag: the registry's digest, when it sends one, must match.
    const expected = isDigest(reference) ? reference : headerDigest(res);
    if (expected !== undefined && expected !== digest) {
      throw systemError(`manifest verification failed for digest ${expected}: the registry ${this.location.domain} sent content with digest ${digest}`);
    }
    return { digest, mediaType: manifestMediaType(res, bytes), bytes };
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest> {
    const res = await this.connection.send({
      method: 'PUT',
      url: this.path(`manifests/${manifestReference(reference)}`),
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.failure(res);
    discard(res);
    return headerDigest(res) ?? sha256Of(bytes);
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    const res = await this.connection.send({ method: 'HEAD', url: this.path(`blobs/${digest}`), followRedirects: true });
    discard(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.failure(res);
    const length = Number(res.headers['content-length']);
    return Number.isSafeInteger(length) && length >= 0 ? length : 0;
  }

  async fetchBlob(digest: Digest, onProgress?: BlobProgress): Promise<Readable> {
    const res = await this.connection.send({ method: 'GET', url: this.path(`blobs/${digest}`), followRedirects: true });
    if (res.status !== 200) throw await this.failure(res, `fetching blob ${digest}: `);
    const header = res.headers['content-length'];
    const expected = header === undefined ? undefined : Number(header);
    const counter = new LengthCheck(expected !== undefined && Number.isSafeInteger(expected) ? expected : undefined, digest, onProgress);
    res.body.on('error', (err) => counter.destroy(isBerthError(err) ? err : counter.broken(err, this.location.domain)));
    // A caller that gives up on the stream closes the connection too.
    counter.on('close', () => res.body.destroy());
    return res.body.pipe(counter);
  }

  async mountBlob(digest: Digest, fromPath: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from: fromPath });
    const res = await this.connection.send({ method: 'POST', url: `${this.path('blobs/uploads/')}?${query.toString()}` });
    discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry opened an ordinary upload instead: cancel it, the caller will upload.
      const location = res.headers.location;
      if (typeof location === 'string') {
        const endpoint = await this.connection.endpoint();
        await this.connection.send({ method: 'DELETE', url: new URL(location, new URL(this.path('blobs/uploads/'), endpoint.base)) })
          .then(discard, () => undefined);
      }
      return false;
    }
    throw await this.failure(res);
  }

  uploadBlob(source: Readable, onProgress?: BlobProgress): Promise<{ digest: Digest; size: number }> {
    return uploadBlob(this.connection, this.path('blobs/uploads/'), source, onProgress);
  }

  private path(rest: string): string {
    return `/v2/${this.location.path}/${rest}`;
  }

  private async failure(res: HttpResponse, notFoundPrefix = ''): Promise<Error> {
    const body = await readText(res, 64 * 1024).catch(() => '');
    const err = registryError(res.status, body);
    return err.code === 'not-found' && notFoundPrefix !== '' ? registryError(res.status, body, notFoundPrefix) : err;
  }

  /** `busybox:latest`, `team/app@sha256:..`, `127.0.0.1:5000/app:v1`, as Docker names them in messages. */
  private familiar(reference: string): string {
    const { domain, path } = this.location;
    const name = domain === 'docker.io' ? path.replace(/^library\//, '') : `${domain}/${path}`;
    return isDigest(reference) ? `${name}@${reference}` : `${name}:${reference}`;
  }
}

/** A tag or a digest, as the URL carries it (both are URL-safe once checked). */
function manifestReference(reference: string): string {
  if (isDigest(reference) || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(reference)) return reference;
  throw invalid(`invalid reference "${reference}": expected a tag or a sha256 digest`);
}

function headerDigest(res: HttpResponse): Digest | undefined {
  const value = res.headers['docker-content-digest'];
  return typeof value === 'string' && isDigest(value.trim()) ? (value.trim() as Digest) : undefined;
}

/** The Content-Type, unless it is generic; then the manifest's own `mediaType`. */
function manifestMediaType(res: HttpResponse, bytes: Buffer): string {
  const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (type !== '' && type !== 'application/json' && type !== 'text/plain' && type !== 'application/octet-stream') return type;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
  } catch {
    // left to the caller, which parses the manifest
  }
  return type;
}

/** Counts the bytes of a blob, reports progress, and fails a body shorter (or longer) than announced. */
class LengthCheck extends Transform {
  private received = 0;

  constructor(
    private readonly expected: number | undefined,
    private readonly digest: Digest,
    private readonly onProgress: BlobProgress | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.expected !== undefined && this.received > this.expected) {
      done(systemError(`blob ${this.digest}: the registry sent more than the ${this.expected} bytes it announced`));
      return;
    }
    this.onProgress?.(this.received);
    done(null, chunk);
  }

  /** The error for a connection that broke mid-blob. */
  broken(cause: unknown, domain: string): Error {
    const of = this.expected === undefined ? '' : ` of ${this.expected}`;
    return systemError(`blob ${this.digest}: the connection to ${domain} broke after ${this.received}${of} bytes (${messageOf(cause)})`, cause);
  }

  override _flush(done: TransformCallback): void {
    if (this.expected !== undefined && this.received !== this.expected) {
      done(systemError(`blob ${this.digest}: unexpected EOF after ${this.received} of ${this.expected} bytes`));
      return;
    }
    done();
  }
}
