import { containerPorts, type PortConfigInput, type PortProto, type PublishedPort } from './bindings.js';

/**
 * What clients see of published ports.
 *
 * Inspect's NetworkSettings.Ports (and so `docker port`): every exposed or bound container
 * port, with its host bindings, or null when it is exposed but not published:
 *   {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null}
 * A container that is not running shows `{}` here and `[]` in the list: pass `running: false`.
 *
 * The list's Ports (`docker ps`): one entry per host binding, and one without IP/PublicPort
 * per exposed-only port, sorted by container port, protocol, then host port:
 *   [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
 *    {"PrivatePort": 443, "Type": "tcp"}]
 */
export interface PortBindingView {
  readonly HostIp: string;
  readonly HostPort: string;
}

export type PortMapView = Record<string, PortBindingView[] | null>;

export interface PsPortView {
  readonly IP?: string;
  readonly PrivatePort: number;
  readonly PublicPort?: number;
  readonly Type: PortProto;
}

export function portMapView(config: PortConfigInput, published: readonly PublishedPort[], running = true): PortMapView {
  const view: PortMapView = {};
  if (!running) return view;
  for (const p of containerPorts(config, { skipInvalid: true })) {
    const bound = published.filter((b) => b.proto === p.proto && b.containerPort === p.port);
    view[`${p.port}/${p.proto}`] = bound.length > 0 ? bound.map((b) => ({ HostIp: b.hostIp, HostPort: String(b.hostPort) })) : null;
  }
  return view;
}

export function psPortsView(config: PortConfigInput, published: readonly PublishedPort[], running = true): PsPortView[] {
  const out: PsPortView[] = [];
  if (!running) return out;
  for (const p of containerPorts(config, { skipInvalid: true })) {
    const bound = published.filter((b) => b.proto === p.proto && b.containerPort === p.port);
    if (bound.length === 0) {
      out.push({ PrivatePort: p.port, Type: p.proto });
      continue;
    }
    for (const b of [...bound].sort((x, y) => x.hostPort - y.hostPort || (x.hostIp < y.hostIp ? -1 : 1))) {
      out.push({ IP: b.hostIp, PrivatePort: p.port, PublicPort: b.hostPort, Type: p.proto });
    }
  }
  return out;
}
