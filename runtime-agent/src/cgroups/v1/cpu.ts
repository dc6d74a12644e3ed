/**
 * v1 cpu and cpuacct controllers (separate hierarchies or co-mounted as `cpu,cpuacct`).
 * Limits: `cpu.shares`, `cpu.cfs_period_us`, `cpu.cfs_quota_us` (-1 = none).
 * Usage: `cpuacct.usage` / `cpuacct.usage_percpu` in ns, `cpuacct.stat` in USER_HZ ticks,
 * throttling from `cpu.stat` (`nr_periods`, `nr_throttled`, `throttled_time` in ns).
 */
import type { CgroupLimits, CgroupStats } from '../cgroup.js';
import { type CgroupDir, writeErrno } from '../dir.js';
import { cpuPeriodOf, cpuQuotaOf, cpuSharesOf } from '../limits.js';
import { log } from '../../log.js';

/** USER_HZ: the unit of cpuacct.stat; 100 on every Linux ABI berthd runs on. */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

export async function applyCpu(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  await dir.write('cpu.shares', cpuSharesOf(limits));
  const quota = cpuQuotaOf(limits);
  if (!(await dir.has('cpu.cfs_quota_us'))) {
    if (quota !== undefined) log.warn('cgroup.cpu.no-cfs', { dir: dir.path });
    return;
  }
  const period = cpuPeriodOf(limits);
  try {
    await dir.write('cpu.cfs_period_us', period);
    await dir.write('cpu.cfs_quota_us', quota ?? -1);
  } catch (err) {
    // The kernel checks the pair at each write; when the new period does not fit the old
    // quota, set the quota first.
    if (writeErrno(err) !== 'EINVAL') throw err;
    await dir.write('cpu.cfs_quota_us', quota ?? -1);
    await dir.write('cpu.cfs_period_us', period);
  }
}

export type CpuStats = Pick<
  CgroupStats,
  'cpuUsageNs' | 'cpuUserNs' | 'cpuSystemNs' | 'perCpuNs' | 'throttling'
>;

export async function readCpuStats(
  cpu: CgroupDir | undefined,
  cpuacct: CgroupDir | undefined,
): Promise<CpuStats> {
  const none: Record<string, number> = {};
  const [usage, perCpu, times, throttle] = await Promise.all([
    cpuacct ? cpuacct.readNumber('cpuacct.usage') : 0,
    cpuacct ? cpuacct.readOptional('cpuacct.usage_percpu') : undefined,
    cpuacct ? cpuacct.readKeyed('cpuacct.stat') : none,
    cpu ? cpu.readKeyed('cpu.stat') : none,
  ]);
  return {
    cpuUsageNs: usage,
    cpuUserNs: (times.user ?? 0) * NS_PER_TICK,
    cpuSystemNs: (times.system ?? 0) * NS_PER_TICK,
    perCpuNs: (perCpu ?? '').split(/\s+/).filter(Boolean).map(Number),
    throttling: {
      periods: throttle.nr_periods ?? 0,
      throttledPeriods: throttle.nr_throttled ?? 0,
      throttledTimeNs: throttle.throttled_time ?? 0,
    },
  };
}
