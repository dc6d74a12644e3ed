/**
 * Network I/O for the stats samplers, as Docker reports it in the stats JSON's `networks`:
 * one entry per interface of the container's network namespace (`eth0`, `eth1`...), read from
 * `/proc/<pid>/net/dev` of the container's init (procfs shows the netns of that process).
 * Loopback is left out, as libnetwork only counts the sandbox's interfaces.
 *
 * Containers without a network namespace of their own — `--network host`, `none`, and
 * `container:<id>` — have no `networks` at all (Docker omits the field: no sandbox interfaces).
 * A netns with only `lo` gives no entry either, so `none` stays omitted whichever way it is
 * reached.
 *
 * One plain synchronous read per container per tick (procfs is served from kernel memory).
 * The file is deliberately not kept open: an open /proc/<pid>/net/dev holds a reference on the
 * namespace, which would keep a stopped container's netns alive, and the pid can be reused.
 */
import { readFileSync } from 'node:fs';

/** Docker's `types.NetworkStats` (endpoint_id and instance_id are omitempty and unset). */
export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

export type Networks = Record<string, NetworkStats>;

/**
 * Parses /proc/net/dev: two header lines, then `iface: rx(bytes packets errs drop fifo frame
 * compressed multicast) tx(bytes packets errs drop fifo colls carrier compressed)`. `lo` and
 * malformed lines are skipped. Interfaces keep the kernel's order.
 */
export function parseNetDev(text: string): Networks {
  const out: Networks = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === '' || name === 'lo' || name.includes('|')) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out[name] = {
      rx_bytes: f[0] as number,
      rx_packets: f[1] as number,
      rx_errors: f[2] as number,
      rx_dropped: f[3] as number,
      tx_bytes: f[8] as number,
      tx_packets: f[9] as number,
      tx_errors: f[10] as number,
      tx_dropped: f[11] as number,
    };
  }
  return out;
}

/**
 * The host pid whose netns holds the container's interfaces, or undefined when it has no
 * network namespace of its own (host, none, container:<id>) or no running init.
 * `networkMode` is HostConfig.NetworkMode (unset = the default bridge).
 */
export function networkPidOf(networkMode: string | undefined, pid: number): number | undefined {
  const mode = networkMode ?? '';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return undefined;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export type NetDevReadFile = (path: string) => string;

const readProc: NetDevReadFile = (path) => readFileSync(path, 'latin1');

/**
 * The container's `networks`, or undefined when none are to be reported: no pid, the process
 * gone (it exited between the cgroup read and this one), or no interface but `lo`.
 */
export function readNetworks(pid: number | undefined, read: NetDevReadFile = readProc): Networks | undefined {
  if (pid === undefined) return undefined;
  let text: string;
  try {
    text = read(`/proc/${pid}/net/dev`);
  } catch {
    return undefined;
  }
  const networks = parseNetDev(text);
  return Object.keys(networks).length > 0 ? networks : undefined;
}

/** Received and transmitted bytes summed over the interfaces, as the docker CLI's NET I/O. */
export function networkIo(networks: Readonly<Networks> | undefined): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  return { rx, tx };
}
