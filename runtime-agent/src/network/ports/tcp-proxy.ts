import { connect, createServer, type Socket } from 'node:net';
import { log } from '../../log.js';
import type { PortProxy, PortProxyOptions } from './proxy.js';

export const DEFAULT_MAX_CONNECTIONS = 1024;

/** The TCP half of the userland proxy (see proxy.ts for the contract). */
export function startTcpProxy(options: PortProxyOptions): Promise<PortProxy> {
  const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const sockets = new Set<Socket>();
  let active = 0;
  let boundPort = options.hostPort;

  const relay = (client: Socket): void => {
    if (active >= max) {
      log.warn('ports.proxy.full', { port: boundPort, limit: max });
      client.destroy();
      return;
    }
    active++;
    const upstream = connect({ host: options.targetIp, port: options.targetPort, allowHalfOpen: true });
    let open = 2;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => {
        sockets.delete(s);
        if (--open === 0) active--;
      });
      // Any error (refused, reset, timeout) ends the relay: nothing half-broken stays open.
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.setNoDelay(true);
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      // pipe(): backpressure both ways; a source's end() becomes the destination's end()
      // (a FIN is passed on) while the other direction keeps flowing (allowHalfOpen).
      client.pipe(upstream);
      upstream.pipe(client);
    });
  };

  // pauseOnConnect: nothing is read from the client before its upstream is connected.
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, relay);
  return new Promise<PortProxy>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.hostIp, port: options.hostPort }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.warn('ports.proxy.error', { proto: 'tcp', port: boundPort, error: err.message }));
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.hostPort;
      boundPort = port;
      let closing: Promise<void> | undefined;
      resolve({
        proto: 'tcp',
        hostIp: options.hostIp,
        port,
        get active() {
          return active;
        },
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          });
          return closing;
        },
      });
    });
  });
}
