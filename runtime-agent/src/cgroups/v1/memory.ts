/**
 * v1 memory controller: `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes` (memory +
 * swap; present only when the kernel does swap accounting), OOM kills from
 * `memory.oom_control`, usage from `memory.usage_in_bytes` / `memory.stat`.
 *
 * The kernel keeps limit <= memsw.limit at every moment, so the order of the two writes
 * depends on the direction: raise memsw first when the new total is above the current
 * memory limit, otherwise lower the memory limit first.
 */
import { totalmem } from 'node:os';
import type { CgroupLimits, MemoryCounters } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { memoryLimitOf, memorySwapLimitOf } from '../limits.js';

const LIMIT = 'memory.limit_in_bytes';
const MEMSW_LIMIT = 'memory.memsw.limit_in_bytes';
/** What v1 takes for "no limit". */
const UNLIMITED = -1;

export async function applyMemory(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  const memory = memoryLimitOf(limits) ?? UNLIMITED;
  if (!(await dir.has(MEMSW_LIMIT))) {
    // No swap accounting: the memory limit alone (Docker warns and does the same).
    await dir.write(LIMIT, memory);
    return;
  }
  const total = memorySwapLimitOf(limits) ?? UNLIMITED;
  const currentMemory = await dir.readNumber(LIMIT); // Infinity when unlimited
  const swapFirst = total === UNLIMITED || currentMemory < total;
  if (swapFirst) {
    await dir.write(MEMSW_LIMIT, total);
    await dir.write(LIMIT, memory);
  } else {
    await dir.write(LIMIT, memory);
    await dir.write(MEMSW_LIMIT, total);
  }
}

/** `oom_kill N` on kernels ≥ 4.13; older ones only say `under_oom 1` while it happens. */
export async function memoryOomKilled(dir: CgroupDir): Promise<boolean> {
  const control = await dir.readKeyed('memory.oom_control');
  if (control.oom_kill !== undefined) return control.oom_kill > 0;
  return control.under_oom === 1;
}

export async function readMemoryStats(dir: CgroupDir): Promise<MemoryCounters> {
  const [usage, limit, maxUsage, stat] = await Promise.all([
    dir.readNumber('memory.usage_in_bytes'),
    dir.readNumber(LIMIT),
    dir.readNumber('memory.max_usage_in_bytes'),
    dir.readKeyed('memory.stat'),
  ]);
  return { usage, limit: Math.min(limit || Infinity, totalmem()), maxUsage, stat };
}
