/**
 * v1 blkio controller, read only: bytes per device and operation from
 * `blkio.throttle.io_service_bytes(_recursive)` — lines `8:0 Read 4096`, ops Read, Write,
 * Sync, Async, Discard, Total, as Docker reports them on v1.
 */
import type { CgroupStats } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';

export async function readBlkioStats(dir: CgroupDir): Promise<CgroupStats['blkio']> {
  const text =
    (await dir.readOptional('blkio.throttle.io_service_bytes_recursive')) ??
    (await dir.readOptional('blkio.throttle.io_service_bytes')) ??
    '';
  return parseIoServiceBytes(text);
}

export function parseIoServiceBytes(text: string): CgroupStats['blkio'] {
  const out: { major: number; minor: number; op: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):(\d+)\s+(\w+)\s+(\d+)$/.exec(line.trim());
    if (match) {
      out.push({
        major: Number(match[1]),
        minor: Number(match[2]),
        op: match[3] ?? '',
        value: Number(match[4]),
      });
    }
  }
  return out;
}
