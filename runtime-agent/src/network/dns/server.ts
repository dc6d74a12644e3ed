/**
 * berthd's DNS server for one user-defined network, bound on the network's gateway address
 * (as Podman's aardvark-dns does: Node cannot listen inside a container's namespace, and the
 * gateway is reachable from every container on the bridge). Containers get
 * `nameserver <gateway>` in their resolv.conf. What it answers: see resolver.ts.
 *
 * It serves UDP and TCP on the same port (RFC 7766: TCP is mandatory — it is where a client
 * retries a truncated answer), TCP with any number of pipelined length-prefixed queries per
 * connection, answers possibly out of order. Bad input never escapes as an exception; memory
 * is bounded: at most `maxInFlight` forwards, 128 TCP connections, one partial message
 * buffered per connection, reading paused while a client does not read its answers, and an
 * idle connection closed after 10 s.
 *
 *   const dns = await startDnsServer({ address: '172.18.0.1', lookup, upstream: hostResolvers(text) });
 *   ...
 *   await dns.close();
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { errnoCode, invalid, messageOf, systemError } from '../../errors.js';
import { log } from '../../log.js';
import { parseUpstream, type Upstream } from './forward.js';
import { Resolver } from './resolver.js';

export interface DnsServerOptions {
  /** The IP address to listen on (a network's gateway). */
  readonly address: string;
  /** Default 53; 0 picks a free port, the same for UDP and TCP (see `DnsServer.port`). */
  readonly port?: number;
  /**
   * The addresses of a name, or undefined if it is not one of the network's: gets the
   * question's name lowercased, without the trailing dot.
   */
  lookup(name: string): readonly string[] | undefined;
  /** Upstream resolvers, tried in order: IP addresses, optionally `ip:port` / `[ip6]:port`. */
  readonly upstream: readonly string[];
  /**
   * The upstreams for one client, by its source address (a container's own `--dns`), in the
   * same forms as `upstream`; undefined (or absent) → `upstream`. Entries that do not parse,
   * and this server's own address, are skipped (no forwarding loop).
   */
  upstreamFor?(clientAddress: string): readonly string[] | undefined;
  /** TTL of the records it answers itself, in seconds; 600 as Docker. */
  readonly ttl?: number;
  /** How long each upstream gets to answer; 2000 ms. */
  readonly forwardTimeoutMs?: number;
  /** Forwards pending at once; more get SERVFAIL at once. 256. */
  readonly maxInFlight?: number;
}

export interface DnsServer {
  readonly address: string;
  readonly port: number;
  /** Stops listening, drops TCP connections and abandons pending forwards. */
  close(): Promise<void>;
}

const MAX_TCP_CONNECTIONS = 128;
const TCP_IDLE_MS = 10_000;
const BIND_ATTEMPTS = 5;

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const family = isIP(opts.address);
  if (family === 0) throw invalid(`invalid DNS listen address ${JSON.stringify(opts.address)}`);
  const requestedPort = opts.port ?? 53;
  let boundPort = requestedPort; // known once bound (port 0)
  const resolver = new Resolver({
    lookup: (name) => opts.lookup(name),
    upstreams: opts.upstream.map(parseUpstream),
    upstreamsFor: opts.upstreamFor && clientUpstreams(opts.upstreamFor, opts.address, () => boundPort),
    ttl: opts.ttl ?? 600,
    forwardTimeoutMs: opts.forwardTimeoutMs ?? 2000,
    maxInFlight: opts.maxInFlight ?? 256,
  });

  // With port 0 the UDP port is picked first and TCP must get the same one; retry if taken.
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(family === 6 ? 'udp6' : 'udp4', opts.address, requestedPort);
    const port = udp.address().port;
    try {
      const tcp = await listenTcp(opts.address, port);
      boundPort = port;
      return serve(resolver, udp, tcp, opts.address, port);
    } catch (err) {
      udp.close();
      if (requestedPort !== 0 || errnoCode(err) !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS) {
        throw systemError(`DNS server: cannot listen on TCP ${opts.address}:${port}: ${messageOf(err)}`, err);
      }
    }
  }
}

/** Wraps `upstreamFor`: parsed, invalid entries and this server itself dropped. */
function clientUpstreams(
  upstreamFor: (clientAddress: string) => readonly string[] | undefined,
  listenAddress: string,
  listenPort: () => number,
): (clientAddress: string) => readonly Upstream[] | undefined {
  return (clientAddress) => {
    const wanted = upstreamFor(clientAddress);
    if (wanted === undefined) return undefined;
    const parsed: Upstream[] = [];
    for (const text of wanted) {
      try {
        const upstream = parseUpstream(text);
        if (upstream.address === listenAddress && upstream.port === listenPort()) continue;
        parsed.push(upstream);
      } catch {
        log.debug('dns.bad-client-upstream', { client: clientAddress, upstream: text });
      }
    }
    return parsed.length > 0 ? parsed : undefined;
  };
}

function serve(resolver: Resolver, udp: UdpSocket, tcp: Server, address: string, port: number): DnsServer {
  let closed = false;
  const connections = new Set<Socket>();

  udp.on('message', (packet, peer) => {
    resolver.answer(packet, 'udp', peer.address).then(
      (reply) => {
        if (reply && !closed) udp.send(reply, peer.port, peer.address, () => undefined);
      },
      (err: unknown) => log.error('dns.answer-failed', { transport: 'udp', error: messageOf(err) }),
    );
  });
  udp.on('error', (err) => log.warn('dns.udp-error', { address, port, error: err.message }));

  tcp.maxConnections = MAX_TCP_CONNECTIONS;
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveTcpConnection(resolver, socket, () => closed);
  });
  tcp.on('error', (err) => log.warn('dns.tcp-error', { address, port, error: err.message }));
  log.info('dns.listening', { address, port });

  return {
    address,
    port,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      resolver.close();
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function serveTcpConnection(resolver: Resolver, socket: Socket, isClosed: () => boolean): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('drain', () => socket.resume());
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const packet = Buffer.from(buffered.subarray(2, 2 + length));
      buffered = buffered.subarray(2 + length);
      resolver.answer(packet, 'tcp', socket.remoteAddress).then(
        (reply) => {
          if (!reply || isClosed() || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          if (!socket.write(Buffer.concat([prefix, reply]))) socket.pause(); // until 'drain'
        },
        (err: unknown) => {
          log.error('dns.answer-failed', { transport: 'tcp', error: messageOf(err) });
          socket.destroy();
        },
      );
    }
  });
}

function bindUdp(type: 'udp4' | 'udp6', address: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type });
    const onError = (err: Error): void => {
      socket.close();
      reject(systemError(`DNS server: cannot listen on UDP ${address}:${port}: ${err.message}`, err));
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function listenTcp(address: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
