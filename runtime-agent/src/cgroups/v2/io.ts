/**
 * v2 io controller, read only: `io.stat` (`8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ...`),
 * reported as Docker does on v2: one "read" and one "write" entry per device, in bytes.
 */
import type { CgroupStats } from '../cgroup.js';
import { type CgroupDir, parseNestedKeyed } from '../dir.js';

export async function readIoStats(dir: CgroupDir): Promise<CgroupStats['blkio']> {
  return parseIoStat((await dir.readOptional('io.stat')) ?? '');
}

export function parseIoStat(text: string): CgroupStats['blkio'] {
  return parseNestedKeyed(text).flatMap(({ major, minor, fields }) => [
    { major, minor, op: 'read', value: fields.rbytes ?? 0 },
    { major, minor, op: 'write', value: fields.wbytes ?? 0 },
  ]);
}
