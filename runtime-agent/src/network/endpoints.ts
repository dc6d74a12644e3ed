import { randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { EndpointSettings, NetworkAttachment } from '../containers/networking.js';
import type { ContainerRecord } from '../containers/model.js';
import { allocateAddress, macForAddress, prefixLength } from './ipam.js';
import type { InterfaceSpec } from '../native/protocol.js';
import { createEndpoint, deleteLinks, newHostInterfaceName, plugEndpoints } from './links.js';
import type { EndpointRecord, NetworkRecord, NetworkStore } from './store.js';

/**
 * A container's membership of networks:
 *
 *   planAttachments  create: NetworkMode + NetworkingConfig.EndpointsConfig → the networks it
 *                    joins (first = eth0 + default route), with aliases and requested --ip
 *   Endpoints        start: reserve() before the spec (address, MAC, names: the init sets
 *                    them up), plug() with the init's PID (the pairs, one batch);
 *                    connect (running container): all at once, configured by nsenter;
 *                    exit / disconnect: the veth and the address go. Network events for both.
 *   endpointSettings inspect: NetworkSettings.Networks
 */
interface EndpointConfigInput {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
}

export function attachmentFor(n: NetworkRecord, aliases: readonly string[], ip: string): NetworkAttachment {
  if (n.Name === 'bridge' && aliases.length > 0) throw invalid('network-scoped alias is supported only for containers in user defined networks');
  if (n.Name === 'bridge' && ip) throw invalid('user specified IP address is supported on user defined networks only');
  if (ip) allocateAddress(n.Pool, new Set(), ip); // format and subnet checks now; freedom at start
  return { NetworkID: n.Id, Aliases: [...aliases], IPv4Address: ip };
}

export function planAttachments(store: NetworkStore, networkMode: string, networkingConfig: unknown): { networkMode: string; attachments: NetworkAttachment[] } {
  const mode = networkMode === '' || networkMode === 'default' ? 'bridge' : networkMode;
  if (mode === 'host' || mode === 'none') return { networkMode: mode, attachments: [] };
  if (mode.startsWith('container:')) {
    if (mode.length === 'container:'.length) throw invalid('invalid network mode: container: needs a container name or ID');
    return { networkMode: mode, attachments: [] };
  }
  const n = store.find(mode);
  // 400, not Docker's 404: the CLI answers any 404 from create by pulling the image.
  if (!n) throw invalid(`network ${mode} not found`);
  const endpoints = endpointsConfig(networkingConfig);
  const primary = endpoints.get(networkMode) ?? endpoints.get(mode) ?? endpoints.get(n.Name) ?? endpoints.get(n.Id) ?? {};
  const attachments = [attachmentFor(n, primary.Aliases ?? [], primary.IPAMConfig?.IPv4Address ?? '')];
  for (const [ref, ep] of endpoints) {
    const other = store.find(ref === 'default' ? 'bridge' : ref);
    if (!other) throw invalid(`network ${ref} not found`);
    if (other.Id === n.Id) continue;
    attachments.push(attachmentFor(other, ep.Aliases ?? [], ep.IPAMConfig?.IPv4Address ?? ''));
  }
  return { networkMode: n.Name === 'bridge' ? 'bridge' : mode, attachments };
}

export class Endpoints {
  constructor(
    private readonly store: NetworkStore,
    private readonly events: EventBus,
  ) {}

  /** Endpoints reserved for a start and not plugged yet (no links, no event). */
  private readonly unplugged = new WeakSet<EndpointRecord>();

  /** A new endpoint of `c` on `n`: address, MAC, names; claimed in `n` at once (no await). */
  private claim(n: NetworkRecord, c: ContainerRecord, a: NetworkAttachment): EndpointRecord {
    const used = new Set(Object.values(n.Endpoints).map((e) => e.IPv4Address));
    const ip = allocateAddress(n.Pool, used, a.IPv4Address || undefined);
    const inUse = new Set(this.store.all().map((o) => o.Endpoints[c.Id]?.Interface).filter((x): x is string => x !== undefined));
    let index = 0;
    while (inUse.has(`eth${index}`)) index++;
    const ep: EndpointRecord = {
      ContainerID: c.Id, Name: c.Name, EndpointID: randomBytes(32).toString('hex'), IPv4Address: ip, MacAddress: macForAddress(ip),
      Aliases: [...a.Aliases], HostInterface: newHostInterfaceName(), Interface: `eth${index}`,
    };
    // Claimed before any await: concurrent starts never get the same address.
    n.Endpoints[c.Id] = ep;
    return ep;
  }

  /**
   * Start, before the process spec is built: claims `c`'s endpoint on `n` and returns what the
   * container's init configures itself; `primary` gets the default route (not on internal
   * networks). plug() makes the links; disconnect() drops an endpoint never plugged.
   */
  reserve(n: NetworkRecord, c: ContainerRecord, a: NetworkAttachment, primary: boolean): InterfaceSpec {
    const ep = this.claim(n, c, a);
    this.unplugged.add(ep);
    return {
      name: ep.Interface, address: ep.IPv4Address, prefixLength: prefixLength(n.Pool),
      ...(primary && !n.Internal ? { gateway: n.Pool.Gateway } : {}),
    };
  }

  /** Whether `c` has an endpoint on `n` reserved and not plugged yet. */
  reserved(n: NetworkRecord, c: ContainerRecord): boolean {
    const ep = n.Endpoints[c.Id];
    return ep !== undefined && this.unplugged.has(ep);
  }

  /** Start, with the init's PID (before `go`): the reserved endpoints' pairs, in one batch. */
  async plug(c: ContainerRecord, pid: number, networks: readonly NetworkRecord[]): Promise<void> {
    const eps = networks.map((n) => ({ n, ep: n.Endpoints[c.Id] })).filter((x): x is { n: NetworkRecord; ep: EndpointRecord } => x.ep !== undefined && this.unplugged.has(x.ep));
    await plugEndpoints(pid, eps.map(({ n, ep }) => ({ bridge: n.Bridge, hostInterface: ep.HostInterface, interface: ep.Interface, mac: ep.MacAddress })));
    for (const { n, ep } of eps) {
      this.unplugged.delete(ep);
      await this.store.save(n);
      this.events.emit('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
    }
  }

  /** Wires `c` (init at `pid`, running) into `n`; `primary` gets the default route (not on internal networks). */
  async connect(n: NetworkRecord, c: ContainerRecord, pid: number, a: NetworkAttachment, primary: boolean): Promise<void> {
    const ep = this.claim(n, c, a);
    const ip = ep.IPv4Address;
    try {
      await createEndpoint({
        bridge: n.Bridge, pid, interface: ep.Interface, address: `${ip}/${prefixLength(n.Pool)}`, mac: ep.MacAddress,
        ...(primary && !n.Internal ? { defaultRoute: n.Pool.Gateway } : {}),
      }, ep.HostInterface);
      await this.store.save(n);
    } catch (err) {
      delete n.Endpoints[c.Id];
      throw err;
    }
    this.events.emit('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  async disconnect(n: NetworkRecord, c: ContainerRecord): Promise<void> {
    const ep = n.Endpoints[c.Id];
    if (!ep) return;
    if (this.unplugged.has(ep)) {
      // Reserved for a start that failed before plug(): no links, never announced.
      this.unplugged.delete(ep);
      delete n.Endpoints[c.Id];
      await this.store.save(n);
      return;
    }
    await deleteLinks([ep.HostInterface]);
    delete n.Endpoints[c.Id];
    await this.store.save(n);
    this.events.emit('network', 'disconnect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }
}

export function endpointSettings(store: NetworkStore, c: ContainerRecord, predefinedId: (name: string) => string): Record<string, EndpointSettings> {
  const out: Record<string, EndpointSettings> = {};
  const mode = c.HostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode === 'none') {
    out[mode] = emptySettings(predefinedId(mode));
    return out;
  }
  for (const a of c.NetworkAttachments ?? []) {
    const n = store.find(a.NetworkID);
    if (!n) continue;
    const ep = n.Endpoints[c.Id];
    const s = emptySettings(n.Id);
    s.IPAMConfig = a.IPv4Address ? { IPv4Address: a.IPv4Address } : null;
    s.Aliases = n.Name === 'bridge' ? null : [...a.Aliases];
    if (ep) {
      Object.assign(s, { EndpointID: ep.EndpointID, Gateway: n.Pool.Gateway, IPAddress: ep.IPv4Address, IPPrefixLen: prefixLength(n.Pool), MacAddress: ep.MacAddress });
      s.DNSNames = n.Name === 'bridge' ? null : [c.Name, c.Id.slice(0, 12), ...a.Aliases];
    }
    out[n.Name] = s;
  }
  return out;
}

function endpointsConfig(networkingConfig: unknown): Map<string, EndpointConfigInput> {
  const out = new Map<string, EndpointConfigInput>();
  if (typeof networkingConfig !== 'object' || networkingConfig === null) return out;
  const eps = (networkingConfig as { EndpointsConfig?: unknown }).EndpointsConfig;
  if (typeof eps !== 'object' || eps === null) return out;
  for (const [name, ep] of Object.entries(eps as Record<string, unknown>)) {
    out.set(name, typeof ep === 'object' && ep !== null ? (ep as EndpointConfigInput) : {});
  }
  return out;
}

function emptySettings(networkId: string): EndpointSettings {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', NetworkID: networkId, EndpointID: '', Gateway: '', IPAddress: '',
    IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null, DNSNames: null,
  };
}
