import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRecord } from './model.js';

const HOSTS_BASE = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`;

/** The files berthd bind-mounts over the container's /etc/{hostname,hosts,resolv.conf}. */
export const ETC_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

export async function writeEtcFiles(dir: string, c: ContainerRecord): Promise<void> {
  const hostname = c.Config.Hostname ?? c.Id.slice(0, 12);
  const host = c.HostConfig.NetworkMode === 'host';
  await writeFile(join(dir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
  let hosts = host ? await readFile('/etc/hosts', 'utf8').catch(() => HOSTS_BASE) : HOSTS_BASE;
  if (!host) hosts += `127.0.1.1	${hostname}\n`;
  await writeFile(join(dir, 'hosts'), hosts, { mode: 0o644 });
  let resolv = '';
  if (c.HostConfig.NetworkMode !== 'none') {
    resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  }
  await writeFile(join(dir, 'resolv.conf'), resolv, { mode: 0o644 });
}
