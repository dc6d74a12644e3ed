import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { runTool, runToolChecked } from './command.js';

/**
 * Linux bridges and veth pairs, each operation one `ip -batch -` in berthd's namespace:
 *
 *   bridge     link add <br> type bridge; addr add <gateway>/<len> dev <br>; link set <br> up;
 *              then net.ipv4.conf.<br>.route_localnet=1 (output DNAT of ports published on
 *              127.0.0.0/8 sends 127.x-addressed packets onto the bridge, nft.ts masquerades
 *              their source and drops new 127.x-addressed packets coming in from bridges)
 *   start      every endpoint of a starting container in ONE batch:
 *                link add veth<7 hex> type veth peer name eth<N> address <02:42:...> netns <pid>;
 *                veth → master <br>, up
 *              the container's init then sets eth<N>'s address, brings it up and adds the
 *              default route itself, after `go` (`iface=` records, native/net.c): no spawn
 *              inside the container
 *   connect    (a running container): host: link add veth<7 hex> type veth peer name <tmp>;
 *              veth → master <br>, up; <tmp> → netns <pid>; container, one more batch entered
 *              with `nsenter -t <pid> -n`: <tmp> → name eth<N>, address <mac>; addr add; up
 *   removal    link del veth<7 hex> (takes its peer with it); link del <br>
 *
 * The kernel removes a container's end when its namespace dies: a detach after the
 * container exited finds nothing left, which is not an error.
 */
export interface BridgeSpec {
  readonly name: string;
  /** `gateway/prefix`, e.g. `172.17.0.1/16`. */
  readonly address: string;
}

export interface EndpointSpec {
  readonly bridge: string;
  /** The container's init, as seen from berthd's PID namespace. */
  readonly pid: number;
  /** Inside the container: `eth0`, `eth1`... */
  readonly interface: string;
  /** `ip/prefix`. */
  readonly address: string;
  readonly mac: string;
  /** Default route via this gateway; absent for internal networks (and extra interfaces). */
  readonly defaultRoute?: string;
}

function batch(lines: readonly string[]): string {
  return lines.join('\n') + '\n';
}

export async function createBridge(spec: BridgeSpec): Promise<void> {
  await runToolChecked(`create bridge ${spec.name}`, 'ip', ['-batch', '-'], batch([
    `link add name ${spec.name} type bridge`,
    `addr add ${spec.address} dev ${spec.name}`,
    `link set ${spec.name} up`,
  ]));
  await writeFile(`/proc/sys/net/ipv4/conf/${spec.name}/route_localnet`, '1\n');
}

/** Deletes links by name; those already gone are fine. */
export async function deleteLinks(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const present = await existingLinks();
  const doomed = names.filter((n) => present.has(n));
  if (doomed.length === 0) return;
  // -force: keep going past a link that vanished between the listing and the delete.
  await runTool('ip', ['-force', '-batch', '-'], batch(doomed.map((n) => `link del ${n}`)));
}

export async function existingLinks(): Promise<Set<string>> {
  const out = await runToolChecked('list links', 'ip', ['-j', 'link', 'show']);
  const links = JSON.parse(out || '[]') as { ifname?: string }[];
  return new Set(links.map((l) => l.ifname ?? '').filter((n) => n !== ''));
}

export function newHostInterfaceName(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/** A starting container's end of a pair: created in its namespace, configured by its init. */
export interface PlugSpec {
  readonly bridge: string;
  readonly hostInterface: string;
  /** Inside the container: `eth0`, `eth1`... */
  readonly interface: string;
  readonly mac: string;
}

/**
 * Container start: every pair in one batch from berthd's namespace, each container end made
 * straight inside `pid`'s namespace with its name and MAC, each host end on its bridge and up.
 * On failure, the pairs made so far are deleted.
 */
export async function plugEndpoints(pid: number, specs: readonly PlugSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const lines = specs.flatMap((s) => [
    `link add name ${s.hostInterface} type veth peer name ${s.interface} address ${s.mac} netns ${pid}`,
    `link set ${s.hostInterface} master ${s.bridge}`,
    `link set ${s.hostInterface} up`,
  ]);
  try {
    await runToolChecked(`create veth pairs for ${specs.map((s) => s.interface).join(', ')}`, 'ip', ['-batch', '-'], batch(lines));
  } catch (err) {
    await deleteLinks(specs.map((s) => s.hostInterface)).catch(() => undefined);
    throw err;
  }
}

/** `network connect` on a running container: makes the pair, plugs the host side into the
 *  bridge and configures the container side (one more `ip -batch` inside, by nsenter). */
export async function createEndpoint(spec: EndpointSpec, hostInterface: string): Promise<void> {
  const peer = `bp${hostInterface.slice(4)}`;
  await runToolChecked(`create veth pair for ${spec.interface}`, 'ip', ['-batch', '-'], batch([
    `link add name ${hostInterface} type veth peer name ${peer}`,
    `link set ${hostInterface} master ${spec.bridge}`,
    `link set ${hostInterface} up`,
    `link set ${peer} netns ${spec.pid}`,
  ]));
  const inside = [
    `link set ${peer} name ${spec.interface}`,
    `link set ${spec.interface} address ${spec.mac}`,
    `addr add ${spec.address} dev ${spec.interface}`,
    `link set ${spec.interface} up`,
  ];
  if (spec.defaultRoute) inside.push(`route replace default via ${spec.defaultRoute} dev ${spec.interface}`);
  try {
    await runToolChecked(`configure ${spec.interface} in the container`, 'nsenter', ['-t', String(spec.pid), '-n', 'ip', '-batch', '-'], batch(inside));
  } catch (err) {
    await deleteLinks([hostInterface]).catch(() => undefined);
    throw err;
  }
}
