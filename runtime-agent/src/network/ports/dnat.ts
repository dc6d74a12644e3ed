import type { PublishedPort } from './bindings.js';

/**
 * Published-port DNAT for berthd's `inet berth` nftables table (network/nft.ts splices these
 * lines into its chains). Pure: the text is unit-tested exactly.
 *
 * For `-p 8080:80` on a container 172.17.0.2 of bridge berth0 (hostIp 0.0.0.0):
 *
 *   prerouting  meta nfproto ipv4 iifname != "berth0" fib daddr type local tcp dport 8080 dnat ip to 172.17.0.2:80
 *   output      meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 172.17.0.2:80
 *   forward     ip daddr 172.17.0.2 iifname != "berth0" oifname "berth0" tcp dport 80 accept
 *
 * As Docker does it (with its userland proxy on):
 * - prerouting: traffic from other hosts (and other bridges) to any local address; traffic
 *   from the container's own bridge is left to the proxy (no hairpin NAT).
 * - output: berthd's own namespace reaching any local address, loopback (127.0.0.0/8)
 *   included, as Docker does without its userland proxy: the kernel carries the traffic
 *   instead of the proxy copying it. Sending 127.x to a bridge needs route_localnet=1 on
 *   the bridge (links.ts sets it) and masquerade of `ip saddr 127.0.0.0/8 oifname <bridge>`
 *   (nft.ts), since the container cannot answer a 127.x source.
 * - A hostIp narrows both to `ip daddr <hostIp>`; a loopback hostIp (127.0.0.0/8) gets only
 *   the output rule (never prerouting: it must not answer from outside).
 * - The proxy still listens on every binding: it holds the port, and serves what DNAT does
 *   not (e.g. a container reaching its own published port through the bridge, no hairpin).
 * - `meta nfproto ipv4` keeps IPv6 packets away from an IPv4 DNAT (the other rules already
 *   match an IPv4 address). The text is what `nft list` prints back (nft 1.0.6 checked).
 * - forward: lets the translated packets onto the bridge (nft.ts also accepts
 *   `ct status dnat`; this is the explicit per-port rule for chains that do not).
 */
export interface DnatTarget {
  /** The container's address on the network its ports are published from. */
  readonly containerIp: string;
  /** That network's Linux bridge. */
  readonly bridge: string;
}

export interface DnatRules {
  readonly prerouting: string[];
  readonly output: string[];
  readonly forward: string[];
}

const isLoopback = (ip: string): boolean => ip.startsWith('127.');

export function dnatRules(ports: readonly PublishedPort[], target: DnatTarget): DnatRules {
  const br = JSON.stringify(target.bridge);
  const rules: DnatRules = { prerouting: [], output: [], forward: [] };
  const forwarded = new Set<string>();
  for (const p of ports) {
    const to = `${p.proto} dport ${p.hostPort} dnat ip to ${target.containerIp}:${p.containerPort}`;
    if (p.hostIp === '0.0.0.0') {
      rules.prerouting.push(`meta nfproto ipv4 iifname != ${br} fib daddr type local ${to}`);
      rules.output.push(`meta nfproto ipv4 fib daddr type local ${to}`);
    } else if (isLoopback(p.hostIp)) {
      // Locally generated: never crosses the forward chain, so no accept either.
      rules.output.push(`ip daddr ${p.hostIp} ${to}`);
      continue;
    } else {
      rules.prerouting.push(`iifname != ${br} ip daddr ${p.hostIp} ${to}`);
      rules.output.push(`ip daddr ${p.hostIp} ${to}`);
    }
    const accept = `ip daddr ${target.containerIp} iifname != ${br} oifname ${br} ${p.proto} dport ${p.containerPort} accept`;
    if (!forwarded.has(accept)) {
      forwarded.add(accept);
      rules.forward.push(accept);
    }
  }
  return rules;
}
