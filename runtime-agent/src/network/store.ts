import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import type { PoolConfig } from './ipam.js';

/**
 * The networks berthd made, one JSON file each under `<data-root>/networks/<id>.json`.
 * `host` and `none` are not stored: they are fixed and synthesized by the service.
 *
 * A NetworkRecord is the network's definition plus its live endpoints (one per running,
 * attached container): the endpoints are the IPAM's allocated addresses.
 */
export interface EndpointRecord {
  readonly ContainerID: string;
  Name: string;
  readonly EndpointID: string;
  readonly IPv4Address: string;
  readonly MacAddress: string;
  readonly Aliases: string[];
  /** The host side of the veth pair (`veth<7 hex>`). */
  readonly HostInterface: string;
  /** The interface name inside the container (`eth0`, `eth1`...). */
  readonly Interface: string;
}

export interface NetworkRecord {
  readonly Name: string;
  readonly Id: string;
  readonly Created: string;
  readonly Driver: 'bridge';
  readonly Internal: boolean;
  readonly Attachable: boolean;
  readonly Pool: PoolConfig;
  readonly Options: Record<string, string>;
  readonly Labels: Record<string, string>;
  /** The Linux bridge: `berth0` for the default network, `br-<12 hex>` or `-o com.docker.network.bridge.name`. */
  readonly Bridge: string;
  /** Container ID → its endpoint while attached. */
  Endpoints: Record<string, EndpointRecord>;
}

export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();

  constructor(private readonly dir: string) {}

  async load(): Promise<NetworkRecord[]> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    for (const name of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n))) {
      const rec = await readJson<NetworkRecord>(join(this.dir, name));
      if (rec) this.byId.set(rec.Id, rec);
    }
    return this.all();
  }

  all(): NetworkRecord[] {
    return [...this.byId.values()].sort((a, b) => a.Created.localeCompare(b.Created));
  }

  /** By full ID, exact name, or unique ID prefix (Docker's order). */
  find(ref: string): NetworkRecord | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const named = this.all().find((n) => n.Name === ref);
    if (named) return named;
    if (ref.length === 0) return undefined;
    const prefixed = this.all().filter((n) => n.Id.startsWith(ref));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  async save(rec: NetworkRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir, `${rec.Id}.json`), rec);
    this.byId.set(rec.Id, rec);
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
    this.byId.delete(id);
  }
}
