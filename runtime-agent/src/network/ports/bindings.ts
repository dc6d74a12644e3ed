import { isIPv4, isIPv6 } from 'node:net';
import { invalid } from '../../errors.js';

/**
 * A container's published ports, normalized from Docker's JSON.
 *
 * Input (as the docker CLI sends it; go-connections `nat.ParsePortSpecs` already expands
 * `-p 8000-8002:80-82` into one key per container port, and keeps a host range only when a
 * single container port is published into it, `-p 8000-8010:80`):
 *
 *   Config.ExposedPorts        {"80/tcp": {}, "53/udp": {}}
 *   HostConfig.PortBindings    {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
 *                               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
 *   HostConfig.PublishAllPorts true (-P): every exposed port without a binding gets a random one
 *
 * Output: one PortBindingSpec per host socket to open, sorted by container port then protocol
 * (bindings of one port keep their order):
 *
 *   {proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080, hostPortEnd: 8080}
 *   {proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 0, hostPortEnd: 0}  (0 = pick)
 *   `"HostPort": "8000-8010"` → hostPort 8000, hostPortEnd 8010: the first free port of the range.
 *
 * Errors are BerthError 'invalid-parameter' (400) with Docker's messages
 * (`invalid port specification: "x"`, `invalid IP address: x`, `invalid proto: x`).
 */
export type PortProto = 'tcp' | 'udp';

export interface PortBindingSpec {
  readonly proto: PortProto;
  readonly containerPort: number;
  /** IPv4 address to listen on; '0.0.0.0' (all addresses) when the request left it empty. */
  readonly hostIp: string;
  /** First acceptable host port; 0 = any port from the ephemeral range. */
  readonly hostPort: number;
  /** Last acceptable host port (== hostPort for one port; 0 when hostPort is 0). */
  readonly hostPortEnd: number;
}

/** A binding once published: the host port actually bound (never 0). */
export interface PublishedPort {
  readonly proto: PortProto;
  readonly containerPort: number;
  readonly hostIp: string;
  readonly hostPort: number;
}

/** A container port: the key of ExposedPorts / PortBindings / NetworkSettings.Ports. */
export interface ContainerPort {
  readonly proto: PortProto;
  readonly port: number;
}

/** Docker's JSON, as far as this module reads it (values come straight from a request). */
export interface PortConfigInput {
  readonly exposedPorts?: Readonly<Record<string, unknown>> | null;
  readonly portBindings?: Readonly<Record<string, unknown>> | null;
  readonly publishAllPorts?: boolean | null;
}

export const ANY_IPV4 = '0.0.0.0';

const specError = (text: string): Error => invalid(`invalid port specification: ${JSON.stringify(text)}`);

/** A port number as Go's strconv.ParseUint(s, 10, 16) reads it; undefined if it is not one. */
function portNumber(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** `8080` or `8000-8010` → [start, end]; undefined if malformed or start > end. */
export function parsePortRange(text: string): [number, number] | undefined {
  const dash = text.indexOf('-');
  const start = portNumber(dash < 0 ? text : text.slice(0, dash));
  const end = dash < 0 ? start : portNumber(text.slice(dash + 1));
  if (start === undefined || end === undefined || start > end) return undefined;
  return [start, end];
}

function protoOf(text: string, key: string): PortProto {
  const proto = text.toLowerCase();
  if (proto === 'tcp' || proto === 'udp') return proto;
  if (proto === 'sctp') throw invalid(`sctp ports are not supported by berthd: ${key}`);
  throw invalid(`invalid proto: ${text}`);
}

/**
 * `80/tcp`, `80` (tcp) or, when `allowRange`, `80-82/udp` → the container ports it names.
 * PortBindings keys must be single ports (as the daemon's validatePortBindings requires);
 * ExposedPorts keys may be ranges (expanded).
 */
export function parseContainerPortKey(key: string, allowRange: boolean): ContainerPort[] {
  const slash = key.indexOf('/');
  const portText = slash < 0 ? key : key.slice(0, slash);
  const proto = protoOf(slash < 0 || slash === key.length - 1 ? 'tcp' : key.slice(slash + 1), key);
  const range = parsePortRange(portText);
  if (range === undefined || range[0] === 0 || (!allowRange && range[0] !== range[1])) throw specError(portText);
  const ports: ContainerPort[] = [];
  for (let p = range[0]; p <= range[1]; p++) ports.push({ proto, port: p });
  return ports;
}

function parseHostIp(value: unknown, key: string): string {
  if (value === undefined || value === null || value === '') return ANY_IPV4;
  if (typeof value !== 'string') throw invalid(`invalid HostIp for ${key}: must be a string`);
  const ip = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) throw invalid(`publishing on an IPv6 host address is not supported by berthd yet: ${ip}`);
  throw invalid(`invalid IP address: ${value}`);
}

function parseHostPort(value: unknown, key: string): [number, number] {
  if (value === undefined || value === null || value === '') return [0, 0];
  if (typeof value !== 'string') throw invalid(`invalid HostPort for ${key}: must be a string`);
  // The daemon accepts "8080/tcp" here too (nat.SplitProtoPort) and ignores the protocol.
  const slash = value.indexOf('/');
  const range = parsePortRange(slash < 0 ? value : value.slice(0, slash));
  if (range === undefined) throw specError(value);
  return range[0] === 0 && range[1] === 0 ? [0, 0] : range;
}

function compareContainerPorts(a: ContainerPort, b: ContainerPort): number {
  return a.port - b.port || (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0);
}

const keyOf = (p: ContainerPort): string => `${p.port}/${p.proto}`;

/**
 * Every container port the container shows (ExposedPorts ∪ PortBindings keys), sorted,
 * without duplicates: the keys of NetworkSettings.Ports. Views pass `skipInvalid` so a
 * stored oddity (an image's malformed EXPOSE) never makes inspect fail.
 */
export function containerPorts(input: PortConfigInput, opts: { skipInvalid?: boolean } = {}): ContainerPort[] {
  const seen = new Map<string, ContainerPort>();
  const add = (key: string, allowRange: boolean): void => {
    try {
      for (const p of parseContainerPortKey(key, allowRange)) seen.set(keyOf(p), p);
    } catch (err) {
      if (!opts.skipInvalid) throw err;
    }
  };
  for (const key of Object.keys(input.exposedPorts ?? {})) add(key, true);
  for (const key of Object.keys(input.portBindings ?? {})) add(key, false);
  return [...seen.values()].sort(compareContainerPorts);
}

/** Validates and normalizes a container's port configuration; see the module comment. */
export function parsePortBindings(input: PortConfigInput): PortBindingSpec[] {
  const specs = new Map<string, PortBindingSpec[]>();
  for (const [key, raw] of Object.entries(input.portBindings ?? {})) {
    const [port] = parseContainerPortKey(key, false) as [ContainerPort];
    if (raw === null || raw === undefined) continue;
    if (!Array.isArray(raw)) throw invalid(`invalid PortBindings for ${key}: must be a list`);
    const list = specs.get(keyOf(port)) ?? [];
    for (const entry of raw as unknown[]) {
      if (typeof entry !== 'object' || entry === null) throw invalid(`invalid PortBindings for ${key}: must be a list of objects`);
      const { HostIp, HostPort } = entry as { HostIp?: unknown; HostPort?: unknown };
      const [hostPort, hostPortEnd] = parseHostPort(HostPort, key);
      list.push({ proto: port.proto, containerPort: port.port, hostIp: parseHostIp(HostIp, key), hostPort, hostPortEnd });
    }
    specs.set(keyOf(port), list);
  }
  const ports = containerPorts(input);
  const out: PortBindingSpec[] = [];
  for (const p of ports) {
    const list = specs.get(keyOf(p));
    if (list && list.length > 0) out.push(...list);
    else if (input.publishAllPorts === true) {
      out.push({ proto: p.proto, containerPort: p.port, hostIp: ANY_IPV4, hostPort: 0, hostPortEnd: 0 });
    }
  }
  return out;
}
