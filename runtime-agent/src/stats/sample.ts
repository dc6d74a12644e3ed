/**
 * Docker's stats JSON (`GET /containers/{id}/stats`, API v1.43) built from a cgroup reading,
 * and the numbers the docker CLI derives from it (CPU %, memory without cache, block I/O).
 *
 * Field order and omissions follow Docker's Go types (`omitempty` fields vanish when zero):
 *
 *   read, preread            RFC 3339; 0001-01-01T00:00:00Z when absent
 *   pids_stats               {current, limit}  (limit omitted when unlimited)
 *   blkio_stats              io_service_bytes_recursive: v1 the kernel's entries (Read, Write,
 *                            Sync, Async, Discard, Total per device); v2 one `read` and one
 *                            `write` entry per device (null when none); the other lists are
 *                            [] on v1 and null on v2, as Docker reports them
 *   num_procs: 0, storage_stats: {}
 *   cpu_stats                cpu_usage {total_usage, percpu_usage (v1), usage_in_kernelmode,
 *                            usage_in_usermode}, system_cpu_usage, online_cpus, throttling_data
 *   precpu_stats             the previous sample's cpu_stats (zeros on the first)
 *   memory_stats             usage, max_usage (v1), stats (memory.stat counters under Docker's
 *                            names for the cgroup version), limit (host memory when unlimited)
 *   name "/name", id
 *   networks                 {eth0: {rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes,
 *                            tx_packets, tx_errors, tx_dropped}, ...} from the container's
 *                            /proc/<pid>/net/dev without lo (net-dev.ts); omitted for host,
 *                            none and container:<id> networking, as Docker omits it
 *
 * A container that is not running gets the zero sample Docker sends: only name and id set.
 */
import type { CgroupStats } from '../cgroups/cgroup.js';
import type { Networks } from './net-dev.js';
import type { SystemCpu } from './system-cpu.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

export interface CpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: ThrottlingData;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

type BlkioList = BlkioEntry[] | null;

export interface BlkioStats {
  io_service_bytes_recursive: BlkioList;
  io_serviced_recursive: BlkioList;
  io_queue_recursive: BlkioList;
  io_service_time_recursive: BlkioList;
  io_wait_time_recursive: BlkioList;
  io_merged_recursive: BlkioList;
  io_time_recursive: BlkioList;
  sectors_recursive: BlkioList;
}

export interface MemoryStats {
  usage?: number;
  max_usage?: number;
  stats?: Record<string, number>;
  limit?: number;
}

export interface StatsJson {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  name: string;
  id: string;
  networks?: Networks;
}

/** memory.stat counters Docker reports on cgroup v1 (containerd's parsed set). */
const V1_MEMORY_KEYS = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault',
  'pgmajfault', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable',
  'hierarchical_memory_limit', 'hierarchical_memsw_limit', 'total_cache', 'total_rss',
  'total_rss_huge', 'total_mapped_file', 'total_dirty', 'total_writeback', 'total_pgpgin',
  'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon', 'total_active_anon',
  'total_inactive_file', 'total_active_file', 'total_unevictable',
] as const;

/** memory.stat counters Docker reports on cgroup v2. */
const V2_MEMORY_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty',
  'file_writeback', 'anon_thp', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file',
  'unevictable', 'slab_reclaimable', 'slab_unreclaimable', 'pgfault', 'pgmajfault',
  'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc',
  'thp_collapse_alloc',
] as const;

export function zeroCpuStats(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

function emptyBlkio(list: BlkioList): BlkioStats {
  return {
    io_service_bytes_recursive: list,
    io_serviced_recursive: list === null ? null : [],
    io_queue_recursive: list === null ? null : [],
    io_service_time_recursive: list === null ? null : [],
    io_wait_time_recursive: list === null ? null : [],
    io_merged_recursive: list === null ? null : [],
    io_time_recursive: list === null ? null : [],
    sectors_recursive: list === null ? null : [],
  };
}

/** What a sample is made of: one cgroup reading and the host CPU reading next to it. */
export interface Reading {
  /** ms since the epoch. */
  readonly at: number;
  readonly cgroup: CgroupStats;
  readonly system: SystemCpu;
  /** The container's interfaces (net-dev.ts); absent when it has none of its own. */
  readonly networks?: Readonly<Networks>;
}

export interface SampleIdentity {
  readonly id: string;
  /** Without the leading slash. */
  readonly name: string;
}

/** The previous sample a new one refers to (its `read` and `cpu_stats`). */
export interface Previous {
  readonly read: string;
  readonly cpu: CpuStats;
}

const finite = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

function cpuStats(reading: Reading): CpuStats {
  const s = reading.cgroup;
  return {
    cpu_usage: {
      total_usage: s.cpuUsageNs,
      ...(s.perCpuNs.length > 0 ? { percpu_usage: [...s.perCpuNs] } : {}),
      usage_in_kernelmode: s.cpuSystemNs,
      usage_in_usermode: s.cpuUserNs,
    },
    ...(reading.system.systemNs > 0 ? { system_cpu_usage: reading.system.systemNs } : {}),
    ...(reading.system.onlineCpus > 0 ? { online_cpus: reading.system.onlineCpus } : {}),
    throttling_data: {
      periods: s.throttling.periods,
      throttled_periods: s.throttling.throttledPeriods,
      throttled_time: s.throttling.throttledTimeNs,
    },
  };
}

function memoryStats(s: CgroupStats, version: 1 | 2): MemoryStats {
  const keys: readonly string[] = version === 1 ? V1_MEMORY_KEYS : V2_MEMORY_KEYS;
  const stats: Record<string, number> = {};
  for (const key of keys) stats[key] = finite(s.memoryStat[key] ?? 0);
  const out: MemoryStats = {};
  if (s.memoryUsage > 0) out.usage = s.memoryUsage;
  if (version === 1 && s.memoryMaxUsage > 0) out.max_usage = s.memoryMaxUsage;
  out.stats = stats;
  if (finite(s.memoryLimit) > 0) out.limit = s.memoryLimit;
  return out;
}

function blkioStats(s: CgroupStats, version: 1 | 2): BlkioStats {
  const entries = s.blkio.map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));
  if (version === 1) return emptyBlkio(entries);
  return { ...emptyBlkio(null), io_service_bytes_recursive: entries.length > 0 ? entries : null };
}

function copyNetworks(networks: Readonly<Networks>): Networks {
  const out: Networks = {};
  for (const [name, n] of Object.entries(networks)) out[name] = { ...n };
  return out;
}

/** Docker's stats JSON for a running container. */
export function buildSample(who: SampleIdentity, reading: Reading, version: 1 | 2, previous?: Previous): StatsJson {
  const s = reading.cgroup;
  const pids: StatsJson['pids_stats'] = {};
  if (s.pidsCurrent > 0) pids.current = s.pidsCurrent;
  if (s.pidsLimit > 0 && Number.isFinite(s.pidsLimit)) pids.limit = s.pidsLimit;
  return {
    read: new Date(reading.at).toISOString(),
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: pids,
    blkio_stats: blkioStats(s, version),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(reading),
    precpu_stats: previous?.cpu ?? zeroCpuStats(),
    memory_stats: memoryStats(s, version),
    name: `/${who.name}`,
    id: who.id,
    ...(reading.networks ? { networks: copyNetworks(reading.networks) } : {}),
  };
}

/** The sample Docker sends for a container that is not running: zeros, name and id. */
export function emptySample(who: SampleIdentity, previous?: Previous): StatsJson {
  return {
    read: ZERO_TIME,
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: {},
    blkio_stats: emptyBlkio(null),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: zeroCpuStats(),
    precpu_stats: previous?.cpu ?? zeroCpuStats(),
    memory_stats: {},
    name: `/${who.name}`,
    id: who.id,
  };
}

/** What a sample hands on to the next one. */
export function previousOf(sample: StatsJson): Previous {
  return { read: sample.read, cpu: sample.cpu_stats };
}

/**
 * CPU % exactly as the docker CLI computes it: the container's CPU time delta over the host's
 * CPU time delta, times the online CPUs (or the per-CPU entries when that is 0), times 100;
 * 0 unless both deltas are positive.
 */
export function cpuPercent(previous: Pick<CpuStats, 'cpu_usage' | 'system_cpu_usage'>, current: CpuStats): number {
  let online = current.online_cpus ?? 0;
  if (online === 0) online = current.cpu_usage.percpu_usage?.length ?? 0;
  return cpuPercentOf(
    current.cpu_usage.total_usage - previous.cpu_usage.total_usage,
    (current.system_cpu_usage ?? 0) - (previous.system_cpu_usage ?? 0),
    online,
  );
}

/** The docker CLI's formula on raw deltas (ns). */
export function cpuPercentOf(cpuDelta: number, systemDelta: number, onlineCpus: number): number {
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * onlineCpus * 100 : 0;
}

/**
 * Memory in use without the page cache, as the docker CLI shows it: usage minus
 * `total_inactive_file` (v1) or `inactive_file` (v2) when that is smaller than usage.
 */
export function memoryUsageNoCache(memory: Pick<MemoryStats, 'usage' | 'stats'>): number {
  const usage = memory.usage ?? 0;
  const v1 = memory.stats?.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = memory.stats?.inactive_file ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

/** Bytes read and written, summed over devices as the docker CLI does (ops starting r / w). */
export function blockIo(entries: readonly { op: string; value: number }[] | null): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of entries ?? []) {
    const first = e.op[0];
    if (first === 'r' || first === 'R') read += e.value;
    else if (first === 'w' || first === 'W') write += e.value;
  }
  return { read, write };
}
