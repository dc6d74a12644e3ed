import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRecord } from './model.js';
import type { ContainerFiles } from './networking.js';

const HOSTS_BASE = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`;

/** The files berthd bind-mounts over the container's /etc/{hostname,hosts,resolv.conf}. */
export const ETC_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

/**
 * Writes the three files; rewritten in place (same inode, so the bind mounts see it) at each
 * start once the container has its addresses, and after a network connect or disconnect.
 */
export async function writeEtcFiles(dir: string, c: ContainerRecord, net: ContainerFiles): Promise<void> {
  const hostname = c.Config.Hostname ?? c.Id.slice(0, 12);
  const host = c.HostConfig.NetworkMode === 'host';
  await writeFile(join(dir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
  let hosts = host ? await readFile('/etc/hosts', 'utf8').catch(() => HOSTS_BASE) : HOSTS_BASE;
  for (const line of net.hosts) hosts += `${line}\n`;
  // Without an address of its own, the hostname still resolves (to loopback).
  if (!host && !net.hosts.some((l) => l.endsWith(`\t${hostname}`))) hosts += `127.0.1.1\t${hostname}\n`;
  await writeFile(join(dir, 'hosts'), hosts, { mode: 0o644 });
  await writeFile(join(dir, 'resolv.conf'), net.resolvConf, { mode: 0o644 });
}
