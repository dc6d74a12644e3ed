import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode, isBerthError, messageOf, systemError, type BerthError } from '../errors.js';

/**
 * The HTTP layer under the registry client: node:http/https (not fetch, which cannot skip
 * certificate checks for one insecure registry or tell a stalled body from a slow reader),
 * keep-alive agents, redirects that never carry the registry's Authorization to another
 * origin, and timeouts so that a registry that accepts and then says nothing fails the
 * request instead of hanging a pull:
 *
 *   responseMs   connecting, sending the body and waiting for the response head: no progress
 *                for this long fails the request (default 30 s);
 *   bodyStallMs  reading the response body: nothing received for this long, while the reader
 *                wants more, fails the body stream (default 60 s).
 *
 * Network failures become `system` BerthErrors worded as Docker's (`Get "https://host/v2/":
 * dial tcp host: connect: connection refused`), naming the registry.
 */
export interface HttpTimeouts {
  readonly responseMs: number;
  readonly bodyStallMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { responseMs: 30_000, bodyStallMs: 60_000 };

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A Buffer is sent with Content-Length; a stream chunked. */
  readonly body?: Buffer | Readable;
  /** False: do not check the certificate (insecure registries). Redirects elsewhere always check. */
  readonly verifyTls: boolean;
  /** Follow redirects (GET and HEAD only). */
  readonly followRedirects?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  /** The body; read it, or call discard(). */
  readonly body: IncomingMessage;
}

const MAX_REDIRECTS = 10;
const USER_AGENT = 'berthd (docker-compatible)';

export class HttpTransport {
  private readonly http = new HttpAgent({ keepAlive: true, timeout: 60_000 });
  private readonly https = new HttpsAgent({ keepAlive: true, timeout: 60_000 });

  constructor(readonly timeouts: HttpTimeouts = DEFAULT_TIMEOUTS) {}

  /** Sends the request; resolves with the final response head (redirects followed if asked). */
  async send(spec: HttpRequest): Promise<HttpResponse> {
    let current = spec;
    for (let hop = 0; ; hop++) {
      const res = await this.once(current);
      const location = res.headers.location;
      const redirect = current.followRedirects === true && (current.method === 'GET' || current.method === 'HEAD') &&
        [301, 302, 303, 307, 308].includes(res.status) && typeof location === 'string';
      if (!redirect) return res;
      discard(res);
      if (hop >= MAX_REDIRECTS) throw systemError(`${goMethod(spec.method)} "${spec.url.href}": stopped after ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, current.url);
      const sameOrigin = next.origin === spec.url.origin;
      const headers = { ...current.headers };
      // Blob storage (S3 and the like) must never see the registry's credentials.
      if (!sameOrigin) delete headers.Authorization;
      current = { ...current, url: next, headers, verifyTls: sameOrigin ? spec.verifyTls : true };
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private once(spec: HttpRequest): Promise<HttpResponse> {
    const { url } = spec;
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...spec.headers };
    if (Buffer.isBuffer(spec.body)) headers['Content-Length'] = String(spec.body.length);
    else if (spec.body === undefined && ['POST', 'PUT', 'PATCH'].includes(spec.method)) headers['Content-Length'] = '0';
    const options = {
      method: spec.method,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
    };
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        reject(requestError(spec, err, this.timeouts.responseMs));
      };
      const req: ClientRequest = secure
        ? httpsRequest({ ...options, agent: this.https, rejectUnauthorized: spec.verifyTls })
        : httpRequest({ ...options, agent: this.http });
      // One timer for connecting, sending and waiting for the head; every chunk of a streamed
      // body that goes out re-arms it (a server that stops reading stops the chunks).
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        if (settled) return;
        timer = setTimeout(() => req.destroy(new ResponseTimeout()), this.timeouts.responseMs);
      };
      arm();
      req.on('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        guardStalls(res, this.timeouts.bodyStallMs, `${goMethod(spec.method)} "${url.href}"`, url.host);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
      });
      if (spec.body instanceof Readable) {
        spec.body.on('data', arm); // the pipe below is attached in this same tick: nothing is lost
        pipeline(spec.body, req).catch((err: unknown) => {
          req.destroy(err instanceof Error ? err : new Error(String(err)));
          fail(err);
        });
      } else {
        req.end(spec.body);
      }
    });
  }
}

/** Reads a whole (small) body as text; more than `limit` bytes fails. */
export async function readText(res: HttpResponse, limit = 4 * 1024 * 1024): Promise<string> {
  return (await readBytes(res, limit)).toString('utf8');
}

export async function readBytes(res: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw systemError(`${res.url.href}: the response is larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (isBerthError(err)) throw err;
    throw systemError(`reading the response of ${res.url.href}: ${messageOf(err)}`, err);
  }
  return Buffer.concat(chunks);
}

/** Drops a body we do not need, so the connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

/** True for the error of a request that timed out (no fallback to another endpoint helps). */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.cause instanceof ResponseTimeout;
}

class ResponseTimeout extends Error {
  constructor() {
    super('timeout');
    this.name = 'ResponseTimeout';
  }
}

/** Go's spelling of the method, as Docker's messages show it (`Get "https://..."`). */
export function goMethod(method: HttpMethod): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

function requestError(spec: HttpRequest, err: unknown, timeoutMs: number): BerthError {
  const where = `${goMethod(spec.method)} "${spec.url.href}"`;
  const host = spec.url.host;
  let detail: string;
  if (err instanceof ResponseTimeout) {
    detail = `timeout: the registry ${host} did not answer within ${Math.round(timeoutMs / 100) / 10} s`;
  } else {
    switch (errnoCode(err)) {
      case 'ECONNREFUSED':
        detail = `dial tcp ${host}: connect: connection refused`;
        break;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        detail = `dial tcp: lookup ${spec.url.hostname}: no such host`;
        break;
      case 'ECONNRESET':
        detail = `read tcp ${host}: connection reset by peer`;
        break;
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        detail = `dial tcp ${host}: connect: no route to host`;
        break;
      default:
        detail = messageOf(err);
    }
  }
  return systemError(`${where}: ${detail}`, err);
}

/**
 * Fails `res` when the server sends nothing for `ms` while the reader is waiting for data.
 * Progress is read off the socket (a `data` listener would start the flow before the caller
 * reads); a full buffer means the reader is the slow side (backpressure), which is no stall.
 */
function guardStalls(res: IncomingMessage, ms: number, what: string, host: string): void {
  const socket = res.socket;
  let lastProgress = Date.now();
  let lastBytes = socket.bytesRead;
  const timer = setInterval(() => {
    const bytes = socket.bytesRead;
    if (bytes !== lastBytes || res.readableLength >= res.readableHighWaterMark) {
      lastBytes = bytes;
      lastProgress = Date.now();
      return;
    }
    if (Date.now() - lastProgress >= ms) {
      res.destroy(systemError(`${what}: the registry ${host} sent nothing for ${Math.round(ms / 100) / 10} s while sending the body`));
    }
  }, Math.max(50, Math.min(ms / 4, 1_000)));
  timer.unref();
  res.once('close', () => clearInterval(timer));
}
