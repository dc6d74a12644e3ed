import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { log } from '../../log.js';
import type { PortProxy, PortProxyOptions } from './proxy.js';

export const DEFAULT_MAX_UDP_FLOWS = 1024;
/** docker-proxy's UDPConnTrackTimeout. */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 90_000;

interface Flow {
  readonly upstream: Socket;
  readonly timer: NodeJS.Timeout;
}

/** The UDP half of the userland proxy (see proxy.ts for the contract). */
export function startUdpProxy(options: PortProxyOptions): Promise<PortProxy> {
  const maxFlows = options.maxUdpFlows ?? DEFAULT_MAX_UDP_FLOWS;
  const idleMs = options.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS;
  const flows = new Map<string, Flow>();
  const downstream = createSocket('udp4');

  const drop = (key: string): void => {
    const flow = flows.get(key);
    if (!flow) return;
    flows.delete(key);
    clearTimeout(flow.timer);
    flow.upstream.close();
  };

  const open = (key: string, client: RemoteInfo): Flow => {
    const upstream = createSocket('udp4');
    const timer = setTimeout(() => drop(key), idleMs);
    const flow: Flow = { upstream, timer };
    upstream.on('message', (msg, from) => {
      if (from.address !== options.targetIp || from.port !== options.targetPort) return;
      timer.refresh();
      downstream.send(msg, client.port, client.address, () => undefined);
    });
    upstream.on('error', () => drop(key));
    flows.set(key, flow);
    return flow;
  };

  downstream.on('message', (msg, client) => {
    const key = `${client.address}:${client.port}`;
    let flow = flows.get(key);
    if (!flow) {
      if (flows.size >= maxFlows) return; // bounded: a new client waits until a flow idles out
      flow = open(key, client);
    } else {
      flow.timer.refresh();
    }
    flow.upstream.send(msg, options.targetPort, options.targetIp, () => undefined);
  });

  return new Promise<PortProxy>((resolve, reject) => {
    downstream.once('error', (err) => {
      try {
        downstream.close();
      } catch {
        // never bound
      }
      reject(err);
    });
    downstream.bind(options.hostPort, options.hostIp, () => {
      downstream.removeAllListeners('error');
      downstream.on('error', (err) => log.warn('ports.proxy.error', { proto: 'udp', port: options.hostPort, error: err.message }));
      const port = downstream.address().port;
      let closing: Promise<void> | undefined;
      resolve({
        proto: 'udp',
        hostIp: options.hostIp,
        port,
        get active() {
          return flows.size;
        },
        close() {
          closing ??= new Promise<void>((done) => {
            for (const key of [...flows.keys()]) drop(key);
            downstream.close(() => done());
          });
          return closing;
        },
      });
    });
  });
}
