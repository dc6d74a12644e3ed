import { BerthError, conflict, messageOf } from '../../errors.js';
import { log } from '../../log.js';
import { PortAllocator, ephemeralPortRange } from './allocator.js';
import type { PortBindingSpec, PublishedPort } from './bindings.js';
import { startPortProxy, type PortProxy } from './proxy.js';

export { parsePortBindings, containerPorts, type PortBindingSpec, type PublishedPort, type PortProto, type PortConfigInput } from './bindings.js';
export { dnatRules, type DnatRules, type DnatTarget } from './dnat.js';
export { portMapView, psPortsView, type PortMapView, type PsPortView } from './inspect.js';
export { PortAllocator } from './allocator.js';
export { startPortProxy, type PortProxy, type PortProxyOptions } from './proxy.js';

/**
 * Published ports of running containers: a host port per binding (allocator.ts), held by a
 * userland proxy listening on it (proxy.ts) that relays to the container's address. The DNAT
 * rules for the same ports come from dnatRules(published(id), ...), applied by the network
 * core with the rest of the nftables table.
 *
 * Lifecycle, per container: publish() when its network is wired (start), unpublish() when it
 * stops; closeAll() when berthd shuts down. publish() is all or nothing: if any binding
 * fails, everything it had opened is closed and released before it rejects. Operations on
 * one container run one at a time.
 */
export interface PortPublisherOptions {
  /** Random host ports come from here (default: the kernel's ephemeral range). */
  readonly ephemeralRange?: readonly [number, number];
  readonly maxConnections?: number;
  readonly maxUdpFlows?: number;
  readonly udpIdleTimeoutMs?: number;
}

/** Names Docker's error prefix: `driver failed programming external connectivity on endpoint NAME (ID): `. */
export interface EndpointLabel {
  readonly name: string;
  readonly id: string;
}

interface Publication {
  readonly ports: PublishedPort[];
  readonly proxies: PortProxy[];
}

export class PortPublisher {
  readonly allocator: PortAllocator;
  private readonly options: PortPublisherOptions;
  private readonly publications = new Map<string, Publication>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(options: PortPublisherOptions = {}) {
    this.options = options;
    this.allocator = new PortAllocator(options.ephemeralRange ?? ephemeralPortRange());
  }

  /**
   * Allocates a host port for every binding and starts its proxy to targetIp. Rejects with
   * BerthError 'conflict' (409) `driver failed programming external connectivity on endpoint
   * NAME (ID): Bind for 0.0.0.0:8080 failed: port is already allocated` when a port is taken.
   */
  publish(containerId: string, bindings: readonly PortBindingSpec[], targetIp: string, endpoint?: EndpointLabel): Promise<PublishedPort[]> {
    return this.serialize(containerId, async () => {
      if (this.closed) throw new BerthError('unavailable', 'berthd is shutting down');
      if (this.publications.has(containerId)) throw conflict(`ports of container ${containerId} are already published`);
      const publication: Publication = { ports: [], proxies: [] };
      try {
        for (const b of bindings) {
          const lease = await this.allocator.allocate(b, (port) =>
            startPortProxy({
              proto: b.proto,
              hostIp: b.hostIp,
              hostPort: port,
              targetIp,
              targetPort: b.containerPort,
              ...this.proxyLimits(),
            }),
          );
          publication.proxies.push(lease.value);
          publication.ports.push({ proto: b.proto, containerPort: b.containerPort, hostIp: b.hostIp, hostPort: lease.port });
          if (this.closed) throw new BerthError('unavailable', 'berthd is shutting down');
        }
      } catch (err) {
        await this.tearDown(publication);
        const label = endpoint ?? { name: containerId.slice(0, 12), id: containerId };
        const message = `driver failed programming external connectivity on endpoint ${label.name} (${label.id}): ${messageOf(err)}`;
        throw err instanceof BerthError ? new BerthError(err.code, message, { cause: err }) : new BerthError('system', message, { cause: err });
      }
      this.publications.set(containerId, publication);
      log.info('ports.published', { container: containerId.slice(0, 12), ports: publication.ports.map(describe).join(',') });
      return [...publication.ports];
    });
  }

  /** Closes the container's proxies and frees its host ports. Nothing published is fine. */
  unpublish(containerId: string): Promise<void> {
    return this.serialize(containerId, async () => {
      const publication = this.publications.get(containerId);
      if (!publication) return;
      this.publications.delete(containerId);
      await this.tearDown(publication);
    });
  }

  /** What the container has published now (empty when nothing): for inspect, ps and DNAT. */
  published(containerId: string): PublishedPort[] {
    return [...(this.publications.get(containerId)?.ports ?? [])];
  }

  /** Shutdown: unpublishes everything; later publish() calls are refused. */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)));
    await Promise.all([...this.publications.keys()].map((id) => this.unpublish(id)));
  }

  private proxyLimits(): Pick<PortPublisherOptions, 'maxConnections' | 'maxUdpFlows' | 'udpIdleTimeoutMs'> {
    const { maxConnections, maxUdpFlows, udpIdleTimeoutMs } = this.options;
    return { maxConnections, maxUdpFlows, udpIdleTimeoutMs };
  }

  private async tearDown(publication: Publication): Promise<void> {
    await Promise.all(publication.proxies.map((p) => p.close()));
    for (const p of publication.ports) this.allocator.release(p.proto, p.hostIp, p.hostPort);
  }

  private serialize<T>(containerId: string, op: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(containerId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(op);
    this.queues.set(containerId, run);
    const forget = (): void => {
      if (this.queues.get(containerId) === run) this.queues.delete(containerId);
    };
    run.then(forget, forget);
    return run;
  }
}

const describe = (p: PublishedPort): string => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`;
