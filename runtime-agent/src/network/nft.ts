import { writeFile } from 'node:fs/promises';
import { runTool, runToolChecked } from './command.js';

/**
 * berthd's packet filtering and NAT: every rule in ONE nftables table, `inet berth`,
 * regenerated whole from state and swapped in one `nft -f -` transaction (delete + add), so
 * removing a network or container removes exactly its rules, and deleting the table (berthd
 * stopping) removes every rule berthd ever made.
 *
 *   table inet berth
 *     set bridges                      every berth bridge (isolation needs "any other bridge")
 *     chain forward   (filter)         per network, in order:
 *       iif br oif br accept           containers of one network talk freely
 *       internal:  iif br drop; oif br drop
 *       else:      iif br oif @bridges drop     no way into another network (isolation)
 *                  iif br accept                out to the world
 *                  oif br ct state established,related accept
 *                  oif br ct status dnat accept (published ports)
 *                  oif br drop
 *     chain input   (filter)           iif @bridges daddr 127.0.0.0/8, not a reply: drop
 *                                      (route_localnet is on for the bridges: a container must
 *                                      not reach berthd's loopback services through them)
 *     chain postrouting (nat)          saddr <subnet> oif != br masquerade (not internal)
 *                                      saddr 127.0.0.0/8 oif br masquerade (every network:
 *                                      loopback-published ports DNAT'd in output)
 *     chain prerouting / output (nat)  published-port DNAT lines from the ports module
 */
export interface NftNetwork {
  readonly bridge: string;
  readonly subnet: string;
  readonly internal: boolean;
}

/** DNAT lines for published ports, supplied by the ports module (hook point). */
export interface NatRules {
  /** Rules for the `prerouting` nat chain (traffic from other hosts). */
  readonly prerouting: readonly string[];
  /** Rules for the `output` nat chain (traffic from berthd's own namespace). */
  readonly output: readonly string[];
  /** Accepts for the translated packets, placed before the per-network drops. */
  readonly forward?: readonly string[];
}

export const TABLE = 'inet berth';

const quote = (name: string): string => `"${name}"`;

/** The whole table's text, as `nft -f` reads it. Pure: unit-tested. */
export function renderTable(networks: readonly NftNetwork[], nat: NatRules = { prerouting: [], output: [] }): string {
  const lines: string[] = [`table ${TABLE} {`];
  lines.push('  set bridges {', '    type ifname', ...(networks.length > 0 ? [`    elements = { ${networks.map((n) => quote(n.bridge)).join(', ')} }`] : []), '  }');
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;', ...(nat.forward ?? []).map((l) => `    ${l}`));
  for (const n of networks) {
    const br = quote(n.bridge);
    lines.push(`    iifname ${br} oifname ${br} accept`);
    if (n.internal) {
      lines.push(`    iifname ${br} drop`, `    oifname ${br} drop`);
      continue;
    }
    lines.push(
      `    iifname ${br} oifname @bridges drop`,
      `    iifname ${br} accept`,
      `    oifname ${br} ct state established,related accept`,
      `    oifname ${br} ct status dnat accept`,
      `    oifname ${br} drop`,
    );
  }
  lines.push('  }');
  lines.push('  chain input {', '    type filter hook input priority filter; policy accept;');
  if (networks.length > 0) lines.push('    iifname @bridges ip daddr 127.0.0.0/8 ct state { invalid, new, untracked } drop');
  lines.push('  }');
  lines.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  for (const n of networks) {
    if (!n.internal) lines.push(`    ip saddr ${n.subnet} oifname != ${quote(n.bridge)} masquerade`);
    lines.push(`    ip saddr 127.0.0.0/8 oifname ${quote(n.bridge)} masquerade`);
  }
  lines.push('  }');
  lines.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', ...nat.prerouting.map((l) => `    ${l}`), '  }');
  lines.push('  chain output {', '    type nat hook output priority -100; policy accept;', ...nat.output.map((l) => `    ${l}`), '  }');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** The text of the table berthd last put in place; undefined: unknown (none yet, deleted, failed). */
let applied: string | undefined;

/**
 * Replaces the table atomically: `table` (creates if absent) + `delete` + the new table. A text
 * equal to the one last applied is skipped: a container start or stop that publishes no port
 * and creates no network renders the same table, and costs no `nft` run.
 */
export async function applyTable(text: string): Promise<void> {
  if (text === applied) return;
  applied = undefined; // a failed or partial run leaves the kernel's table unknown
  await runToolChecked('apply nftables rules', 'nft', ['-f', '-'], `table ${TABLE}\ndelete table ${TABLE}\n${text}`);
  applied = text;
}

/** Removes the table and with it every rule berthd made; absent is fine. */
export async function deleteTable(): Promise<void> {
  applied = undefined;
  await runTool('nft', ['-f', '-'], `table ${TABLE}\ndelete table ${TABLE}\n`);
}

/** Routing between the bridges and the outside, in berthd's network namespace only. */
export async function enableForwarding(): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n');
}
