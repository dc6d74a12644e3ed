import type { CgroupStats } from '../../../runtime-agent/src/cgroups/cgroup.js';
import { notFound } from '../../../runtime-agent/src/errors.js';
import type { ContainerState, StatsSource, SystemCpuSource } from '../../../runtime-agent/src/stats/source.js';
import type { SystemCpu } from '../../../runtime-agent/src/stats/system-cpu.js';

/** A container of the fake: its CPU time grows by `cpuPerRead` ns at each cgroup reading. */
export interface FakeContainer {
  id: string;
  name: string;
  running: boolean;
  cpuNs: number;
  cpuPerRead: number;
  memory: number;
  inactiveFile: number;
  limit: number;
  pids: number;
  /** The pid networkPid() gives (undefined: no netns of its own) and its /proc/<pid>/net/dev. */
  netPid?: number;
  netDev?: string;
}

/** An in-memory StatsSource and a /proc/stat that advances 1 s of 2 CPUs per reading. */
export class FakeSource implements StatsSource, SystemCpuSource {
  readonly containers = new Map<string, FakeContainer>();
  cgroupReads = 0;
  netDevReads: string[] = [];
  systemReads = 0;
  private systemNs = 1e15;

  constructor(readonly cgroupVersion: 1 | 2 = 1) {}

  add(id: string, name: string, over: Partial<FakeContainer> = {}): FakeContainer {
    const c: FakeContainer = { id, name, running: true, cpuNs: 0, cpuPerRead: 5e8, memory: 10_000, inactiveFile: 1_000, limit: 64 * 1024 * 1024, pids: 1, ...over };
    this.containers.set(id, c);
    return c;
  }

  private state(c: FakeContainer): ContainerState {
    return { id: c.id, name: c.name, running: c.running };
  }

  resolve(ref: string): ContainerState {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return this.state(c);
  }

  lookup(id: string): ContainerState | undefined {
    const c = this.containers.get(id);
    return c ? this.state(c) : undefined;
  }

  running(): { id: string; name: string }[] {
    return [...this.containers.values()].filter((c) => c.running).map((c) => ({ id: c.id, name: c.name }));
  }

  async readCgroup(id: string): Promise<CgroupStats> {
    const c = this.containers.get(id);
    if (!c?.running) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    this.cgroupReads += 1;
    c.cpuNs += c.cpuPerRead;
    return {
      cpuUsageNs: c.cpuNs,
      cpuUserNs: c.cpuNs,
      cpuSystemNs: 0,
      perCpuNs: [],
      throttling: { periods: 0, throttledPeriods: 0, throttledTimeNs: 0 },
      memoryUsage: c.memory,
      memoryLimit: c.limit,
      memoryMaxUsage: c.memory,
      memoryStat: this.cgroupVersion === 1 ? { total_inactive_file: c.inactiveFile } : { inactive_file: c.inactiveFile },
      pidsCurrent: c.pids,
      pidsLimit: 0,
      blkio: [
        { major: 8, minor: 0, op: this.cgroupVersion === 1 ? 'Read' : 'read', value: 100 },
        { major: 8, minor: 0, op: this.cgroupVersion === 1 ? 'Write' : 'write', value: 50 },
      ],
    };
  }

  networkPid(id: string): number | undefined {
    return this.containers.get(id)?.netPid;
  }

  readonly readNetDev = (path: string): string => {
    this.netDevReads.push(path);
    const c = [...this.containers.values()].find((x) => x.netPid !== undefined && path === `/proc/${x.netPid}/net/dev`);
    if (c?.netDev === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return c.netDev;
  };

  async read(): Promise<SystemCpu> {
    this.systemReads += 1;
    this.systemNs += 2e9;
    return { systemNs: this.systemNs, onlineCpus: 2 };
  }
}
