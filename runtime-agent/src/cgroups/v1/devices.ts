/**
 * v1 devices controller. Non-privileged containers: deny everything, then allow Docker's
 * standard set (runc's default allow-list plus moby's DefaultLinuxSpec). Privileged: `a`.
 *
 * Rewriting the rules of a running container leaves a moment where everything is denied, so
 * an update only rewrites them when the mode actually changes.
 */
import type { CgroupLimits } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';

const ALLOW_ALL = 'a *:* rwm';

/** `type major:minor access` rules written to devices.allow after `a` to devices.deny. */
export const DEFAULT_DEVICE_RULES: readonly string[] = [
  'c *:* m', // mknod of any char device (using it still needs a rule below)
  'b *:* m', // mknod of any block device
  'c 1:3 rwm', // /dev/null
  'c 1:5 rwm', // /dev/zero
  'c 1:7 rwm', // /dev/full
  'c 1:8 rwm', // /dev/random
  'c 1:9 rwm', // /dev/urandom
  'c 5:0 rwm', // /dev/tty
  'c 5:1 rwm', // /dev/console
  'c 5:2 rwm', // /dev/ptmx
  'c 136:* rwm', // /dev/pts/*
];

export async function applyDevices(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  const wantAll = limits.devices === 'all';
  const list = (await dir.read('devices.list')).split('\n').map((line) => line.trim());
  const isAll = list.includes(ALLOW_ALL);
  if (wantAll) {
    if (!isAll) await dir.write('devices.allow', 'a');
    return;
  }
  if (!isAll) return; // already restricted by us
  await dir.write('devices.deny', 'a');
  for (const rule of DEFAULT_DEVICE_RULES) await dir.write('devices.allow', rule);
}
