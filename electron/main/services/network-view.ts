import type Dockerode from 'dockerode';
import type { NetworkMember, NetworkSummary } from '../../shared/bridge.js';
import { BUILT_IN_NETWORKS } from '../../shared/network-form.js';


/** `172.18.0.2/16` → `172.18.0.2`. */
function addressOnly(cidr: string | undefined): string | undefined {
  if (cidr === undefined || cidr === '') return undefined;
  return cidr.split('/')[0];
}

type Endpoint = { Name?: string; MacAddress?: string; IPv4Address?: string };

export function toNetworkMembers(containers: Readonly<Record<string, Endpoint>> | undefined): NetworkMember[] {
  return Object.entries(containers ?? {})
    .map(([id, e]) => {
      const member: NetworkMember = { id, name: (e.Name ?? id.slice(0, 12)).replace(/^\//, '') };
      const ipv4 = addressOnly(e.IPv4Address);
      const mac = e.MacAddress === undefined || e.MacAddress === '' ? undefined : e.MacAddress;
      return { ...member, ...(ipv4 === undefined ? {} : { ipv4 }), ...(mac === undefined ? {} : { mac }) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One network (an inspect answer, which lists its containers) as the bridge's summary. */
export function toNetworkSummary(n: Dockerode.NetworkInspectInfo): NetworkSummary {
  // The first IPv4 pool is the one `docker network create --subnet` sets and the UI shows.
  const configs = n.IPAM?.Config ?? [];
  const v4 = configs.find((c) => c.Subnet !== undefined && !c.Subnet.includes(':')) ?? configs[0];
  const summary: NetworkSummary = {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    scope: n.Scope,
    internal: n.Internal,
    builtIn: BUILT_IN_NETWORKS.includes(n.Name),
    createdAt: n.Created,
    labels: n.Labels ?? {},
    members: toNetworkMembers(n.Containers as Record<string, Endpoint> | undefined),
  };
  return {
    ...summary,
    ...(v4?.Subnet === undefined || v4.Subnet === '' ? {} : { subnet: v4.Subnet }),
    ...(v4?.Gateway === undefined || v4.Gateway === '' ? {} : { gateway: v4.Gateway }),
  };
}
