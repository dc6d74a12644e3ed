/**
 * v1 cpuset controller. A new v1 cpuset group starts with empty `cpuset.cpus` and
 * `cpuset.mems`, and the kernel refuses tasks (ENOSPC) until both are set: every level berthd
 * makes gets its parent's values copied in. An unset limit means the parent's full set.
 */
import type { CgroupLimits } from '../cgroup.js';
import { type CgroupDir, makeGroupDirs } from '../dir.js';
import type { CgroupHost } from '../host.js';

const FILES = ['cpuset.cpus', 'cpuset.mems'] as const;

/** Makes each level of `path` under the cpuset hierarchy `root`, filling empty cpus/mems. */
export async function makeCpusetLevels(
  host: CgroupHost,
  root: string,
  path: string,
): Promise<void> {
  await makeGroupDirs(host, root, path, async (dir, parent) => {
    for (const file of FILES) {
      if ((await dir.read(file)) === '') await dir.write(file, await parent.read(file));
    }
  });
}

export async function applyCpuset(
  dir: CgroupDir,
  parent: CgroupDir,
  limits: CgroupLimits,
): Promise<void> {
  const cpus = limits.cpusetCpus || (await parent.read('cpuset.cpus'));
  const mems = limits.cpusetMems || (await parent.read('cpuset.mems'));
  if ((await dir.read('cpuset.cpus')) !== cpus) await dir.write('cpuset.cpus', cpus);
  if ((await dir.read('cpuset.mems')) !== mems) await dir.write('cpuset.mems', mems);
}
