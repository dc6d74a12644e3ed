import { parseArgs } from 'node:util';
import { invalid } from './errors.js';

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
}

export const DEFAULTS: DaemonConfig = {
  socket: '/run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  cgroupParent: 'berth',
};

export const USAGE = `Usage: berthd [--socket PATH] [--data-root DIR] [--exec-root DIR] [--cgroup-parent NAME]

Runs Berth's container engine in the foreground, serving the Docker Engine API.

  --socket PATH         API socket (default ${DEFAULTS.socket})
  --data-root DIR       images, layers and containers (default ${DEFAULTS.dataRoot})
  --exec-root DIR       runtime state (default ${DEFAULTS.execRoot})
  --cgroup-parent NAME  cgroup every container is placed under (default ${DEFAULTS.cgroupParent})
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
  return {
    socket: v.socket ?? DEFAULTS.socket,
    dataRoot: v['data-root'] ?? DEFAULTS.dataRoot,
    execRoot: v['exec-root'] ?? DEFAULTS.execRoot,
    cgroupParent,
  };
}
