import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, forbidden, invalid, messageOf, notFound } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { log } from '../log.js';
import type { ContainerFiles, ContainerNetworking, EndpointSettings, NetworkAttachment } from '../containers/networking.js';
import type { ContainerRecord } from '../containers/model.js';
import { RECORD as CONTAINER_RECORD } from '../containers/store.js';
import { readJson } from '../store/json-file.js';
import type { InterfaceSpec } from '../native/protocol.js';
import type { DataLayout } from '../store/layout.js';
import { runToolChecked } from './command.js';
import { containerFiles } from './container-files.js';
import { hostResolvers } from './dns/resolv-conf.js';
import { formatCidr, overlaps, parseCidr, planPool, prefixLength, subnetsInUse, type Cidr, type PoolConfig, type PoolRequest } from './ipam.js';
import { createBridge, deleteLinks } from './links.js';
import { applyTable, deleteTable, enableForwarding, renderTable, type NatRules } from './nft.js';
import { defaultBridgeOptions, PREDEFINED_NAMES, resourceView, type PredefinedNetwork } from './resource.js';
import { NetworkStore, type NetworkRecord } from './store.js';
import { attachmentFor, endpointSettings, Endpoints, planAttachments } from './endpoints.js';
import { ContainerPorts, validatePorts } from './container-ports.js';

/** The containers as the network service sees them (bound late: containers need networks too). */
export interface NetworkContainers {
  find(ref: string): ContainerRecord | undefined;
  all(): ContainerRecord[];
  save(c: ContainerRecord): Promise<void>;
  /** Rewrites a container's /etc/hosts and resolv.conf after its endpoints changed. */
  refreshFiles(c: ContainerRecord): Promise<void>;
}

/** The DNS module's entry point (`network/dns/`), passed in when it exists. */
export type DnsStarter = (opts: {
  address: string;
  port?: number;
  lookup(name: string): string[] | undefined;
  upstream: string[];
  /** A client's own upstreams (its container's `--dns`), by its address; undefined → `upstream`. */
  upstreamFor?(clientAddress: string): readonly string[] | undefined;
}) => Promise<{ close(): Promise<void> }>;

export interface NetworkServiceDeps {
  readonly layout: DataLayout;
  readonly events: EventBus;
  readonly containers: NetworkContainers;
  /** Name resolution on user networks; absent → containers use the host's resolvers. */
  readonly dns?: DnsStarter;
  /** berthd `--bip` (checked by config.ts): the default bridge's gateway/prefix; absent → a free default pool. */
  readonly bip?: string;
}

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: PoolRequest[] | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const DEFAULT_BRIDGE = 'berth0';
const DEFAULT_SUBNET: Cidr = parseCidr('172.17.0.0/16');
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

const predefinedId = (name: string): string => createHash('sha256').update(`berth-network-${name}`).digest('hex');

/**
 * Networks: the default `bridge`, user-defined bridge networks, and the fixed `host` and
 * `none`. Owns the bridges, veth pairs, IPAM and the `inet berth` nftables table; berthd
 * start rebuilds them from state, berthd stop removes them all.
 */
export class NetworkService implements ContainerNetworking {
  private readonly store: NetworkStore;
  private readonly predefined: PredefinedNetwork[];
  private readonly dnsServers = new Map<string, { close(): Promise<void> }>();
  private hostResolvConf = '';
  private readonly ports = new ContainerPorts();
  private rulesQueue: Promise<void> = Promise.resolve();
  private readonly endpoints: Endpoints;

  constructor(private readonly deps: NetworkServiceDeps) {
    this.store = new NetworkStore(deps.layout.networksDir);
    this.endpoints = new Endpoints(this.store, deps.events);
    const created = new Date().toISOString();
    this.predefined = [
      { Name: 'host', Id: predefinedId('host'), Created: created, Driver: 'host' },
      { Name: 'none', Id: predefinedId('none'), Created: created, Driver: 'null' },
    ];
  }

  /** Loads the networks, drops endpoints of the previous run and rebuilds links and rules. */
  async init(): Promise<void> {
    await mkdir(this.deps.layout.networksDir, { recursive: true, mode: 0o700 });
    this.hostResolvConf = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    const networks = await this.store.load();
    // Whatever a crash left: bridges and host-side veths of the stored networks.
    await deleteLinks(networks.flatMap((n) => [n.Bridge, ...Object.values(n.Endpoints).map((e) => e.HostInterface)]));
    for (const n of networks) {
      if (Object.keys(n.Endpoints).length > 0) {
        n.Endpoints = {};
        await this.store.save(n);
      }
    }
    await this.reconcileDefaultBridge();
    if (!this.store.find('bridge')) {
      const taken = await this.hostSubnets();
      const pool = this.deps.bip ? this.bipPool(this.deps.bip, taken) : planPool({}, taken, DEFAULT_SUBNET);
      await this.store.save({
        Name: 'bridge', Id: randomBytes(32).toString('hex'), Created: new Date().toISOString(), Driver: 'bridge', Internal: false, Attachable: false,
        Pool: pool, Options: defaultBridgeOptions(DEFAULT_BRIDGE), Labels: {}, Bridge: DEFAULT_BRIDGE, Endpoints: {},
      });
    }
    await enableForwarding();
    for (const n of this.store.all()) await this.bringUp(n);
    await this.syncRules();
  }

  /** berthd stop (after every container stopped): links, DNS servers and the table go. */
  async shutdown(): Promise<void> {
    await this.ports.closeAll().catch((err: unknown) => log.warn('network.shutdown-ports-failed', { error: messageOf(err) }));
    await Promise.all([...this.dnsServers.values()].map((s) => s.close().catch(() => undefined)));
    this.dnsServers.clear();
    const all = this.store.all();
    await deleteLinks(all.flatMap((n) => [...Object.values(n.Endpoints).map((e) => e.HostInterface), n.Bridge])).catch((err: unknown) => log.warn('network.shutdown-links-failed', { error: messageOf(err) }));
    await deleteTable().catch((err: unknown) => log.warn('network.shutdown-table-failed', { error: messageOf(err) }));
  }

  /** `--bip` as a pool (subnet + gateway), refused when it overlaps a subnet already in use. */
  private bipPool(bip: string, hostTaken: readonly Cidr[]): PoolConfig {
    const [gateway = '', prefix = ''] = bip.split('/');
    const subnet = parseCidr(`${gateway}/${prefix}`, 'bip', false);
    const others = this.store.all().filter((n) => n.Name !== 'bridge');
    const clash = others.find((n) => overlaps(parseCidr(n.Pool.Subnet), subnet));
    if (clash) throw conflict(`--bip ${bip}: subnet ${formatCidr(subnet)} overlaps network ${clash.Name} (${clash.Pool.Subnet})`);
    const host = hostTaken.find((t) => overlaps(t, subnet));
    if (host) throw conflict(`--bip ${bip}: subnet ${formatCidr(subnet)} overlaps ${formatCidr(host)}, already in use in berthd's network namespace`);
    return { Subnet: formatCidr(subnet), Gateway: gateway };
  }

  /**
   * A stored default network whose subnet or gateway differs from `--bip`: dropped (and made
   * anew by init) when no container record refers to it, else kept with a warning.
   */
  private async reconcileDefaultBridge(): Promise<void> {
    const bip = this.deps.bip;
    const current = this.store.find('bridge');
    if (!bip || !current) return;
    const [gateway = '', prefix = ''] = bip.split('/');
    const subnet = formatCidr(parseCidr(`${gateway}/${prefix}`, 'bip', false));
    if (current.Pool.Subnet === subnet && current.Pool.Gateway === gateway) return;
    const users = await this.recordedUsers(current.Id);
    if (users.length > 0) {
      log.warn('network.bip-ignored', { bip, subnet: current.Pool.Subnet, gateway: current.Pool.Gateway, reason: `the default bridge network is used by ${users.length} container(s); remove them to apply --bip`, containers: users.map((id) => id.slice(0, 12)).join(',') });
      return;
    }
    await this.store.remove(current.Id);
    log.info('network.bip-applied', { bip, previous: current.Pool.Subnet });
  }

  /**
   * IDs of the containers whose records name network `id` (read from disk: the container
   * service loads its records after the networks are up).
   */
  private async recordedUsers(id: string): Promise<string[]> {
    const dir = this.deps.layout.containersDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const rec = await readJson<Pick<ContainerRecord, 'NetworkAttachments'>>(join(dir, name, CONTAINER_RECORD)).catch(() => undefined);
      if (rec?.NetworkAttachments?.some((a) => a.NetworkID === id)) out.push(name);
    }
    return out;
  }

  private async hostSubnets(): Promise<Cidr[]> {
    const [routes, addrs] = await Promise.all([
      runToolChecked('list routes', 'ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
      runToolChecked('list addresses', 'ip', ['-j', '-4', 'addr', 'show']),
    ]);
    return subnetsInUse(routes, addrs);
  }

  private async bringUp(n: NetworkRecord): Promise<void> {
    await createBridge({ name: n.Bridge, address: `${n.Pool.Gateway}/${prefixLength(n.Pool)}` });
    if (this.deps.dns && n.Name !== 'bridge') {
      const server = await this.deps.dns({
        address: n.Pool.Gateway,
        lookup: (name) => this.lookup(n.Id, name),
        upstream: hostResolvers(this.hostResolvConf),
        upstreamFor: (client) => this.upstreamFor(n.Id, client),
      });
      this.dnsServers.set(n.Id, server);
    }
  }

  /**
   * Regenerates the whole table from state, atomically. Call after any network change. One
   * at a time, each rendering the state of its own turn: a late one never restores old rules.
   */
  syncRules(): Promise<void> {
    const run = this.rulesQueue.catch(() => undefined).then(async () => {
      const nets = this.store.all().map((n) => ({ bridge: n.Bridge, subnet: n.Pool.Subnet, internal: n.Internal }));
      const nat: NatRules = this.ports.natRules();
      await applyTable(renderTable(nets, nat));
    });
    this.rulesQueue = run;
    return run;
  }

  /** DNS: container names, short IDs and aliases on one network → their addresses. */
  lookup(networkId: string, rawName: string): string[] | undefined {
    const n = this.store.find(networkId);
    if (!n) return undefined;
    const name = rawName.replace(/\.$/, '').toLowerCase();
    const found = Object.values(n.Endpoints).filter((e) => e.Name.toLowerCase() === name || e.ContainerID.slice(0, 12) === name || e.Aliases.some((a) => a.toLowerCase() === name));
    return found.length > 0 ? found.map((e) => e.IPv4Address) : undefined;
  }

  /**
   * DNS: where to forward the non-local queries of the container at `clientAddress` on one
   * network — its `--dns` servers, if it has any; undefined → the host's resolvers.
   */
  upstreamFor(networkId: string, clientAddress: string): readonly string[] | undefined {
    const n = this.store.find(networkId);
    const address = clientAddress.replace(/^::ffff:/, '');
    const ep = n && Object.values(n.Endpoints).find((e) => e.IPv4Address === address);
    if (!ep) return undefined;
    const dns = this.deps.containers.find(ep.ContainerID)?.HostConfig.Dns;
    return dns && dns.length > 0 ? dns : undefined;
  }

  // ---- the API ----

  list(): Record<string, unknown>[] {
    const containers = this.deps.containers.all();
    return [...this.store.all(), ...this.predefined].map((n) => resourceView(n, containers));
  }

  records(): readonly (NetworkRecord | PredefinedNetwork)[] {
    return [...this.store.all(), ...this.predefined];
  }

  private findAny(ref: string): NetworkRecord | PredefinedNetwork | undefined {
    return this.store.find(ref) ?? this.predefined.find((p) => p.Name === ref || p.Id === ref || (ref.length > 0 && p.Id.startsWith(ref)));
  }

  private getRecord(ref: string): NetworkRecord {
    const n = this.store.find(ref);
    if (!n) {
      if (this.findAny(ref)) throw forbidden(`operation not supported for the ${ref} network`);
      throw notFound(`network ${ref} not found`);
    }
    return n;
  }

  inspect(ref: string): Record<string, unknown> {
    const n = this.findAny(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return resourceView(n, this.deps.containers.all());
  }

  async create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name ?? '';
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalid(`invalid network name "${name}": it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
    if (this.findAny(name)?.Name === name) throw conflict(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (driver !== 'bridge') throw invalid(`the ${driver} driver is not supported by berthd: only bridge networks can be created`);
    if (req.EnableIPv6) throw invalid('IPv6 networks are not supported by berthd yet');
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw invalid(`IPAM driver ${req.IPAM.Driver} is not supported: only default`);
    const configs = req.IPAM?.Config ?? [];
    if (configs.length > 1) throw invalid('only one IPv4 subnet per network is supported by berthd');
    const options = { ...(req.Options ?? {}) };
    const id = randomBytes(32).toString('hex');
    const bridge = options[BRIDGE_NAME_OPTION] || `br-${id.slice(0, 12)}`;
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw invalid(`invalid bridge name ${bridge}: at most 15 letters, digits, '_', '.', '-'`);
    if (this.store.all().some((n) => n.Bridge === bridge)) throw conflict(`bridge name ${bridge} is already used by another network`);
    const taken = [...(await this.hostSubnets()), ...this.store.all().map((n) => parseCidr(n.Pool.Subnet))];
    const pool = planPool(configs[0] ?? {}, taken);
    const rec: NetworkRecord = {
      Name: name, Id: id, Created: new Date().toISOString(), Driver: 'bridge', Internal: req.Internal === true, Attachable: req.Attachable === true,
      Pool: pool, Options: options, Labels: { ...(req.Labels ?? {}) }, Bridge: bridge, Endpoints: {},
    };
    await this.bringUp(rec);
    try {
      await this.store.save(rec);
      await this.syncRules();
    } catch (err) {
      await this.store.remove(id).catch(() => undefined);
      await this.dnsServers.get(id)?.close().catch(() => undefined);
      this.dnsServers.delete(id);
      await deleteLinks([bridge]).catch(() => undefined);
      throw err;
    }
    this.deps.events.emit('network', 'create', id, { name, type: 'bridge' });
    log.info('network.create', { id: id.slice(0, 12), name, subnet: pool.Subnet, bridge });
    return { Id: id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    const any = this.findAny(ref);
    if (!any) throw notFound(`network ${ref} not found`);
    if (PREDEFINED_NAMES.includes(any.Name)) throw forbidden(`${any.Name} is a pre-defined network and cannot be removed`);
    const n = any as NetworkRecord;
    if (Object.keys(n.Endpoints).length > 0) throw conflict(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    await this.store.remove(n.Id);
    await this.dnsServers.get(n.Id)?.close().catch(() => undefined);
    this.dnsServers.delete(n.Id);
    await deleteLinks([n.Bridge]);
    await this.syncRules();
    this.deps.events.emit('network', 'destroy', n.Id, { name: n.Name, type: 'bridge' });
    log.info('network.remove', { id: n.Id.slice(0, 12), name: n.Name });
  }

  /** Removes every user network without endpoints that `matches`; returns their names. */
  async prune(matches: (n: NetworkRecord) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.store.all()) {
      if (n.Name === 'bridge' || Object.keys(n.Endpoints).length > 0 || !matches(n)) continue;
      await this.remove(n.Id);
      removed.push(n.Name);
    }
    return removed;
  }

  /** `docker network connect`: records the attachment; wires it now if the container runs. */
  async connect(ref: string, containerRef: string, config: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } = {}): Promise<void> {
    const n = this.getRecord(ref);
    const c = this.deps.containers.find(containerRef);
    if (!c) throw notFound(`No such container: ${containerRef}`);
    const mode = c.HostConfig.NetworkMode ?? 'bridge';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      throw invalid(`container sharing network namespace with another container or host cannot be connected to any other network`);
    }
    const attachments = c.NetworkAttachments ?? [];
    if (attachments.some((a) => a.NetworkID === n.Id)) throw forbidden(`endpoint with name ${c.Name} already exists in network ${n.Name}`);
    const attachment = attachmentFor(n, config.Aliases ?? [], config.IPAMConfig?.IPv4Address ?? '');
    if (c.State.Running && c.State.Pid > 0) await this.endpoints.connect(n, c, c.State.Pid, attachment, false);
    c.NetworkAttachments = [...attachments, attachment];
    await this.deps.containers.save(c);
    if (c.State.Running) await this.deps.containers.refreshFiles(c);
  }

  async disconnect(ref: string, containerRef: string, force: boolean): Promise<void> {
    const n = this.getRecord(ref);
    const c = this.deps.containers.find(containerRef);
    if (!c) {
      if (!force) throw notFound(`No such container: ${containerRef}`);
      return;
    }
    const attachments = c.NetworkAttachments ?? [];
    if (!attachments.some((a) => a.NetworkID === n.Id)) throw forbidden(`container ${c.Id} is not connected to network ${n.Name}`);
    await this.endpoints.disconnect(n, c);
    c.NetworkAttachments = attachments.filter((a) => a.NetworkID !== n.Id);
    await this.deps.containers.save(c);
    if (c.State.Running) await this.deps.containers.refreshFiles(c);
  }

  // ---- ContainerNetworking (the endpoint work itself: endpoints.ts) ----

  plan(networkMode: string, networkingConfig: unknown): { networkMode: string; attachments: NetworkAttachment[] } {
    return planAttachments(this.store, networkMode, networkingConfig);
  }

  prepare(c: ContainerRecord): InterfaceSpec[] {
    const out: InterfaceSpec[] = [];
    const reserved: NetworkRecord[] = [];
    try {
      for (const [i, a] of (c.NetworkAttachments ?? []).entries()) {
        const n = this.store.find(a.NetworkID);
        if (!n) throw notFound(`network ${a.NetworkID} not found`);
        out.push(this.endpoints.reserve(n, c, a, i === 0));
        reserved.push(n);
      }
    } catch (err) {
      for (const n of reserved) delete n.Endpoints[c.Id];
      throw err;
    }
    return out;
  }

  async attach(c: ContainerRecord, pid: number): Promise<void> {
    const done: NetworkRecord[] = [];
    try {
      const reserved: NetworkRecord[] = [];
      for (const [i, a] of (c.NetworkAttachments ?? []).entries()) {
        const n = this.store.find(a.NetworkID);
        if (!n) throw notFound(`network ${a.NetworkID} not found`);
        if (this.endpoints.reserved(n, c)) {
          reserved.push(n);
        } else {
          // Not prepared (an attachment added since): wired and configured from here.
          await this.endpoints.connect(n, c, pid, a, i === 0);
          done.push(n);
        }
      }
      done.push(...reserved);
      await this.endpoints.plug(c, pid, reserved);
      // Ports go to the first network's address (a port taken fails the start, all undone).
      const firstId = c.NetworkAttachments?.[0]?.NetworkID;
      const first = firstId ? this.store.find(firstId) : undefined;
      const ep = first?.Endpoints[c.Id];
      if (first && ep && (await this.ports.publish(c, { containerIp: ep.IPv4Address, bridge: first.Bridge }))) await this.syncRules();
    } catch (err) {
      await this.ports.unpublish(c.Id).catch(() => undefined);
      for (const n of done) await this.endpoints.disconnect(n, c).catch(() => undefined);
      throw err;
    }
  }

  async detach(c: ContainerRecord): Promise<void> {
    if (await this.ports.unpublish(c.Id)) await this.syncRules();
    for (const n of this.store.all()) if (n.Endpoints[c.Id]) await this.endpoints.disconnect(n, c);
  }

  release(c: ContainerRecord): Promise<void> {
    return this.detach(c);
  }

  validatePorts(c: Pick<ContainerRecord, 'Config' | 'HostConfig'>): void {
    validatePorts(c);
  }

  portMap(c: ContainerRecord): Record<string, unknown> {
    return this.ports.portMap(c);
  }

  psPorts(c: ContainerRecord): unknown[] {
    return this.ports.psPorts(c);
  }

  settings(c: ContainerRecord): Record<string, EndpointSettings> {
    return endpointSettings(this.store, c, (mode) => this.findAny(mode)?.Id ?? '');
  }

  async files(c: ContainerRecord): Promise<ContainerFiles> {
    const live = (c.NetworkAttachments ?? []).map((a) => this.store.find(a.NetworkID)).filter((n): n is NetworkRecord => n !== undefined);
    const first = live[0];
    const addresses = live.map((n) => n.Endpoints[c.Id]?.IPv4Address).filter((x): x is string => x !== undefined);
    const dns = first && this.dnsServers.has(first.Id) ? first.Pool.Gateway : undefined;
    return containerFiles({ container: c, addresses, gateway: first?.Pool.Gateway, dnsServer: dns, hostResolvConf: this.hostResolvConf });
  }
}
