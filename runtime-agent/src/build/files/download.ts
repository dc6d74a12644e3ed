import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BerthError, invalid, messageOf } from '../../errors.js';
import { fileRecord } from './cache-key.js';
import type { BuildFilesDeps } from './deps.js';

/**
 * ADD <url>: the classic builder's downloadSource. The URL is fetched (redirects followed,
 * one time limit for the whole download), streamed into a file under tmp/ while its key is
 * hashed, and saved as Docker saves it: mode 0600, mtime from Last-Modified (else the Unix
 * epoch). Its name is the URL path's last segment, else Content-Disposition's filename, else
 * none (`__unnamed__`, refused when the destination is a directory). Anything but a 2xx is a
 * 400 naming the status, as Docker's "failed to GET ... with status ...".
 *
 *   <data-root>/tmp/build-download-XXXXXX/data   until the plan is disposed
 */
export interface Download {
  readonly url: string;
  /** The host file holding the bytes (ours, under tmp/). */
  readonly file: string;
  /** The name the file takes in a destination directory. */
  readonly name: string;
  readonly size: number;
  readonly mtime: Date;
  readonly cacheKey: string;
  dispose(): Promise<void>;
}

export const DOWNLOAD_MODE = 0o600;
const UNNAMED = '__unnamed__';
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const ERROR_BODY_BYTES = 512;

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function download(url: string, destIsDirectory: boolean, deps: BuildFilesDeps): Promise<Download> {
  const signal = AbortSignal.timeout(deps.downloadTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(url, { redirect: 'follow', signal });
  } catch (err) {
    throw invalid(`ADD failed: failed to GET ${url}: ${reason(err)}`, err);
  }
  if (!response.ok) {
    const text = await errorBody(response);
    throw invalid(`ADD failed: failed to GET ${url} with status ${response.status} ${response.statusText}${text ? `: ${text}` : ''}`);
  }
  const found = fileName(url, response.headers.get('content-disposition'));
  if (found === undefined && destIsDirectory) {
    await response.body?.cancel();
    throw invalid(`ADD failed: cannot determine filename for source ${url}`);
  }
  const name = found ?? UNNAMED;
  await mkdir(deps.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(deps.tmpDir, 'build-download-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const file = join(dir, 'data');
  const hash = fileRecord(DOWNLOAD_MODE, name);
  let size = 0;
  try {
    const limit = deps.maxDownloadBytes ?? Number.POSITIVE_INFINITY;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > limit) {
          callback(invalid(`ADD failed: ${url} is larger than the ${limit} bytes berthd accepts`));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const body = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    await pipeline(body, counter, createWriteStream(file, { flags: 'wx', mode: DOWNLOAD_MODE }));
  } catch (err) {
    await dispose();
    if (err instanceof BerthError) throw err;
    throw invalid(`ADD failed: failed to GET ${url}: ${reason(err)}`, err);
  }
  return {
    url,
    file,
    name,
    size,
    mtime: lastModified(response.headers.get('last-modified')),
    cacheKey: `file:${hash.digest('hex')}`,
    dispose,
  };
}

/** moby's getFilenameForDownload: the path's last segment, else Content-Disposition's filename. */
function fileName(url: string, disposition: string | null): string | undefined {
  const path = decoded(new URL(url).pathname);
  if (path !== '' && !path.endsWith('/')) {
    const base = usable(posix.basename(path));
    if (base !== undefined) return base;
  }
  const match = disposition === null ? null : /filename\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(disposition);
  const given = match?.[1] ?? match?.[2];
  if (given === undefined || given === '' || given.endsWith('/')) return undefined;
  return usable(posix.basename(given));
}

/** A name that stays one entry in the destination directory. */
function usable(name: string): string | undefined {
  return name === '' || name === '.' || name === '..' ? undefined : name;
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function lastModified(header: string | null): Date {
  const parsed = header === null ? Number.NaN : Date.parse(header);
  return new Date(Number.isNaN(parsed) ? 0 : parsed);
}

/** The start of an error response's body (the rest is not read: it may be large). */
async function errorBody(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
  } catch {
    // a body that fails mid-way: what arrived is enough
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8').trim();
}

/** A failed fetch's reason: undici hides the useful part (ECONNREFUSED...) in `cause`. */
function reason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'the download took too long';
  const cause = err instanceof Error ? (err.cause as unknown) : undefined;
  return cause instanceof Error ? `${messageOf(err)} (${cause.message})` : messageOf(err);
}
