/**
 * The cgroup v1 driver: one hierarchy per controller, each mounted under the root
 * (default /sys/fs/cgroup), some possibly co-mounted:
 *
 *   /sys/fs/cgroup/
 *   ├── memory/berth/<id>/         memory.limit_in_bytes, memory.memsw.limit_in_bytes, ...
 *   ├── cpu,cpuacct/berth/<id>/    (or cpu/ and cpuacct/ apart; `cpu` may be a symlink)
 *   ├── cpuset/berth/<id>/         cpus/mems copied down from the parent at each level
 *   ├── pids/ freezer/ blkio/ devices/  berth/<id>/
 *
 * A group's path is relative to each hierarchy's root, never to berthd's own cgroup. A
 * controller that is not mounted is skipped (with a warning if a limit needed it).
 */
import { join } from 'node:path';
import type { Cgroup, CgroupDriver, CgroupLimits, CgroupStats } from '../cgroup.js';
import { CgroupDir, makeGroupDirs, normalizeGroupPath } from '../dir.js';
import { type CgroupHost, nodeCgroupHost } from '../host.js';
import { killAll, pruneChildren, readTreePids, removeGroupDir } from '../teardown.js';
import { systemError } from '../../errors.js';
import { log } from '../../log.js';
import { readBlkioStats } from './blkio.js';
import { readCpuStats, applyCpu } from './cpu.js';
import { applyCpuset, makeCpusetLevels } from './cpuset.js';
import { applyDevices } from './devices.js';
import { freeze, freezerState, thaw } from './freezer.js';
import { applyMemory, memoryOomKilled, readMemoryStats } from './memory.js';
import { applyPids, readPidsStats } from './pids.js';

export const V1_CONTROLLERS = [
  'memory',
  'cpu',
  'cpuacct',
  'cpuset',
  'pids',
  'freezer',
  'blkio',
  'devices',
] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** Controller → the directory its hierarchy is mounted on. */
export type V1Hierarchies = ReadonlyMap<V1Controller, string>;

/**
 * Finds the hierarchies under `root` from its entries: `memory`, `cpu,cpuacct`... A real
 * directory wins over a symlink to the same mount; a directory without `cgroup.procs` is not
 * a mounted hierarchy.
 */
export async function findHierarchies(host: CgroupHost, root: string): Promise<V1Hierarchies> {
  const found = new Map<V1Controller, { dir: string; isLink: boolean }>();
  for (const entry of await host.list(root)) {
    if (entry.kind === 'file') continue;
    const dir = join(root, entry.name);
    if (!(await host.exists(join(dir, 'cgroup.procs')))) continue;
    for (const name of entry.name.split(',')) {
      const controller = V1_CONTROLLERS.find((known) => known === name);
      if (!controller) continue;
      const previous = found.get(controller);
      if (!previous || (previous.isLink && entry.kind === 'dir')) {
        found.set(controller, { dir, isLink: entry.kind === 'link' });
      }
    }
  }
  return new Map([...found].map(([controller, { dir }]) => [controller, dir]));
}

export interface CgroupV1Options {
  readonly root?: string;
  readonly host?: CgroupHost;
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;
  readonly root: string;
  private readonly host: CgroupHost;
  private hierarchies: Promise<V1Hierarchies> | undefined;

  constructor(options: CgroupV1Options = {}) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.host = options.host ?? nodeCgroupHost;
  }

  /** The mounted hierarchies, found once on first use. */
  mounts(): Promise<V1Hierarchies> {
    this.hierarchies ??= findHierarchies(this.host, this.root).then((found) => {
      if (found.size === 0) throw systemError(`cgroup: no v1 hierarchy under ${this.root}`);
      log.debug('cgroup.v1.hierarchies', {
        found: [...found].map(([name, dir]) => `${name}=${dir}`).join(','),
      });
      return found;
    });
    return this.hierarchies;
  }

  async create(path: string, limits: CgroupLimits): Promise<Cgroup> {
    const group = new V1Cgroup(this.host, normalizeGroupPath(path), () => this.mounts());
    const mounts = await this.mounts();
    const firstDir = [...new Set(mounts.values())][0] ?? this.root;
    const existed = await this.host.exists(join(firstDir, group.path));
    try {
      for (const [controller, dir] of uniqueDirs(mounts)) {
        if (controller === 'cpuset') await makeCpusetLevels(this.host, dir, group.path);
        else await makeGroupDirs(this.host, dir, group.path);
      }
      await group.apply(limits, true);
    } catch (err) {
      if (!existed) await group.destroy().catch(() => undefined);
      throw err;
    }
    log.info('cgroup.create', { version: 1, path: group.path });
    return group;
  }

  open(path: string): Cgroup {
    return new V1Cgroup(this.host, normalizeGroupPath(path), () => this.mounts());
  }

  async prune(parent: string): Promise<void> {
    const relative = normalizeGroupPath(parent);
    const mounts = await this.mounts();
    for (const [, dir] of uniqueDirs(mounts)) {
      const removed = await pruneChildren(this.host, join(dir, relative));
      if (removed.length > 0) log.info('cgroup.prune', { dir, removed: removed.join(',') });
    }
  }
}

class V1Cgroup implements Cgroup {
  constructor(
    private readonly host: CgroupHost,
    readonly path: string,
    private readonly mounts: () => Promise<V1Hierarchies>,
  ) {}

  /** The group's directory in `controller`'s hierarchy, if that controller is mounted. */
  private async dir(controller: V1Controller): Promise<CgroupDir | undefined> {
    const mount = (await this.mounts()).get(controller);
    return mount === undefined ? undefined : new CgroupDir(this.host, join(mount, this.path));
  }

  private async dirs(): Promise<CgroupDir[]> {
    return uniqueDirs(await this.mounts()).map(
      ([, mount]) => new CgroupDir(this.host, join(mount, this.path)),
    );
  }

  async addProcess(pid: number): Promise<void> {
    for (const dir of await this.dirs()) await dir.write('cgroup.procs', pid);
  }

  update(limits: CgroupLimits): Promise<void> {
    return this.apply(limits, false);
  }

  /** Writes every limit; `fresh` when the group was just made (logs nothing then). */
  async apply(limits: CgroupLimits, fresh: boolean): Promise<void> {
    const [memory, cpu, cpuset, pids, devices] = await Promise.all(
      (['memory', 'cpu', 'cpuset', 'pids', 'devices'] as const).map((c) => this.dir(c)),
    );
    if (memory) await applyMemory(memory, limits);
    else if (limits.memory) log.warn('cgroup.v1.missing', { controller: 'memory' });
    if (cpu) await applyCpu(cpu, limits);
    if (cpuset) {
      const parent = new CgroupDir(this.host, join(cpuset.path, '..'));
      await applyCpuset(cpuset, parent, limits);
    }
    if (pids) await applyPids(pids, limits);
    else if (limits.pidsLimit) log.warn('cgroup.v1.missing', { controller: 'pids' });
    if (devices) await applyDevices(devices, limits);
    if (!fresh) log.info('cgroup.update', { version: 1, path: this.path });
  }

  async freeze(): Promise<void> {
    await freeze(await this.freezer());
  }

  async thaw(): Promise<void> {
    await thaw(await this.freezer());
  }

  private async freezer(): Promise<CgroupDir> {
    const dir = await this.dir('freezer');
    if (!dir) throw systemError('cgroup: the v1 freezer controller is not mounted');
    return dir;
  }

  async oomKilled(): Promise<boolean> {
    const dir = await this.dir('memory');
    return dir ? memoryOomKilled(dir) : false;
  }

  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of await this.dirs()) {
      for (const pid of await readTreePids(this.host, dir.path)) all.add(pid);
    }
    return [...all].sort((a, b) => a - b);
  }

  async stats(): Promise<CgroupStats> {
    const [memoryDir, cpuDir, cpuacctDir, pidsDir, blkioDir] = await Promise.all(
      (['memory', 'cpu', 'cpuacct', 'pids', 'blkio'] as const).map((c) => this.dir(c)),
    );
    const [cpu, memory, pids, blkio] = await Promise.all([
      readCpuStats(cpuDir, cpuacctDir),
      memoryDir ? readMemoryStats(memoryDir) : undefined,
      pidsDir ? readPidsStats(pidsDir) : undefined,
      blkioDir ? readBlkioStats(blkioDir) : [],
    ]);
    return {
      ...cpu,
      memoryUsage: memory?.usage ?? 0,
      memoryLimit: memory?.limit ?? 0,
      memoryMaxUsage: memory?.maxUsage ?? 0,
      memoryStat: memory?.stat ?? {},
      pidsCurrent: pids?.current ?? 0,
      pidsLimit: pids?.limit ?? 0,
      blkio,
    };
  }

  async destroy(): Promise<void> {
    // Frozen tasks do not act on SIGKILL until thawed.
    const freezer = await this.dir('freezer');
    const state = freezer ? await freezerState(freezer) : undefined;
    if (freezer && state !== undefined && state !== 'THAWED') await thaw(freezer);
    await killAll(this.host, () => this.pids());
    for (const dir of await this.dirs()) await removeGroupDir(this.host, dir.path);
    log.info('cgroup.destroy', { version: 1, path: this.path });
  }
}

/** One entry per mounted hierarchy (co-mounted controllers share one), as [controller, dir]. */
function uniqueDirs(mounts: V1Hierarchies): [V1Controller, string][] {
  const seen = new Map<string, V1Controller>();
  for (const [controller, dir] of mounts) {
    // cpuset's hierarchy needs its own creation path; let it claim a shared mount.
    if (!seen.has(dir) || controller === 'cpuset') seen.set(dir, controller);
  }
  return [...seen].map(([dir, controller]) => [controller, dir]);
}
