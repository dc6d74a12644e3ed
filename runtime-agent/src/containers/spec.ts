import { join } from 'node:path';
import type { Image } from '../images/types.js';
import type { MountSpec, NetworkNamespace, ProcessSpec, ResourceLimit, SeccompMode } from '../native/protocol.js';
import { effectiveCapabilities } from './capabilities.js';
import type { ContainerRecord } from './model.js';
import type { ResolvedUser } from './user.js';
import { mountSpecs } from './mount-specs.js';

/** Docker's defaults for what an unprivileged container may not see or change in /proc and /sys. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's default open-files limit for containers (not Node's raised one). */
const DEFAULT_RLIMITS: readonly ResourceLimit[] = [{ type: 'nofile', soft: 1048576, hard: 1048576 }];

function network(c: ContainerRecord): NetworkNamespace {
  return c.HostConfig.NetworkMode === 'host' ? { kind: 'host' } : { kind: 'new' };
}

/** `PATH` and `HOME` as Docker adds them when the image and user leave them out. */
export function containerEnvironment(c: ContainerRecord, user: ResolvedUser): string[] {
  const env = [...(c.Config.Env ?? [])];
  const has = (k: string): boolean => env.some((e) => e === k || e.startsWith(`${k}=`));
  if (!has('PATH')) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  if (!has('HOSTNAME')) env.push(`HOSTNAME=${c.Config.Hostname ?? ''}`);
  if (!has('HOME')) env.push(`HOME=${user.home || '/'}`);
  return env;
}

function ulimits(c: ContainerRecord): ResourceLimit[] {
  const limits = new Map(DEFAULT_RLIMITS.map((l) => [l.type, l]));
  for (const u of c.HostConfig.Ulimits ?? []) limits.set(u.Name, { type: u.Name, soft: u.Soft, hard: u.Hard });
  return [...limits.values()];
}

export interface SpecInputs {
  readonly container: ContainerRecord;
  readonly image: Image;
  readonly user: ResolvedUser;
  /** The container's directory under the data root. */
  readonly dir: string;
  /** An empty directory under the exec root where the helper mounts the rootfs. */
  readonly mountPoint: string;
  /** Each volume's host path for this run, by name (mounts.ts mountVolumes). */
  readonly volumePaths: ReadonlyMap<string, string>;
}

/** `--security-opt seccomp=unconfined` (or `seccomp:unconfined`). */
const UNCONFINED = /^seccomp[=:]unconfined$/;

/** The container's seccomp mode: no filter when privileged or `seccomp=unconfined`, else
 *  the helper's default filter (create refuses custom profiles). */
export function seccompMode(c: ContainerRecord, privilegedExec = false): SeccompMode {
  if (c.HostConfig.Privileged === true || privilegedExec) return 'unconfined';
  return (c.HostConfig.SecurityOpt ?? []).some((o) => UNCONFINED.test(o)) ? 'unconfined' : 'default';
}

/** Everything the native helper needs to start this container's process. */
export function processSpec({ container: c, image, user, dir, mountPoint, volumePaths }: SpecInputs): ProcessSpec {
  const privileged = c.HostConfig.Privileged === true;
  const etcFiles: MountSpec[] = ['hostname', 'hosts', 'resolv.conf'].map((f) => ({
    source: join(dir, f),
    destination: `/etc/${f}`,
    type: 'bind',
    options: ['rbind', 'rprivate'],
  }));
  const mounts = mountSpecs(c.MountPoints ?? [], volumePaths, etcFiles);
  const noNewPrivileges = (c.HostConfig.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true|=true)?$/.test(o));
  return {
    rootfs: {
      lower: [...image.layers].reverse().map((l) => l.dir),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      target: mountPoint,
      readonly: c.HostConfig.ReadonlyRootfs === true,
    },
    hostname: c.Config.Hostname ?? c.Id.slice(0, 12),
    args: [c.Path, ...c.Args],
    env: containerEnvironment(c, user),
    cwd: c.Config.WorkingDir || '/',
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    capabilities: effectiveCapabilities(c.HostConfig.CapAdd, c.HostConfig.CapDrop, privileged),
    network: network(c),
    mounts,
    maskedPaths: privileged ? [] : MASKED_PATHS,
    readonlyPaths: privileged ? [] : READONLY_PATHS,
    rlimits: ulimits(c),
    noNewPrivileges,
    privileged,
    openStdin: c.Config.OpenStdin === true,
    oomScoreAdj: c.HostConfig.OomScoreAdj ?? 0,
    tty: c.Config.Tty === true,
    init: c.HostConfig.Init === true,
    seccomp: seccompMode(c),
  };
}
