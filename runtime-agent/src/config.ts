import { parseArgs } from 'node:util';
import { invalid } from './errors.js';
import { formatIpv4, parseIpv4 } from './network/ipam.js';
import { parseInsecureRegistry } from './registry/endpoints.js';

/** Where berthd keeps its socket, its persistent state and its runtime state. */
export interface DaemonConfig {
  /** The Docker Engine API socket. */
  readonly socket: string;
  /** Persistent state: images, layers, containers (survives restarts). */
  readonly dataRoot: string;
  /** Runtime state: pid file, per-run scratch (may be a tmpfs). */
  readonly execRoot: string;
  /** The cgroup parent every container's cgroup is made under. */
  readonly cgroupParent: string;
  /**
   * `--bip`: the default bridge's gateway address with its prefix (e.g. `172.30.0.1/16`);
   * undefined → the first free default pool (172.17.0.0/16 unless it clashes).
   */
  readonly bip?: string;
  /**
   * `--insecure-registry host[:port]` (repeatable): registries reached over plain HTTP (after
   * HTTPS without certificate checks). Loopback registries are insecure without being listed.
   */
  readonly insecureRegistries: readonly string[];
}

export const DEFAULTS: DaemonConfig = {
  socket: '/run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  cgroupParent: 'berth',
  insecureRegistries: [],
};

export const USAGE = `Usage: berthd [--socket PATH] [--data-root DIR] [--exec-root DIR] [--cgroup-parent NAME] [--bip CIDR]
              [--insecure-registry HOST[:PORT]]...

Runs Berth's container engine in the foreground, serving the Docker Engine API.

  --socket PATH         API socket (default ${DEFAULTS.socket})
  --data-root DIR       images, layers and containers (default ${DEFAULTS.dataRoot})
  --exec-root DIR       runtime state (default ${DEFAULTS.execRoot})
  --cgroup-parent NAME  cgroup every container is placed under (default ${DEFAULTS.cgroupParent})
  --bip CIDR            the default bridge network's gateway address and prefix, e.g.
                        172.30.0.1/16 (default: the first free of 172.17-31.0.0/16, ...)
  --insecure-registry HOST[:PORT]
                        a registry to reach over plain HTTP (repeatable); loopback
                        registries (127.0.0.0/8, ::1, localhost) always are
  -h, --help            show this help
`;

export function parseConfig(argv: readonly string[]): DaemonConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        socket: { type: 'string' },
        'data-root': { type: 'string' },
        'exec-root': { type: 'string' },
        'cgroup-parent': { type: 'string' },
        bip: { type: 'string' },
        'insecure-registry': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw invalid(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const cgroupParent = v['cgroup-parent'] ?? DEFAULTS.cgroupParent;
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(cgroupParent)) {
    throw invalid(`--cgroup-parent must be a relative cgroup path, got "${cgroupParent}"`);
  }
  const bip = v.bip === undefined ? undefined : parseBip(v.bip);
  return {
    socket: v.socket ?? DEFAULTS.socket,
    dataRoot: v['data-root'] ?? DEFAULTS.dataRoot,
    execRoot: v['exec-root'] ?? DEFAULTS.execRoot,
    cgroupParent,
    insecureRegistries: (v['insecure-registry'] ?? []).map(parseInsecureRegistry),
    ...(bip !== undefined ? { bip } : {}),
  };
}

/**
 * Checks `--bip`: an IPv4 address with a prefix of 8..30 that is neither the network nor the
 * broadcast address of its subnet. Returns it normalized (`a.b.c.d/n`).
 */
export function parseBip(text: string): string {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  const addr = m ? parseIpv4(m[1] as string) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !Number.isInteger(prefix)) {
    throw invalid(`--bip must be an IPv4 address with a prefix length, e.g. 172.30.0.1/16, got "${text}"`);
  }
  if (prefix < 8 || prefix > 30) throw invalid(`--bip ${text}: the prefix length must be between 8 and 30`);
  const hostBits = 2 ** (32 - prefix) - 1;
  const host = addr % (hostBits + 1);
  if (host === 0) throw invalid(`--bip ${text}: ${formatIpv4(addr)} is the network address of its subnet; give the gateway address, e.g. ${formatIpv4(addr + 1)}/${prefix}`);
  if (host === hostBits) throw invalid(`--bip ${text}: ${formatIpv4(addr)} is the broadcast address of its subnet`);
  return `${formatIpv4(addr)}/${prefix}`;
}
