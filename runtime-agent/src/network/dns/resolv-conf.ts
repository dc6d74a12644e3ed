/**
 * The host's resolvers, as the network resolver's upstreams (and the default for containers).
 *
 * Loopback nameservers (127.0.0.0/8, ::1, and ::ffff:127.x.y.z) are left out. Such a resolver
 * (systemd-resolved's 127.0.0.53, a local dnsmasq) answers only inside the network namespace
 * it runs in: a container never reaches it, and berthd itself usually runs somewhere else —
 * in the Berth VM, or in a test-made namespace — whose loopback is not the host's. Docker's
 * embedded resolver reaches such a resolver by switching back to the host namespace for each
 * forward; berthd does not, so a host with only loopback resolvers yields no upstreams and
 * berthd's resolver answers SERVFAIL for names it does not know, rather than forwarding to
 * whatever happens to listen on its own loopback.
 */
import { BlockList, isIP } from 'node:net';

/** The nameserver addresses of a resolv.conf text, in order, without duplicates or loopback. */
export function hostResolvers(resolvConfText: string): string[] {
  const found: string[] = [];
  for (const rawLine of resolvConfText.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, address, ...rest] = line.split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined || rest.length > 0) continue;
    if (isIP(address) === 0 || isLoopback(address) || found.includes(address)) continue;
    found.push(address);
  }
  return found;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // BlockList also applies it to ::ffff:127.x.y.z
LOOPBACK.addAddress('::1', 'ipv6');

export function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
