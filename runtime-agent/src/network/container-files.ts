import type { ContainerFiles } from '../containers/networking.js';
import type { ContainerRecord } from '../containers/model.js';
import { hostResolvers } from './dns/resolv-conf.js';

/**
 * A container's /etc/hosts lines and resolv.conf, as Docker writes them:
 *
 *   hosts   `<ip>\t<hostname>` for each of its addresses; `--add-host name:ip` (`host-gateway`
 *           = the gateway of its first network); `host.docker.internal` → that gateway
 *           (Docker Desktop's name for reaching the host) when it has a network.
 *   resolv  host mode: the host's file as is. User networks with a DNS server: the network's
 *           gateway, then the host's search/options (or --dns-search/--dns-option).
 *           Otherwise (the default bridge): --dns, else the host's non-loopback nameservers,
 *           else Google's (Docker's fallback).
 */
export interface FilesInput {
  readonly container: ContainerRecord;
  /** The container's live addresses, first network first. */
  readonly addresses: readonly string[];
  /** The gateway of its first network, if it has one. */
  readonly gateway: string | undefined;
  /** The address of a DNS server for this container (a user network's gateway), if any. */
  readonly dnsServer: string | undefined;
  /** The host's /etc/resolv.conf text. */
  readonly hostResolvConf: string;
}

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

function extraHosts(c: ContainerRecord, gateway: string | undefined): string[] {
  const lines: string[] = [];
  for (const entry of c.HostConfig.ExtraHosts ?? []) {
    const sep = entry.indexOf(':') >= 0 && !entry.includes('=') ? entry.indexOf(':') : entry.indexOf('=');
    if (sep <= 0) continue;
    const name = entry.slice(0, sep);
    let ip = entry.slice(sep + 1);
    if (ip === 'host-gateway') {
      if (!gateway) continue;
      ip = gateway;
    }
    lines.push(`${ip}\t${name}`);
  }
  return lines;
}

function linesOf(text: string, keyword: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`${keyword} `) || l.startsWith(`${keyword}\t`));
}

export function containerFiles(input: FilesInput): ContainerFiles {
  const c = input.container;
  const mode = c.HostConfig.NetworkMode ?? 'bridge';
  const hostname = c.Config.Hostname ?? c.Id.slice(0, 12);
  const hosts: string[] = [];
  if (input.gateway) hosts.push(`${input.gateway}\thost.docker.internal`);
  hosts.push(...extraHosts(c, input.gateway));
  for (const ip of input.addresses) hosts.push(`${ip}\t${hostname}`);

  if (mode === 'host') return { hosts, resolvConf: input.hostResolvConf };
  if (mode === 'none') return { hosts, resolvConf: '' };
  const search = c.HostConfig.DnsSearch && c.HostConfig.DnsSearch.length > 0 ? [`search ${c.HostConfig.DnsSearch.join(' ')}`] : linesOf(input.hostResolvConf, 'search');
  const options = c.HostConfig.DnsOptions && c.HostConfig.DnsOptions.length > 0 ? [`options ${c.HostConfig.DnsOptions.join(' ')}`] : linesOf(input.hostResolvConf, 'options');
  let servers: string[];
  if (input.dnsServer) servers = [input.dnsServer];
  else if (c.HostConfig.Dns && c.HostConfig.Dns.length > 0) servers = c.HostConfig.Dns;
  else {
    const host = hostResolvers(input.hostResolvConf);
    servers = host.length > 0 ? host : FALLBACK_NAMESERVERS;
  }
  const resolvConf = [...servers.map((s) => `nameserver ${s}`), ...search, ...options].join('\n') + '\n';
  return { hosts, resolvConf };
}
