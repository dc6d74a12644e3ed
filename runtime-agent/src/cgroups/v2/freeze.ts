/**
 * v2 freezer, part of the core: write 1 to `cgroup.freeze`, then wait until `cgroup.events`
 * reports `frozen 1` (the kernel freezes tasks asynchronously); 0 and `frozen 0` to thaw.
 */
import type { CgroupDir } from '../dir.js';
import { waitFor } from '../teardown.js';
import { systemError } from '../../errors.js';

const TIMEOUT_MS = 5000;

export async function isFrozen(dir: CgroupDir): Promise<boolean> {
  return (await dir.readOptional('cgroup.freeze')) === '1';
}

export async function freeze(dir: CgroupDir): Promise<void> {
  await dir.write('cgroup.freeze', 1);
  if (!(await waitFor(() => eventsSay(dir, 1), TIMEOUT_MS))) {
    await dir.write('cgroup.freeze', 0);
    throw systemError(`cgroup: ${dir.path} did not freeze within ${TIMEOUT_MS} ms`);
  }
}

export async function thaw(dir: CgroupDir): Promise<void> {
  await dir.write('cgroup.freeze', 0);
  if (!(await waitFor(() => eventsSay(dir, 0), TIMEOUT_MS))) {
    throw systemError(`cgroup: ${dir.path} did not thaw within ${TIMEOUT_MS} ms`);
  }
}

async function eventsSay(dir: CgroupDir, frozen: 0 | 1): Promise<boolean> {
  return ((await dir.readKeyed('cgroup.events')).frozen ?? 0) === frozen;
}
