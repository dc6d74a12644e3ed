/**
 * What a CgroupLimits means, decided once for both drivers, and its validation with Docker's
 * own messages (moby `daemon/daemon_unix.go` verifyPlatformContainerResources), so the API
 * layer can answer 400 before anything is made.
 */
import { readFileSync } from 'node:fs';
import { invalid } from '../errors.js';
import type { CgroupLimits } from './cgroup.js';

/** Docker's floor, not the kernel's: room for a container's own start-up. */
export const MIN_MEMORY = 6 * 1024 * 1024;
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262_144;
export const DEFAULT_CPU_SHARES = 1024;
export const DEFAULT_CPU_PERIOD = 100_000;

/** The CPUs and memory nodes containers may be pinned to, in cpuset list syntax. */
export interface HostCpus {
  readonly cpus: string;
  readonly mems: string;
}

let cachedHostCpus: HostCpus | undefined;

/** This machine's online CPUs and memory nodes (read once). */
export function hostCpus(): HostCpus {
  cachedHostCpus ??= {
    cpus: readSysList('/sys/devices/system/cpu/online') ?? '0',
    mems: readSysList('/sys/devices/system/node/online') ?? '0',
  };
  return cachedHostCpus;
}

function readSysList(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Throws `invalid(...)` with Docker's message for the first limit Docker would refuse. */
export function validateLimits(limits: CgroupLimits, host: HostCpus = hostCpus()): void {
  for (const field of [
    'memory',
    'memorySwap',
    'cpuQuota',
    'cpuPeriod',
    'cpuShares',
    'pidsLimit',
  ] as const) {
    const value = limits[field];
    if (value !== undefined && !Number.isSafeInteger(value)) {
      throw invalid(`invalid ${field}: ${String(value)} is not an integer`);
    }
  }
  const memory = limits.memory ?? 0;
  const swap = limits.memorySwap ?? 0;
  if (memory !== 0 && memory < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
  if (swap < -1) throw invalid(`invalid memory swap limit ${swap}: use -1 for unlimited swap`);
  if (memory > 0 && swap > 0 && swap < memory) {
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory === 0 && swap > 0) {
    throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if ((limits.cpuShares ?? 0) < 0) throw invalid('shares: invalid argument');
  const period = limits.cpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw invalid(
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    );
  }
  const quota = limits.cpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  checkCpuset(limits.cpusetCpus, host.cpus, 'cpus', 'CPUs');
  checkCpuset(limits.cpusetMems, host.mems, 'mems', 'memory nodes');
}

function checkCpuset(requested: string | undefined, available: string, kind: string, what: string) {
  if (requested === undefined || requested === '') return;
  const wanted = parseCpuList(requested);
  if (wanted === undefined) throw invalid(`Invalid value ${requested} for cpuset ${kind}`);
  const have = parseCpuList(available) ?? new Set<number>();
  for (const id of wanted) {
    if (!have.has(id)) {
      throw invalid(
        `Requested ${what} are not available - requested ${requested}, available: ${available}`,
      );
    }
  }
}

/** Parses the kernel's list syntax (`0-2,4`); undefined when malformed. */
export function parseCpuList(text: string): Set<number> | undefined {
  const out = new Set<number>();
  if (text === '') return out;
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return undefined;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last - first > 65_536) return undefined;
    for (let id = first; id <= last; id++) out.add(id);
  }
  return out;
}

/** The memory limit in bytes, or undefined for none. */
export function memoryLimitOf(limits: CgroupLimits): number | undefined {
  const memory = limits.memory ?? 0;
  return memory > 0 ? memory : undefined;
}

/**
 * Memory + swap in bytes, or undefined for unlimited swap. Docker's default (memorySwap
 * undefined or 0 with a memory limit) is twice the memory limit, i.e. swap = memory.
 */
export function memorySwapLimitOf(limits: CgroupLimits): number | undefined {
  const memory = memoryLimitOf(limits);
  if (memory === undefined) return undefined;
  const swap = limits.memorySwap ?? 0;
  if (swap === -1) return undefined;
  return swap > 0 ? swap : memory * 2;
}

/** Shares clamped to the kernel's range as Docker does; undefined or 0 → the default. */
export function cpuSharesOf(limits: CgroupLimits): number {
  const shares = limits.cpuShares ?? 0;
  if (shares <= 0) return DEFAULT_CPU_SHARES;
  return Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, shares));
}

/** The CFS quota in µs, or undefined for none. */
export function cpuQuotaOf(limits: CgroupLimits): number | undefined {
  const quota = limits.cpuQuota ?? 0;
  return quota > 0 ? quota : undefined;
}

export function cpuPeriodOf(limits: CgroupLimits): number {
  const period = limits.cpuPeriod ?? 0;
  return period > 0 ? period : DEFAULT_CPU_PERIOD;
}

/** The pids limit, or undefined for none. */
export function pidsLimitOf(limits: CgroupLimits): number | undefined {
  const pids = limits.pidsLimit ?? 0;
  return pids > 0 ? pids : undefined;
}
