import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

/**
 * Plain HTTP over berthd's socket, for the parts of the API dockerode does not cover (the
 * `/berth/...` extensions, raw Range headers, streamed bodies):
 *
 *   const r = await httpCall(daemon().socket, 'GET', browseUrl('volumes', 'v', 'directory', { path: '/' }));
 *   expect(r.status).toBe(200);
 */
export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON. */
  json<T>(): T;
  /** `{"message"}` of an error body ('' when there is none). */
  readonly message: string;
}

export interface HttpOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A buffer is sent with Content-Length; a stream chunked. */
  readonly body?: Buffer | string | Readable;
}

/** Starts a request and resolves with the response head; the body is the caller's to read. */
export function httpStream(socketPath: string, method: string, path: string, opts: HttpOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const body = opts.body;
    const headers: Record<string, string> = { ...opts.headers };
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = request({ socketPath, method, path, headers }, resolve);
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      // The server may answer (and close) before the body is sent: that is the answer, not an error.
      pipeline(body, req).catch(() => undefined);
    }
  });
}

/** A whole request and its whole (small) response. */
export async function httpCall(socketPath: string, method: string, path: string, opts: HttpOptions = {}): Promise<HttpReply> {
  const res = await httpStream(socketPath, method, path, opts);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const text = body.toString('utf8');
  let message = '';
  if ((res.headers['content-type'] ?? '').includes('json')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not an error body
    }
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body, text, json: <T>() => JSON.parse(text) as T, message };
}

/** `/berth/{volumes|containers}/{ref}/{op}?k=v…`, with every value URL-encoded. */
export function browseUrl(kind: 'volumes' | 'containers', ref: string, op: string, params: Readonly<Record<string, string>> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `/berth/${kind}/${encodeURIComponent(ref)}/${op}${query === '' ? '' : `?${query}`}`;
}

export interface TarEntrySpec {
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  readonly content?: string | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** A tar built in memory from entry specs (hostile ones included: names are not checked). */
export async function makeTar(entries: readonly TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: Buffer) => chunks.push(c));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        {
          name: e.name,
          type,
          mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
          ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
          ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
          ...(content !== undefined ? { size: content.length } : {}),
        },
        content,
        (err?: Error | null) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface TarListing {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly linkname?: string;
  readonly content: Buffer;
}

/** Reads a whole (small) tar stream into its entries. */
export async function readTar(source: Readable): Promise<TarListing[]> {
  const extract = tar.extract();
  const out: TarListing[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      out.push({
        name: header.name,
        type: header.type ?? 'file',
        size: header.size ?? 0,
        ...(header.linkname ? { linkname: header.linkname } : {}),
        content: Buffer.concat(chunks),
      });
      next();
    });
    stream.resume();
  });
  await pipeline(source, extract);
  return out;
}
