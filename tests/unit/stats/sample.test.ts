import { describe, expect, it } from 'vitest';
import type { CgroupStats } from '../../../runtime-agent/src/cgroups/cgroup.js';
import {
  blockIo,
  buildSample,
  cpuPercent,
  cpuPercentOf,
  emptySample,
  memoryUsageNoCache,
  previousOf,
  ZERO_TIME,
  type Reading,
} from '../../../runtime-agent/src/stats/sample.js';
import { parseProcStat } from '../../../runtime-agent/src/stats/system-cpu.js';

function cgroupStats(over: Partial<CgroupStats> = {}): CgroupStats {
  return {
    cpuUsageNs: 5_000_000_000,
    cpuUserNs: 3_000_000_000,
    cpuSystemNs: 2_000_000_000,
    perCpuNs: [2_000_000_000, 3_000_000_000],
    throttling: { periods: 10, throttledPeriods: 2, throttledTimeNs: 7_000 },
    memoryUsage: 10_000_000,
    memoryLimit: 67_108_864,
    memoryMaxUsage: 12_000_000,
    memoryStat: { cache: 4096, total_inactive_file: 2_000_000, inactive_file: 1_000, rss: 8192, pgfault: 17, unknown_counter: 5 },
    pidsCurrent: 3,
    pidsLimit: 0,
    blkio: [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 1024 },
      { major: 8, minor: 0, op: 'Sync', value: 5120 },
      { major: 8, minor: 0, op: 'Total', value: 5120 },
    ],
    ...over,
  };
}

const who = { id: 'a'.repeat(64), name: 'web' };
const reading = (over: Partial<CgroupStats> = {}, at = Date.UTC(2024, 4, 1, 10, 0, 0, 123)): Reading => ({
  at,
  cgroup: cgroupStats(over),
  system: { systemNs: 900_000_000_000_000, onlineCpus: 2 },
});

describe('CPU % (the docker CLI formula)', () => {
  it('is the container delta over the system delta times the online CPUs times 100', () => {
    // 0.5 s of container CPU over 2 s of host CPU time (1 s wall on 2 CPUs) = 50 % of one CPU.
    expect(cpuPercentOf(500_000_000, 2_000_000_000, 2)).toBeCloseTo(50, 10);
    // One CPU fully busy on a 2-CPU host: 1 s over 2 s × 2 × 100 = 100 %.
    expect(cpuPercentOf(1e9, 2e9, 2)).toBe(100);
  });

  it('is 0 unless both deltas are positive', () => {
    expect(cpuPercentOf(0, 2e9, 2)).toBe(0);
    expect(cpuPercentOf(1e9, 0, 2)).toBe(0);
    expect(cpuPercentOf(-5, 2e9, 2)).toBe(0);
  });

  it('works on two samples and falls back to the per-CPU count when online_cpus is absent', () => {
    const before = buildSample(who, reading({ cpuUsageNs: 1e9 }), 1);
    const after = buildSample(who, { ...reading({ cpuUsageNs: 1.25e9 }), system: { systemNs: 900_000_000_000_000 + 1e9, onlineCpus: 0 } }, 1, previousOf(before));
    expect(after.cpu_stats.online_cpus).toBeUndefined();
    expect(cpuPercent(after.precpu_stats, after.cpu_stats)).toBeCloseTo(50, 10); // 0.25/1 × 2 per-CPU entries
  });

  it('on a first sample (precpu zeros) is the average since start, as in Docker\'s first streamed sample', () => {
    const first = buildSample(who, reading(), 2);
    expect(first.precpu_stats.system_cpu_usage).toBeUndefined();
    expect(cpuPercent(first.precpu_stats, first.cpu_stats)).toBeGreaterThan(0);
  });
});

describe('the stats JSON', () => {
  it('carries networks after id, as Docker orders them, and omits them when the reading has none', () => {
    const eth0 = { rx_bytes: 10, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 20, tx_packets: 2, tx_errors: 0, tx_dropped: 0 };
    const s = buildSample(who, { ...reading(), networks: { eth0 } }, 2);
    expect(Object.keys(s).slice(-3)).toEqual(['name', 'id', 'networks']);
    expect(s.networks).toEqual({ eth0 });
    expect(JSON.parse(JSON.stringify(s)).networks.eth0).toEqual(eth0);
    expect(buildSample(who, reading(), 2)).not.toHaveProperty('networks');
    expect(emptySample(who)).not.toHaveProperty('networks');
  });

  it('has Docker v1 shapes: percpu, max_usage, v1 memory counters, the kernel blkio entries', () => {
    const s = buildSample(who, reading(), 1);
    expect(Object.keys(s)).toEqual([
      'read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id',
    ]);
    expect(s.read).toBe('2024-05-01T10:00:00.123Z');
    expect(s.preread).toBe(ZERO_TIME);
    expect(s.name).toBe('/web');
    expect(s.num_procs).toBe(0);
    expect(s.storage_stats).toEqual({});
    expect(s.pids_stats).toEqual({ current: 3 });
    expect(s.cpu_stats).toEqual({
      cpu_usage: { total_usage: 5e9, percpu_usage: [2e9, 3e9], usage_in_kernelmode: 2e9, usage_in_usermode: 3e9 },
      system_cpu_usage: 900_000_000_000_000,
      online_cpus: 2,
      throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 7000 },
    });
    expect(s.precpu_stats).toEqual({
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    });
    expect(s.memory_stats.usage).toBe(10_000_000);
    expect(s.memory_stats.max_usage).toBe(12_000_000);
    expect(s.memory_stats.limit).toBe(67_108_864);
    expect(s.memory_stats.stats).toMatchObject({ cache: 4096, total_inactive_file: 2_000_000, rss: 8192, pgfault: 17, total_rss: 0 });
    expect(s.memory_stats.stats).not.toHaveProperty('unknown_counter');
    expect(s.memory_stats.stats).not.toHaveProperty('anon');
    expect(s.blkio_stats.io_service_bytes_recursive).toHaveLength(4);
    expect(s.blkio_stats.io_serviced_recursive).toEqual([]);
  });

  it('has Docker v2 shapes: no percpu, no max_usage, v2 counters, read/write blkio, null lists', () => {
    const s = buildSample(
      who,
      reading({
        perCpuNs: [],
        memoryStat: { anon: 1, file: 2, inactive_file: 3, kernel_stack: 4 },
        pidsLimit: 100,
        blkio: [
          { major: 254, minor: 0, op: 'read', value: 10 },
          { major: 254, minor: 0, op: 'write', value: 20 },
        ],
      }),
      2,
    );
    expect(s.cpu_stats.cpu_usage).not.toHaveProperty('percpu_usage');
    expect(s.memory_stats).not.toHaveProperty('max_usage');
    expect(s.memory_stats.stats).toMatchObject({ anon: 1, file: 2, inactive_file: 3, kernel_stack: 4, slab: 0 });
    expect(s.memory_stats.stats).not.toHaveProperty('cache');
    expect(s.pids_stats).toEqual({ current: 3, limit: 100 });
    expect(s.blkio_stats.io_service_bytes_recursive).toEqual([
      { major: 254, minor: 0, op: 'read', value: 10 },
      { major: 254, minor: 0, op: 'write', value: 20 },
    ]);
    expect(s.blkio_stats.io_serviced_recursive).toBeNull();
    expect(buildSample(who, reading({ blkio: [] }), 2).blkio_stats.io_service_bytes_recursive).toBeNull();
  });

  it('carries the previous sample in preread and precpu_stats', () => {
    const first = buildSample(who, reading({ cpuUsageNs: 1e9 }, 1000), 1);
    const second = buildSample(who, reading({ cpuUsageNs: 2e9 }, 2000), 1, previousOf(first));
    expect(second.preread).toBe(first.read);
    expect(second.precpu_stats).toEqual(first.cpu_stats);
  });

  it('is Docker\'s zero sample for a container that is not running', () => {
    const s = emptySample(who);
    expect(JSON.parse(JSON.stringify(s))).toEqual({
      read: ZERO_TIME,
      preread: ZERO_TIME,
      pids_stats: {},
      blkio_stats: {
        io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
        io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
      },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      memory_stats: {},
      name: '/web',
      id: who.id,
    });
  });
});

describe('the docker CLI\'s derived numbers', () => {
  it('memory without cache: usage − total_inactive_file (v1) or inactive_file (v2)', () => {
    expect(memoryUsageNoCache({ usage: 10_000, stats: { total_inactive_file: 4_000, inactive_file: 1_000 } })).toBe(6_000);
    expect(memoryUsageNoCache({ usage: 10_000, stats: { inactive_file: 1_000 } })).toBe(9_000);
    expect(memoryUsageNoCache({ usage: 10_000, stats: { total_inactive_file: 20_000, inactive_file: 1_000 } })).toBe(9_000);
    expect(memoryUsageNoCache({ usage: 10_000, stats: { inactive_file: 20_000 } })).toBe(10_000);
    expect(memoryUsageNoCache({})).toBe(0);
  });

  it('block I/O sums ops starting with r and w over devices', () => {
    expect(blockIo(buildSample(who, reading(), 1).blkio_stats.io_service_bytes_recursive)).toEqual({ read: 4096, write: 1024 });
    expect(blockIo(null)).toEqual({ read: 0, write: 0 });
  });
});

describe('/proc/stat', () => {
  it('sums the first seven fields of the cpu line in ns (USER_HZ 100) and counts cpuN lines', () => {
    const text = 'cpu  100 2 30 4000 5 6 7 8 9 10\ncpu0 50 1 15 2000 2 3 3 4 0 0\ncpu1 50 1 15 2000 3 3 4 4 0 0\nintr 12345\nctxt 1\n';
    expect(parseProcStat(text)).toEqual({ systemNs: (100 + 2 + 30 + 4000 + 5 + 6 + 7) * 10_000_000, onlineCpus: 2 });
  });

  it('refuses a /proc/stat without a cpu line', () => {
    expect(() => parseProcStat('intr 1\n')).toThrow(/no cpu line/);
  });
});
