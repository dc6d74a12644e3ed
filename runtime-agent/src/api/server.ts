import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { errnoCode, invalid, notFound } from '../errors.js';
import { log } from '../log.js';
import { errorBody, sendError } from './errors.js';
import { readUpgradeBody } from './upgrade-body.js';
import { parseJsonBody, type HijackedStream, type Match, type RequestContext, type Router } from './router.js';

export const API_VERSION = '1.43';
export const MIN_API_VERSION = '1.40';
const VERSION_PREFIX = /^\/v(\d+)\.(\d+)(\/.*)$/;

/** Splits `/v1.43/containers/json` into the version and the route path; checks the range. */
export function splitVersion(path: string): { version: string; path: string } {
  const m = VERSION_PREFIX.exec(path);
  if (!m) return { version: API_VERSION, path };
  const minor = Number(m[2]);
  const version = `${m[1]}.${m[2]}`;
  if (m[1] !== '1' || minor > 43) {
    throw invalid(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (minor < 40) {
    throw invalid(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version, path: m[3] as string };
}

function resolve(router: Router, method: string, rawUrl: string): { match: Match; query: URLSearchParams; version: string } {
  const url = new URL(rawUrl, 'http://berthd');
  const { version, path } = splitVersion(url.pathname);
  const match = router.match(method, path);
  if (match === undefined) throw notFound(`page not found`);
  if (match === 'method') throw notFound(`page not found: ${method} ${path} is not supported`);
  return { match, query: url.searchParams, version };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function serverHeaders(res: ServerResponse): void {
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Server', `Berth/berthd (linux)`);
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
}

async function onRequest(router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const context = `${req.method ?? '?'} ${req.url ?? '?'}`;
  serverHeaders(res);
  try {
    const { match, query, version } = resolve(router, req.method ?? 'GET', req.url ?? '/');
    let bodyPromise: Promise<Buffer> | undefined;
    const body = (): Promise<Buffer> => (bodyPromise ??= readBody(req));
    if (match.route.handler) {
      const ctx: RequestContext = {
        req,
        res,
        params: match.params,
        query,
        apiVersion: version,
        body,
        json: async <T>() => parseJsonBody<T>(await body()),
      };
      await match.route.handler(ctx);
    } else if (match.route.hijack) {
      await match.route.hijack(plainStream(req, res, match.params, query, version, body));
    }
  } catch (err) {
    sendError(res, err, context);
  }
}

/** A hijack route answered as an ordinary streamed 200 response (no Upgrade header). */
function plainStream(
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
  apiVersion: string,
  body: () => Promise<Buffer>,
): HijackedStream {
  const closed = new Promise<void>((r) => {
    res.on('close', () => r());
  });
  return {
    params,
    query,
    apiVersion,
    upgraded: false,
    body,
    json: async <T>() => parseJsonBody<T>(await body()),
    begin: (contentType) => {
      res.writeHead(200, { 'Content-Type': contentType });
      res.flushHeaders();
    },
    output: res,
    input: req,
    finish: () => res.end(),
    closed,
    socket: req.socket,
  };
}

async function onUpgrade(router: Router, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const context = `${req.method ?? '?'} ${req.url ?? '?'} (upgrade)`;
  let begun = false;
  const closed = new Promise<void>((r) => {
    socket.on('close', () => r());
  });
  socket.on('error', () => undefined);
  try {
    const { match, query, version } = resolve(router, req.method ?? 'POST', req.url ?? '/');
    if (!match.route.hijack) throw invalid(`${req.url ?? ''} cannot be upgraded`);
    // Node does not parse the body of an Upgrade request: read it off the socket ourselves.
    const { body, rest } = await readUpgradeBody(req, socket, head);
    const input = new PassThrough();
    if (rest.length > 0) input.write(rest);
    let inputEnded = false;
    const endInput = (): void => {
      if (!inputEnded) {
        inputEnded = true;
        input.end();
      }
    };
    socket.on('data', (chunk: Buffer) => input.write(chunk));
    socket.resume(); // readUpgradeBody may have paused it
    socket.on('end', endInput); // half-close of the client's stdin ends input
    socket.on('close', endInput);
    await match.route.hijack({
      params: match.params,
      query,
      apiVersion: version,
      upgraded: true,
      body: () => Promise.resolve(body),
      json: <T>() => Promise.resolve(parseJsonBody<T>(body)),
      begin: (contentType) => {
        begun = true;
        socket.write(
          `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
            `Api-Version: ${API_VERSION}\r\nDocker-Experimental: false\r\nOstype: linux\r\n\r\n`,
        );
      },
      output: socket,
      input,
      finish: () => {
        if (!socket.destroyed) socket.end();
      },
      closed,
      socket,
    });
  } catch (err) {
    if (begun) {
      socket.destroy();
      return;
    }
    const { status, body } = errorBody(err, context);
    socket.end(
      `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : status === 400 ? 'Bad Request' : 'Error'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

export interface ApiServer {
  close(): Promise<void>;
  readonly server: Server;
}

/**
 * Serves the router on a Unix socket reachable only by its owner (mode 0600, like
 * Docker's socket without a docker group).
 */
export async function listenApi(router: Router, socketPath: string): Promise<ApiServer> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o711 });
  try {
    await unlink(socketPath);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    void onRequest(router, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void onUpgrade(router, req, socket, head);
  });
  server.on('clientError', (err, socket) => {
    log.debug('api.client-error', { error: err.message });
    socket.destroy();
  });
  const oldUmask = process.umask(0o177);
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(socketPath, () => ok());
    });
  } finally {
    process.umask(oldUmask);
  }
  await chmod(socketPath, 0o600);
  return {
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
