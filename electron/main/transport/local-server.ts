import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventChannel, EventPayload } from '../../shared/bridge.js';
import { decodeWire, encodeWire } from '../../shared/wire.js';
import { contentDisposition, DownloadLinks } from './downloads.js';
import { CloseHooks, type Client, type ClientSet, type HandlerRegistry } from './registry.js';

/**
 * The app's local server: browser mode's page and bridge, and (in both modes) download links.
 *
 *   GET /                     the renderer (static files from renderer/dist)
 *   GET /bridge?token=T       WebSocket upgrade: the bridge (wire format: shared/wire.ts)
 *   GET /download/ID?token=T  a registered download, streamed
 *
 * Reachable only by its owner: bound to 127.0.0.1, and the bridge and downloads need the
 * random token that is only in the URL printed to (or opened for) the user. A browser's
 * WebSocket must also come from the page's own origin, so another site open in the same
 * browser cannot drive it.
 */
export interface LocalServerOptions {
  readonly registry: HandlerRegistry;
  readonly clients: ClientSet;
  /** The built renderer; undefined serves no page (Electron mode loads files itself). */
  readonly staticDir?: string;
  readonly port?: number;
  /** Fixed token for tests; random by default. */
  readonly token?: string;
}

export interface LocalServer {
  /** `http://127.0.0.1:PORT/?token=T`: what to open. */
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly downloads: DownloadLinks;
  close(): Promise<void>;
}

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The most one bridge message may be (an upload is one message). */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const token = opts.token ?? randomBytes(24).toString('hex');
  let origin = '';
  const downloads = new DownloadLinks((id) => `${origin}/download/${id}?token=${token}`);
  const sockets = new Set<WebSocket>();

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(err instanceof Error ? err.message : 'failed');
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname.startsWith('/download/')) {
      if (!tokenMatches(url.searchParams.get('token'), token)) {
        res.writeHead(403, { 'Content-Type': 'text/plain' }).end('This link needs the token of the Berth window it came from.');
        return;
      }
      const download = downloads.take(url.pathname.slice('/download/'.length));
      if (download === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('This download link has expired; ask for it again.');
        return;
      }
      let body;
      try {
        body = await download.open();
      } catch (err) {
        res.writeHead(502, { 'Content-Type': 'text/plain' }).end(err instanceof Error ? err.message : String(err));
        return;
      }
      res.writeHead(200, { 'Content-Type': download.contentType, 'Content-Disposition': contentDisposition(download.fileName), 'Cache-Control': 'no-store' });
      await pipeline(body, res).catch(() => res.destroy());
      return;
    }
    await serveStatic(url.pathname, req, res);
  }

  async function serveStatic(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (opts.staticDir === undefined) {
      res.writeHead(404).end();
      return;
    }
    const root = normalize(opts.staticDir);
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(root, relative));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(404).end();
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': relative === 'index.html' ? 'no-store' : 'max-age=3600',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy':
        `default-src 'self'; connect-src 'self' ${origin.replace('http:', 'ws:')}; img-src 'self' data: blob:; ` +
        "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
    });
    if (req.method === 'HEAD') res.end();
    else await pipeline(createReadStream(file), res).catch(() => res.destroy());
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const requestOrigin = req.headers.origin;
    const allowed = url.pathname === '/bridge' && tokenMatches(url.searchParams.get('token'), token) && (requestOrigin === undefined || requestOrigin === origin);
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  let nextClient = 0;
  function attach(ws: WebSocket): void {
    sockets.add(ws);
    const hooks = new CloseHooks();
    const client: Client = {
      id: `ws-${++nextClient}`,
      get closed() {
        return hooks.closed;
      },
      emit<C extends EventChannel>(channel: C, payload: EventPayload<C>) {
        if (!hooks.closed && ws.readyState === ws.OPEN) ws.send(encodeWire({ t: 'event', channel, payload }));
      },
      onClose: (fn) => hooks.add(fn),
    };
    opts.clients.add(client);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(1003, 'binary messages only');
        return;
      }
      let message;
      try {
        message = decodeWire(toUint8(data));
      } catch (err) {
        ws.close(1007, err instanceof Error ? err.message.slice(0, 100) : 'bad message');
        return;
      }
      if (message.t !== 'invoke') return;
      const { id } = message;
      void opts.registry.dispatch(message.channel, message.args, client).then((reply) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeWire({ t: 'reply', id, reply }));
      });
    });
    ws.on('close', () => {
      sockets.delete(ws);
      hooks.run();
    });
    ws.on('error', () => ws.terminate());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    downloads,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function toUint8(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
