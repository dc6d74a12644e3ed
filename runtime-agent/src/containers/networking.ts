import type { InterfaceSpec } from '../native/protocol.js';
import type { ContainerRecord } from './model.js';

/**
 * What the container verbs need from networking (implemented by `network/service.ts`):
 *
 *   create  plan()      checks NetworkMode + NetworkingConfig, returns the networks to record
 *   start   prepare()   before the process spec: addresses claimed, the interfaces the init
 *                       configures itself (ProcessSpec.interfaces)
 *           attach()    with the init's host PID, before `go`: veth pairs into its namespace
 *           files()     the lines berthd writes into the container's /etc/hosts and resolv.conf
 *   exit    detach()    endpoints and their addresses released (the kernel took the veths)
 *   rm      release()   anything still held
 *   inspect settings()  NetworkSettings.Networks, keyed by network name; portMap() its Ports
 *   attach also publishes ports (proxy + DNAT); detach unpublishes them
 */
export interface NetworkAttachment {
  readonly NetworkID: string;
  readonly Aliases: string[];
  /** `--ip` / IPAMConfig.IPv4Address; empty for "any". */
  readonly IPv4Address: string;
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address: string } | null;
  Links: null;
  Aliases: string[] | null;
  MacAddress: string;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DriverOpts: null;
  DNSNames: string[] | null;
}

export interface ContainerFiles {
  /** `ip name...` lines for /etc/hosts (own addresses, --add-host, host.docker.internal). */
  readonly hosts: readonly string[];
  /** The whole resolv.conf. */
  readonly resolvConf: string;
}

export interface ContainerNetworking {
  plan(networkMode: string, networkingConfig: unknown): { networkMode: string; attachments: NetworkAttachment[] };
  /** Claims `c`'s endpoints; what its init configures (undone by detach()). */
  prepare(c: ContainerRecord): InterfaceSpec[];
  attach(c: ContainerRecord, pid: number): Promise<void>;
  detach(c: ContainerRecord): Promise<void>;
  release(c: ContainerRecord): Promise<void>;
  settings(c: ContainerRecord): Record<string, EndpointSettings>;
  files(c: ContainerRecord): Promise<ContainerFiles>;
  /** create: Docker's 400 for malformed PortBindings / ExposedPorts. */
  validatePorts(c: Pick<ContainerRecord, 'Config' | 'HostConfig'>): void;
  /** NetworkSettings.Ports (inspect, `docker port`). */
  portMap(c: ContainerRecord): Record<string, unknown>;
  /** The Ports column of the container list. */
  psPorts(c: ContainerRecord): unknown[];
}
