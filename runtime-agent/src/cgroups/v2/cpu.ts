/**
 * v2 cpu controller: `cpu.max` ("<quota> <period>" or "max <period>"), `cpu.weight`
 * (1..10000, default 100) converted from Docker's shares with runc's formula, and usage from
 * `cpu.stat` (core file, present even without the controller) in microseconds.
 */
import type { CgroupLimits, CgroupStats } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { cpuPeriodOf, cpuQuotaOf, cpuSharesOf } from '../limits.js';
import { log } from '../../log.js';

const DEFAULT_WEIGHT = 100;

/** runc's mapping of shares [2, 262144] onto weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142);
}

export async function applyCpu(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  const quota = cpuQuotaOf(limits);
  if (!(await dir.has('cpu.max'))) {
    if (quota !== undefined || limits.cpuShares) {
      log.warn('cgroup.v2.missing', { controller: 'cpu', dir: dir.path });
    }
    return;
  }
  const weight = limits.cpuShares ? sharesToWeight(cpuSharesOf(limits)) : DEFAULT_WEIGHT;
  await dir.write('cpu.weight', weight);
  await dir.write('cpu.max', `${quota ?? 'max'} ${cpuPeriodOf(limits)}`);
}

export type CpuStats = Pick<
  CgroupStats,
  'cpuUsageNs' | 'cpuUserNs' | 'cpuSystemNs' | 'perCpuNs' | 'throttling'
>;

export async function readCpuStats(dir: CgroupDir): Promise<CpuStats> {
  const stat = await dir.readKeyed('cpu.stat');
  return {
    cpuUsageNs: (stat.usage_usec ?? 0) * 1000,
    cpuUserNs: (stat.user_usec ?? 0) * 1000,
    cpuSystemNs: (stat.system_usec ?? 0) * 1000,
    perCpuNs: [],
    throttling: {
      periods: stat.nr_periods ?? 0,
      throttledPeriods: stat.nr_throttled ?? 0,
      throttledTimeNs: (stat.throttled_usec ?? 0) * 1000,
    },
  };
}
