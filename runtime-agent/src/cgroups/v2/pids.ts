/** v2 pids controller: `pids.max` (`max` = none), `pids.current`. */
import type { CgroupLimits } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { pidsLimitOf } from '../limits.js';
import { log } from '../../log.js';

export async function applyPids(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  const limit = pidsLimitOf(limits);
  if (!(await dir.has('pids.max'))) {
    if (limit !== undefined) log.warn('cgroup.v2.missing', { controller: 'pids', dir: dir.path });
    return;
  }
  await dir.write('pids.max', limit ?? 'max');
}

/** Current count and limit, the limit 0 when there is none (Docker's convention). */
export async function readPidsStats(dir: CgroupDir): Promise<{ current: number; limit: number }> {
  const [current, limit] = await Promise.all([
    dir.readNumber('pids.current'),
    dir.readNumber('pids.max'),
  ]);
  return { current, limit: Number.isFinite(limit) ? limit : 0 };
}
