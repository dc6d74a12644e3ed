import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { BerthError, conflict, errnoCode, invalid, messageOf, systemError } from '../../errors.js';
import { ANY_IPV4, type PortProto } from './bindings.js';

/**
 * Host port allocation, as moby's portallocator does it, with one difference: a port is
 * proven free by binding it for real, and the socket that proves it is the one that keeps it
 * (the caller's `bind` callback: the userland proxy's listener), so there is no window
 * between "checked" and "taken".
 *
 * - Explicit port (`-p 8080:80`): held by berthd already, or the bind fails with EADDRINUSE →
 *   `Bind for 0.0.0.0:8080 failed: port is already allocated` (BerthError 'conflict', 409).
 * - Host range (`-p 8000-8010:80`): the first port of the range that binds.
 * - Random (`-p 80`, `-P`): the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range,
 *   Docker's 49153-60999 if unreadable), scanned round-robin from the last port handed out.
 *
 * Ownership: one holder per (proto, port) and address, where 0.0.0.0 overlaps every address.
 * Ports berthd uses itself can be held with `hold()` so they are never handed out.
 */
export interface PortRequest {
  readonly proto: PortProto;
  readonly hostIp: string;
  /** First acceptable port; 0 = any from the ephemeral range. */
  readonly hostPort: number;
  /** Last acceptable port (== hostPort for one port; ignored when hostPort is 0). */
  readonly hostPortEnd: number;
}

export interface PortLease<T> {
  readonly proto: PortProto;
  readonly hostIp: string;
  readonly port: number;
  /** What the bind callback returned (the proxy that holds the port). */
  readonly value: T;
}

/** Binds `port` on the request's address; rejects with an errno error (EADDRINUSE...) if it cannot. */
export type BindAttempt<T> = (port: number) => Promise<T>;

export const DOCKER_EPHEMERAL_RANGE: readonly [number, number] = [49153, 60999];
/** Consecutive failed binds after which a random pick gives up (the range is effectively full). */
const MAX_RANDOM_ATTEMPTS = 512;

/** The kernel's ephemeral port range, or Docker's default when it cannot be read. */
export function ephemeralPortRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) && lo > 0 && lo <= hi && hi <= 65535) return [lo, hi];
  } catch {
    // fall through to Docker's default
  }
  return [DOCKER_EPHEMERAL_RANGE[0], DOCKER_EPHEMERAL_RANGE[1]];
}

export const alreadyAllocated = (hostIp: string, port: number | string): BerthError =>
  conflict(`Bind for ${hostIp}:${port} failed: port is already allocated`);

/** Maps a failed bind to the error a client sees (Docker's text for a taken port). */
export function bindError(err: unknown, proto: PortProto, hostIp: string, port: number): BerthError {
  if (err instanceof BerthError) return err;
  const code = errnoCode(err);
  if (code === 'EADDRINUSE') return alreadyAllocated(hostIp, port);
  const where = `listen ${proto}4 ${hostIp}:${port}`;
  if (code === 'EADDRNOTAVAIL') return invalid(`Error starting userland proxy: ${where}: bind: cannot assign requested address`, err);
  if (code === 'EACCES') return invalid(`Error starting userland proxy: ${where}: bind: permission denied`, err);
  return systemError(`Error starting userland proxy: ${where}: ${messageOf(err)}`, err);
}

export class PortAllocator {
  /** `${proto}/${port}` → the addresses it is held on. */
  private readonly held = new Map<string, Set<string>>();
  private readonly range: readonly [number, number];
  private readonly next = new Map<PortProto, number>();

  constructor(range: readonly [number, number] = ephemeralPortRange()) {
    this.range = range;
  }

  /** The range random ports come from. */
  get ephemeralRange(): readonly [number, number] {
    return this.range;
  }

  /** Whether berthd holds `port` on an address overlapping `hostIp`. */
  isHeld(proto: PortProto, hostIp: string, port: number): boolean {
    const ips = this.held.get(`${proto}/${port}`);
    if (!ips) return false;
    if (hostIp === ANY_IPV4) return ips.size > 0;
    return ips.has(hostIp) || ips.has(ANY_IPV4);
  }

  /** Marks a port as berthd's (e.g. a port berthd listens on itself); throws if already held. */
  hold(proto: PortProto, hostIp: string, port: number): void {
    if (this.isHeld(proto, hostIp, port)) throw alreadyAllocated(hostIp, port);
    const key = `${proto}/${port}`;
    const ips = this.held.get(key) ?? new Set<string>();
    ips.add(hostIp);
    this.held.set(key, ips);
  }

  release(proto: PortProto, hostIp: string, port: number): void {
    const key = `${proto}/${port}`;
    const ips = this.held.get(key);
    if (!ips) return;
    ips.delete(hostIp);
    if (ips.size === 0) this.held.delete(key);
  }

  /**
   * Finds a port for `req` and binds it with `bind`; the port stays held until release().
   * Explicit ports and ranges throw `Bind for IP:PORT failed: port is already allocated`.
   */
  async allocate<T>(req: PortRequest, bind: BindAttempt<T>): Promise<PortLease<T>> {
    if (req.hostPort !== 0 && req.hostPortEnd <= req.hostPort) return this.claim(req, req.hostPort, bind);
    const random = req.hostPort === 0;
    const [lo, hi] = random ? this.range : [req.hostPort, req.hostPortEnd];
    const size = hi - lo + 1;
    const start = random ? this.next.get(req.proto) ?? lo : lo;
    let attempts = 0;
    for (let i = 0; i < size && attempts < MAX_RANDOM_ATTEMPTS; i++) {
      const port = lo + ((start - lo + i) % size);
      if (this.isHeld(req.proto, req.hostIp, port)) continue;
      attempts++;
      try {
        const lease = await this.claim(req, port, bind);
        if (random) this.next.set(req.proto, port >= hi ? lo : port + 1);
        return lease;
      } catch (err) {
        if (!(err instanceof BerthError && err.code === 'conflict')) throw err;
      }
    }
    if (random) throw conflict(`Bind for ${req.hostIp}:0 failed: all ports are allocated`);
    throw alreadyAllocated(req.hostIp, `${lo}-${hi}`);
  }

  private async claim<T>(req: PortRequest, port: number, bind: BindAttempt<T>): Promise<PortLease<T>> {
    this.hold(req.proto, req.hostIp, port);
    try {
      const value = await bind(port);
      return { proto: req.proto, hostIp: req.hostIp, port, value };
    } catch (err) {
      this.release(req.proto, req.hostIp, port);
      throw bindError(err, req.proto, req.hostIp, port);
    }
  }
}

/** A bind that proves a port free and lets it go at once (for callers with no listener). */
export function probeBind(proto: PortProto, hostIp: string): BindAttempt<number> {
  return (port) =>
    new Promise<number>((resolve, reject) => {
      if (proto === 'udp') {
        const socket = createSocket('udp4');
        socket.once('error', (err) => {
          try {
            socket.close();
          } catch {
            // never bound: nothing to close
          }
          reject(err);
        });
        socket.bind(port, hostIp, () => socket.close(() => resolve(port)));
        return;
      }
      const server = createServer();
      server.once('error', reject);
      server.listen({ port, host: hostIp, exclusive: true }, () => server.close(() => resolve(port)));
    });
}
