import type Dockerode from 'dockerode';
import type { JsonValue, NetworkSummary } from '../../shared/bridge.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import { bool, record, stringMap, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { BUILT_IN_NETWORKS, networkFormProblems } from '../../shared/network-form.js';
import { toNetworkSummary } from './network-view.js';

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
  const subnet = text(a['subnet'], 'subnet', { optional: true, max: 64 })?.trim();
  const gateway = text(a['gateway'], 'gateway', { optional: true, max: 64 })?.trim();
  const problems = networkFormProblems({ name, ...(subnet === undefined ? {} : { subnet }), ...(gateway === undefined ? {} : { gateway }) });
  const first = problems.name ?? problems.subnet ?? problems.gateway;
  if (first !== undefined) throw new InvalidArgument(first);
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
