import type { ContainerRecord } from '../containers/model.js';
import { prefixLength } from './ipam.js';
import type { NetworkRecord } from './store.js';

/**
 * Docker's NetworkResource JSON (`GET /networks`, `GET /networks/{id}`) for a stored network
 * or one of the fixed `host` / `none` networks.
 */
export interface PredefinedNetwork {
  readonly Name: 'host' | 'none';
  readonly Id: string;
  readonly Created: string;
  readonly Driver: 'host' | 'null';
}

export const PREDEFINED_NAMES: readonly string[] = ['bridge', 'host', 'none'];

export function resourceView(n: NetworkRecord | PredefinedNetwork, containers: readonly ContainerRecord[] = []): Record<string, unknown> {
  const isRecord = 'Pool' in n;
  const attached: Record<string, unknown> = {};
  if (isRecord) {
    const len = prefixLength(n.Pool);
    for (const ep of Object.values(n.Endpoints)) {
      attached[ep.ContainerID] = { Name: ep.Name, EndpointID: ep.EndpointID, MacAddress: ep.MacAddress, IPv4Address: `${ep.IPv4Address}/${len}`, IPv6Address: '' };
    }
  } else {
    // host and none: the running containers in that mode.
    const mode = n.Name;
    for (const c of containers) {
      if (c.State.Running && c.HostConfig.NetworkMode === mode) {
        attached[c.Id] = { Name: c.Name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
      }
    }
  }
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: n.Driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: isRecord ? {} : null, Config: isRecord ? [{ ...n.Pool }] : [] },
    Internal: isRecord ? n.Internal : false,
    Attachable: isRecord ? n.Attachable : false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: attached,
    Options: isRecord ? { ...n.Options } : {},
    Labels: isRecord ? { ...n.Labels } : {},
  };
}

/** The options Docker shows on its default bridge network. */
export function defaultBridgeOptions(bridge: string): Record<string, string> {
  return {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': bridge,
    'com.docker.network.driver.mtu': '1500',
  };
}
