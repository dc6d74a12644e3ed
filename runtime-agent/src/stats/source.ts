/**
 * What the stats samplers need from the rest of berthd: which containers exist and run, one
 * reading of a container's cgroup, and the pid whose netns holds its interfaces. The API wires
 * it to the container service; unit tests pass a fake.
 */
import type { CgroupStats } from '../cgroups/cgroup.js';
import { readNetworks, type NetDevReadFile } from './net-dev.js';
import type { SystemCpu } from './system-cpu.js';
import type { Reading, SampleIdentity } from './sample.js';

export interface ContainerState extends SampleIdentity {
  /** Running or paused (Docker samples both); false when created, exited or restarting. */
  readonly running: boolean;
}

export interface StatsSource {
  readonly cgroupVersion: 1 | 2;
  /** The container `ref` names (ID, ID prefix or name); throws not-found like every verb. */
  resolve(ref: string): ContainerState;
  /** The container's current state by full ID; undefined once it is removed. */
  lookup(id: string): ContainerState | undefined;
  /** Every running (or paused) container. */
  running(): SampleIdentity[];
  /** One reading of the container's cgroup; rejects when the group is gone. */
  readCgroup(id: string): Promise<CgroupStats>;
  /**
   * The host pid of the container's init when it has a network namespace of its own (see
   * `networkPidOf` in net-dev.ts: undefined for host, none and container:<id>). Without this
   * member no sample has `networks`.
   */
  networkPid?(id: string): number | undefined;
  /** Reads /proc/<pid>/net/dev (tests); default a plain synchronous read. */
  readonly readNetDev?: NetDevReadFile;
}

export interface SystemCpuSource {
  read(): Promise<SystemCpu>;
}

/**
 * One reading of a running container, next to a host CPU reading; undefined when it does not
 * run or its cgroup vanished while being read (it exited).
 */
export async function readContainer(source: StatsSource, id: string, system: SystemCpu): Promise<Reading | undefined> {
  const state = source.lookup(id);
  if (!state?.running) return undefined;
  try {
    const cgroup = await source.readCgroup(id);
    const networks = readNetworks(source.networkPid?.(id), source.readNetDev);
    return { at: Date.now(), cgroup, system, ...(networks ? { networks } : {}) };
  } catch {
    return undefined;
  }
}
