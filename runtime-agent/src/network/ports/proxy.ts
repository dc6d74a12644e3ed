import type { PortProto } from './bindings.js';
import { startTcpProxy } from './tcp-proxy.js';
import { startUdpProxy } from './udp-proxy.js';

export { DEFAULT_MAX_CONNECTIONS } from './tcp-proxy.js';
export { DEFAULT_MAX_UDP_FLOWS, DEFAULT_UDP_IDLE_TIMEOUT_MS } from './udp-proxy.js';

/**
 * The userland proxy (moby's docker-proxy, in process): one listener per published port on
 * hostIp:hostPort that relays to the container's targetIp:targetPort. It serves what DNAT
 * cannot: connections to the host's loopback addresses (and from a container to its own
 * bridge's host address), and its listener is what holds the host port for berthd.
 *
 * TCP: each accepted connection gets its own upstream connection; bytes are piped both ways
 * with backpressure; a FIN from either side is passed on as a FIN (half-close), the other
 * direction keeps flowing; an error or reset on either side destroys both.
 * UDP: one upstream socket per client address, dropped after `udpIdleTimeoutMs` without
 * traffic either way (90 s, docker-proxy's conntrack-like timeout); replies go back to the
 * client from the listening socket.
 * Bounded: at most `maxConnections` TCP connections (further ones are closed at once) and
 * `maxUdpFlows` UDP clients (datagrams from new clients are dropped) per proxy.
 */
export interface PortProxyOptions {
  readonly proto: PortProto;
  /** Address to listen on; '0.0.0.0' = every IPv4 address. */
  readonly hostIp: string;
  /** Port to listen on; 0 = any (the kernel picks; see `port`). */
  readonly hostPort: number;
  readonly targetIp: string;
  readonly targetPort: number;
  readonly maxConnections?: number;
  readonly maxUdpFlows?: number;
  readonly udpIdleTimeoutMs?: number;
}

export interface PortProxy {
  readonly proto: PortProto;
  readonly hostIp: string;
  /** The port actually bound. */
  readonly port: number;
  /** Open TCP connections (client side) or live UDP flows. */
  readonly active: number;
  /** Stops listening and drops every connection/flow; resolves once the port is free. Idempotent. */
  close(): Promise<void>;
}

/** Binds hostIp:hostPort and starts relaying; rejects with the bind's errno error if it cannot. */
export function startPortProxy(options: PortProxyOptions): Promise<PortProxy> {
  return options.proto === 'udp' ? startUdpProxy(options) : startTcpProxy(options);
}
