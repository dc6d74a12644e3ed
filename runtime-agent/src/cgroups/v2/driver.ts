/**
 * The cgroup v2 driver: one unified hierarchy (default /sys/fs/cgroup).
 *
 *   /sys/fs/cgroup/                 cgroup.controllers, cgroup.subtree_control (+cpu +memory ...)
 *   └── berth/                      cgroup.subtree_control (+cpu +memory ...), no processes
 *       └── <id>/                   memory.max, memory.swap.max, cpu.max, cpu.weight, pids.max,
 *                                   cpuset.cpus, cgroup.procs, cgroup.freeze, cgroup.events
 *
 * A controller reaches a group only when every ancestor lists it in `cgroup.subtree_control`;
 * berthd enables the ones it uses (those the parent offers in `cgroup.controllers`) from the
 * root down to the group's parent. Intermediate groups hold no processes (the kernel's "no
 * internal processes" rule). Device rules would need eBPF and are not applied.
 */
import type { Cgroup, CgroupDriver, CgroupLimits, CgroupStats } from '../cgroup.js';
import { CgroupDir, makeGroupDirs, normalizeGroupPath, writeErrno } from '../dir.js';
import { type CgroupHost, nodeCgroupHost } from '../host.js';
import { killAll, pruneChildren, readTreePids, removeGroupDir } from '../teardown.js';
import { log } from '../../log.js';
import { applyCpu, readCpuStats } from './cpu.js';
import { applyCpuset } from './cpuset.js';
import { freeze, isFrozen, thaw } from './freeze.js';
import { readIoStats } from './io.js';
import { applyMemory, memoryOomKilled, readMemoryStats } from './memory.js';
import { applyPids, readPidsStats } from './pids.js';

/** The controllers berthd enables for its groups. */
export const V2_CONTROLLERS = ['cpu', 'memory', 'pids', 'cpuset', 'io'] as const;

export interface CgroupV2Options {
  readonly root?: string;
  readonly host?: CgroupHost;
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;
  readonly root: string;
  private readonly host: CgroupHost;

  constructor(options: CgroupV2Options = {}) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.host = options.host ?? nodeCgroupHost;
  }

  async create(path: string, limits: CgroupLimits): Promise<Cgroup> {
    const group = new V2Cgroup(this.host, this.root, normalizeGroupPath(path));
    const existed = await this.host.exists(group.dir.path);
    try {
      const leaf = group.dir.path;
      await enableControllers(new CgroupDir(this.host, this.root));
      await makeGroupDirs(this.host, this.root, group.path, async (dir) => {
        if (dir.path !== leaf) await enableControllers(dir);
      });
      await group.apply(limits, true);
    } catch (err) {
      if (!existed) await group.destroy().catch(() => undefined);
      throw err;
    }
    log.info('cgroup.create', { version: 2, path: group.path });
    return group;
  }

  open(path: string): Cgroup {
    return new V2Cgroup(this.host, this.root, normalizeGroupPath(path));
  }

  async prune(parent: string): Promise<void> {
    const dir = new CgroupDir(this.host, this.root).file(normalizeGroupPath(parent));
    const removed = await pruneChildren(this.host, dir);
    if (removed.length > 0) log.info('cgroup.prune', { dir, removed: removed.join(',') });
  }
}

/**
 * Adds berthd's controllers to `dir`'s `cgroup.subtree_control`, those `dir` has (its
 * `cgroup.controllers`) and has not enabled yet. All in one write; when the kernel refuses
 * that, one by one so a single unavailable controller does not cost the others.
 */
export async function enableControllers(dir: CgroupDir): Promise<void> {
  const available = new Set((await dir.read('cgroup.controllers')).split(/\s+/));
  const enabled = new Set((await dir.read('cgroup.subtree_control')).split(/\s+/));
  const missing = V2_CONTROLLERS.filter((c) => available.has(c) && !enabled.has(c));
  if (missing.length === 0) return;
  try {
    await dir.write('cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
  } catch {
    for (const controller of missing) {
      try {
        await dir.write('cgroup.subtree_control', `+${controller}`);
      } catch (err) {
        log.warn('cgroup.v2.enable-failed', { dir: dir.path, controller, errno: writeErrno(err) });
      }
    }
  }
}

class V2Cgroup implements Cgroup {
  readonly dir: CgroupDir;

  constructor(
    private readonly host: CgroupHost,
    root: string,
    readonly path: string,
  ) {
    this.dir = new CgroupDir(host, new CgroupDir(host, root).file(path));
  }

  async addProcess(pid: number): Promise<void> {
    await this.dir.write('cgroup.procs', pid);
  }

  update(limits: CgroupLimits): Promise<void> {
    return this.apply(limits, false);
  }

  async apply(limits: CgroupLimits, fresh: boolean): Promise<void> {
    await applyMemory(this.dir, limits);
    await applyCpu(this.dir, limits);
    await applyCpuset(this.dir, limits);
    await applyPids(this.dir, limits);
    if (!fresh) log.info('cgroup.update', { version: 2, path: this.path });
  }

  freeze(): Promise<void> {
    return freeze(this.dir);
  }

  thaw(): Promise<void> {
    return thaw(this.dir);
  }

  oomKilled(): Promise<boolean> {
    return memoryOomKilled(this.dir);
  }

  async pids(): Promise<number[]> {
    return (await readTreePids(this.host, this.dir.path)).sort((a, b) => a - b);
  }

  async stats(): Promise<CgroupStats> {
    const [cpu, memory, pids, blkio] = await Promise.all([
      readCpuStats(this.dir),
      readMemoryStats(this.dir),
      readPidsStats(this.dir),
      readIoStats(this.dir),
    ]);
    return {
      ...cpu,
      memoryUsage: memory.usage,
      memoryLimit: memory.limit,
      memoryMaxUsage: memory.maxUsage,
      memoryStat: memory.stat,
      pidsCurrent: pids.current,
      pidsLimit: pids.limit,
      blkio,
    };
  }

  async destroy(): Promise<void> {
    if (await isFrozen(this.dir)) await thaw(this.dir);
    const canKillGroup = await this.dir.has('cgroup.kill');
    await killAll(
      this.host,
      () => this.pids(),
      canKillGroup ? () => this.dir.write('cgroup.kill', 1) : undefined,
    );
    await removeGroupDir(this.host, this.dir.path);
    log.info('cgroup.destroy', { version: 2, path: this.path });
  }
}
