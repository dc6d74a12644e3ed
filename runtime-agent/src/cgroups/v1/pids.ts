/** v1 pids controller: `pids.max` (`max` = none), `pids.current`. */
import type { CgroupLimits } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { pidsLimitOf } from '../limits.js';

export async function applyPids(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  await dir.write('pids.max', pidsLimitOf(limits) ?? 'max');
}

/** Current count and limit, the limit 0 when there is none (Docker's convention). */
export async function readPidsStats(dir: CgroupDir): Promise<{ current: number; limit: number }> {
  const [current, limit] = await Promise.all([
    dir.readNumber('pids.current'),
    dir.readNumber('pids.max'),
  ]);
  return { current, limit: Number.isFinite(limit) ? limit : 0 };
}
