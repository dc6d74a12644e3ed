/**
 * Picks the driver for this machine's cgroup mount:
 *   v2 — `<root>/cgroup.controllers` exists: the unified hierarchy is mounted at the root;
 *   v1 — controller hierarchies (`<root>/memory`, `<root>/cpu,cpuacct`...) are mounted under
 *        it. Hybrid setups (v2 at `<root>/unified` with no controllers) count as v1.
 */
import { join } from 'node:path';
import type { CgroupDriver } from './cgroup.js';
import { type CgroupHost, nodeCgroupHost } from './host.js';
import { CgroupV1Driver, findHierarchies, type V1Hierarchies } from './v1/driver.js';
import { CgroupV2Driver } from './v2/driver.js';
import { errnoCode, systemError } from '../errors.js';
import { log } from '../log.js';

export async function detectCgroupDriver(
  root = '/sys/fs/cgroup',
  host: CgroupHost = nodeCgroupHost,
): Promise<CgroupDriver> {
  if (await host.exists(join(root, 'cgroup.controllers'))) {
    log.debug('cgroup.detect', { root, version: 2 });
    return new CgroupV2Driver({ root, host });
  }
  let found: V1Hierarchies = new Map();
  try {
    found = await findHierarchies(host, root);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw systemError(`cgroup: cannot read ${root}`, err);
  }
  if (found.size === 0) throw systemError(`cgroup: no cgroup v1 or v2 hierarchy under ${root}`);
  log.debug('cgroup.detect', { root, version: 1, controllers: [...found.keys()].join(',') });
  return new CgroupV1Driver({ root, host });
}
