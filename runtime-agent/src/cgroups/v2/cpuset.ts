/**
 * v2 cpuset controller: `cpuset.cpus` / `cpuset.mems`. Unlike v1, an empty value means "the
 * parent's", so nothing has to be copied down and an unset limit is written as empty.
 */
import type { CgroupLimits } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { log } from '../../log.js';

export async function applyCpuset(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  if (!(await dir.has('cpuset.cpus'))) {
    if (limits.cpusetCpus || limits.cpusetMems) {
      log.warn('cgroup.v2.missing', { controller: 'cpuset', dir: dir.path });
    }
    return;
  }
  for (const [file, value] of [
    ['cpuset.cpus', limits.cpusetCpus ?? ''],
    ['cpuset.mems', limits.cpusetMems ?? ''],
  ] as const) {
    if ((await dir.read(file)) !== value) await dir.write(file, value);
  }
}
