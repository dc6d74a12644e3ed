/**
 * v2 memory controller: `memory.max`, `memory.swap.max` (swap alone, not memory + swap as on
 * v1; the file exists only with swap accounting), OOM kills counted in `memory.events`
 * (`oom_kill`, this group and below), usage in `memory.current` / `memory.peak` /
 * `memory.stat`.
 */
import { totalmem } from 'node:os';
import type { CgroupLimits, MemoryCounters } from '../cgroup.js';
import type { CgroupDir } from '../dir.js';
import { memoryLimitOf, memorySwapLimitOf } from '../limits.js';
import { log } from '../../log.js';

export async function applyMemory(dir: CgroupDir, limits: CgroupLimits): Promise<void> {
  const memory = memoryLimitOf(limits);
  if (!(await dir.has('memory.max'))) {
    if (memory !== undefined) log.warn('cgroup.v2.missing', { controller: 'memory', dir: dir.path });
    return;
  }
  await dir.write('memory.max', memory ?? 'max');
  if (!(await dir.has('memory.swap.max'))) return;
  const total = memorySwapLimitOf(limits);
  await dir.write(
    'memory.swap.max',
    memory === undefined || total === undefined ? 'max' : total - memory,
  );
}

export async function memoryOomKilled(dir: CgroupDir): Promise<boolean> {
  return ((await dir.readKeyed('memory.events')).oom_kill ?? 0) > 0;
}

export async function readMemoryStats(dir: CgroupDir): Promise<MemoryCounters> {
  const [usage, limit, maxUsage, stat] = await Promise.all([
    dir.readNumber('memory.current'),
    dir.readNumber('memory.max'),
    dir.readNumber('memory.peak'),
    dir.readKeyed('memory.stat'),
  ]);
  return { usage, limit: Math.min(limit || Infinity, totalmem()), maxUsage, stat };
}
