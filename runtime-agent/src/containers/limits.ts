import { cpus } from 'node:os';
import type { CgroupLimits } from '../cgroups/cgroup.js';
import { validateLimits } from '../cgroups/limits.js';
import { invalid } from '../errors.js';
import type { HostConfig } from './model.js';

const DEFAULT_PERIOD = 100_000;

/** Turns a create request's HostConfig into cgroup limits, with Docker's checks. */
export function limitsFromHostConfig(hc: HostConfig): CgroupLimits {
  const nano = hc.NanoCpus ?? 0;
  if (nano < 0) throw invalid('Range of CPUs is from 0.01 to ' + cpus().length.toFixed(2) + ', as there are only ' + cpus().length + ' CPUs available');
  if (nano > 0 && ((hc.CpuQuota ?? 0) > 0 || (hc.CpuPeriod ?? 0) > 0)) {
    throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (nano > 0 && (nano < 10_000_000 || nano > cpus().length * 1e9)) {
    throw invalid(`Range of CPUs is from 0.01 to ${cpus().length.toFixed(2)}, as there are only ${cpus().length} CPUs available`);
  }
  const limits: CgroupLimits = {
    memory: positive(hc.Memory),
    memorySwap: hc.MemorySwap === 0 ? undefined : hc.MemorySwap,
    cpuShares: positive(hc.CpuShares),
    cpuQuota: nano > 0 ? Math.round((nano / 1e9) * DEFAULT_PERIOD) : positive(hc.CpuQuota),
    cpuPeriod: nano > 0 ? DEFAULT_PERIOD : positive(hc.CpuPeriod),
    cpusetCpus: hc.CpusetCpus === '' ? undefined : hc.CpusetCpus,
    cpusetMems: hc.CpusetMems === '' ? undefined : hc.CpusetMems,
    pidsLimit: hc.PidsLimit === null || hc.PidsLimit === undefined || hc.PidsLimit <= 0 ? undefined : hc.PidsLimit,
    devices: hc.Privileged ? 'all' : 'default',
  };
  if ((hc.Memory ?? 0) < 0) throw invalid('invalid memory limit: must not be negative');
  if ((hc.CpuShares ?? 0) < 0) throw invalid('invalid CPU shares: must not be negative');
  validateLimits(limits);
  return limits;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}
