import type Dockerode from 'dockerode';
import type { JsonValue, NetworkSummary } from '../../shared/bridge.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import { bool, record, stringMap, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { BUILT_IN_NETWORKS, toNetworkSummary } from './network-view.js';

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A dotted IPv4 address as a 32-bit number, or undefined when it is not one. */
export function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

/** `10.5.0.0/24` → network and prefix; refuses host bits set (`10.5.0.1/24`), as the engine does. */
export function parseSubnet(value: string): { network: number; prefix: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(value);
  const network = m === null ? undefined : ipv4ToNumber(m[1] ?? '');
  const prefix = m === null ? NaN : Number(m[2]);
  if (network === undefined || !(prefix >= 1 && prefix <= 30)) {
    throw new InvalidArgument(`Subnet "${value}" is not an IPv4 CIDR: write it like 10.5.0.0/24 (prefix 1 to 30)`);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((network & ~mask) >>> 0 !== 0) {
    const base = (network & mask) >>> 0;
    const dotted = [24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.');
    throw new InvalidArgument(`Subnet "${value}" has host bits set: did you mean ${dotted}/${prefix}?`);
  }
  return { network, prefix };
}

export interface NetworkCreate {
  readonly name: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly internal: boolean;
  readonly labels: Record<string, string>;
}

/** Checks what networks:create got, before anything reaches the engine. */
export function parseNetworkCreate(args: unknown): NetworkCreate {
  const a = record(args, 'network');
  const name = text(a['name'], 'name', { max: 128 });
  if (!NETWORK_NAME.test(name)) throw new InvalidArgument(`"${name}" is not a valid network name: use a-z, A-Z, 0-9, _ . -, starting with a letter or digit`);
  if (BUILT_IN_NETWORKS.includes(name)) throw new InvalidArgument(`"${name}" is a built-in network's name; pick another`);
  const subnet = text(a['subnet'], 'subnet', { optional: true, max: 64 })?.trim();
  const gateway = text(a['gateway'], 'gateway', { optional: true, max: 64 })?.trim();
  if (gateway !== undefined && gateway !== '') {
    const address = ipv4ToNumber(gateway);
    if (address === undefined) throw new InvalidArgument(`Gateway "${gateway}" is not an IPv4 address: write it like 10.5.0.1`);
    if (subnet === undefined || subnet === '') throw new InvalidArgument('A gateway needs a subnet: give the subnet it belongs to too');
    const { network, prefix } = parseSubnet(subnet);
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    if ((address & mask) >>> 0 !== network) throw new InvalidArgument(`Gateway ${gateway} is outside the subnet ${subnet}`);
    const broadcast = (network | ~mask) >>> 0;
    if (address === network || address === broadcast) throw new InvalidArgument(`Gateway ${gateway} is the subnet's network or broadcast address; pick a host address`);
  } else if (subnet !== undefined && subnet !== '') parseSubnet(subnet);
  return {
    name,
    ...(subnet === undefined || subnet === '' ? {} : { subnet }),
    ...(gateway === undefined || gateway === '' ? {} : { gateway }),
    internal: bool(a['internal'], 'internal', false),
    labels: stringMap(a['labels'], 'labels'),
  };
}

function toCreateOptions(n: NetworkCreate): Dockerode.NetworkCreateOptions {
  const config = n.subnet === undefined ? [] : [{ Subnet: n.subnet, ...(n.gateway === undefined ? {} : { Gateway: n.gateway }) }];
  return { Name: n.name, Driver: 'bridge', CheckDuplicate: true, Internal: n.internal, Labels: n.labels, IPAM: { Driver: 'default', Config: config } };
}

/** networks:list, networks:inspect, networks:create, networks:remove, networks:connect, networks:disconnect. */
export function registerNetworks(ctx: ServiceContext): void {
  const { registry, engine } = ctx;

  registry.handle('networks:list', async () => {
    const docker = engine.docker;
    const listed = await docker.listNetworks();
    // Docker's list leaves members out (`Containers: {}`); berthd's has them. A network whose
    // list entry shows none is inspected (in parallel) to be sure. One removed in between is
    // left out.
    const inspected = await Promise.all(
      listed.map(async (n) => {
        if (Object.keys(n.Containers ?? {}).length > 0) return n as Dockerode.NetworkInspectInfo;
        try {
          return (await docker.getNetwork(n.Id).inspect()) as Dockerode.NetworkInspectInfo;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) return undefined;
          throw err;
        }
      }),
    );
    return inspected
      .filter((n): n is Dockerode.NetworkInspectInfo => n !== undefined)
      .map(toNetworkSummary)
      .sort((a, b) => Number(b.builtIn) - Number(a.builtIn) || a.name.localeCompare(b.name));
  });

  registry.handle('networks:inspect', async (args) => {
    const id = text(record(args, 'args')['id'], 'id', { max: 256 });
    return (await engine.docker.getNetwork(id).inspect()) as unknown as JsonValue;
  });

  registry.handle('networks:create', async (args): Promise<NetworkSummary> => {
    const request = parseNetworkCreate(args);
    const docker = engine.docker;
    const created = await docker.createNetwork(toCreateOptions(request));
    return toNetworkSummary((await docker.getNetwork(created.id).inspect()) as Dockerode.NetworkInspectInfo);
  });

  registry.handle('networks:remove', async (args) => {
    const id = text(record(args, 'args')['id'], 'id', { max: 256 });
    const docker = engine.docker;
    const network = (await docker.getNetwork(id).inspect()) as Dockerode.NetworkInspectInfo;
    if (BUILT_IN_NETWORKS.includes(network.Name)) {
      throw new AppError('invalid-argument', `"${network.Name}" is a built-in network and cannot be removed; only networks you created can be.`, 403);
    }
    await docker.getNetwork(network.Id).remove();
  });

  registry.handle('networks:connect', async (args) => {
    const a = record(args, 'args');
    const network = text(a['network'], 'network', { max: 256 });
    const container = text(a['container'], 'container', { max: 256 });
    await engine.docker.getNetwork(network).connect({ Container: container });
  });

  registry.handle('networks:disconnect', async (args) => {
    const a = record(args, 'args');
    const network = text(a['network'], 'network', { max: 256 });
    const container = text(a['container'], 'container', { max: 256 });
    await engine.docker.getNetwork(network).disconnect({ Container: container, Force: bool(a['force'], 'force', false) });
  });
}
