import type { ContainerRecord } from '../containers/model.js';
import type { NatRules } from './nft.js';
import { dnatRules, parsePortBindings, portMapView, psPortsView, PortPublisher, type DnatTarget, type PortConfigInput } from './ports/index.js';

/**
 * Published ports of running containers, tied to their endpoints: the ports module's
 * publisher (host ports + userland proxies) plus, per container, where its DNAT goes (its
 * first network's address and bridge). The network service calls publish() once the
 * endpoints exist and unpublish() at detach, then regenerates the table with natRules().
 */
export function portConfig(c: ContainerRecord): PortConfigInput {
  return { exposedPorts: c.Config.ExposedPorts ?? null, portBindings: c.HostConfig.PortBindings ?? null, publishAllPorts: c.HostConfig.PublishAllPorts ?? null };
}

/** create: refuses malformed PortBindings / ExposedPorts with Docker's 400. */
export function validatePorts(c: Pick<ContainerRecord, 'Config' | 'HostConfig'>): void {
  parsePortBindings(portConfig(c as ContainerRecord));
}

export class ContainerPorts {
  private readonly publisher = new PortPublisher();
  private readonly targets = new Map<string, DnatTarget>();

  /** Publishes every binding of `c` to `target`; all or nothing. True when it published any. */
  async publish(c: ContainerRecord, target: DnatTarget): Promise<boolean> {
    const bindings = parsePortBindings(portConfig(c));
    if (bindings.length === 0) return false;
    await this.publisher.publish(c.Id, bindings, target.containerIp, { name: c.Name, id: c.Id });
    this.targets.set(c.Id, target);
    return true;
  }

  /** True when it had published anything. */
  async unpublish(containerId: string): Promise<boolean> {
    const had = this.targets.delete(containerId);
    await this.publisher.unpublish(containerId);
    return had;
  }

  natRules(): NatRules & { forward: string[] } {
    const out = { prerouting: [] as string[], output: [] as string[], forward: [] as string[] };
    for (const [id, target] of this.targets) {
      const r = dnatRules(this.publisher.published(id), target);
      out.prerouting.push(...r.prerouting);
      out.output.push(...r.output);
      out.forward.push(...r.forward);
    }
    return out;
  }

  /** NetworkSettings.Ports. */
  portMap(c: ContainerRecord): Record<string, unknown> {
    return portMapView(portConfig(c), this.publisher.published(c.Id), c.State.Running);
  }

  /** The Ports column of `GET /containers/json`. */
  psPorts(c: ContainerRecord): unknown[] {
    return psPortsView(portConfig(c), this.publisher.published(c.Id), c.State.Running);
  }

  closeAll(): Promise<void> {
    return this.publisher.closeAll();
  }
}
