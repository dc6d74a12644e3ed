/**
 * The v1 driver against a fake v1 tree (memory/, cpu,cpuacct/ or cpu/ + cpuacct/, cpuset/,
 * pids/, freezer/, blkio/, devices/): the shared contract suite, then exactly what it writes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupDriver } from '../../../runtime-agent/src/cgroups/detect.js';
import { parseLimit } from '../../../runtime-agent/src/cgroups/dir.js';
import { CgroupV1Driver, findHierarchies } from '../../../runtime-agent/src/cgroups/v1/driver.js';
import { log } from '../../../runtime-agent/src/log.js';
import type { FakeOptions } from './fake-kernel.js';
import { FakeV1Kernel } from './fake-v1.js';
import { type CgroupHarness, cgroupDriverSuite } from './suite.js';

log.setQuiet(true);
const MiB = 1024 * 1024;

const limitOf = (text: string): number | 'max' => {
  const value = parseLimit(text);
  return Number.isFinite(value) && value !== -1 ? value : 'max';
};

function v1Harness(name: string, options: FakeOptions) {
  let current: FakeV1Kernel | undefined;
  const kernel = (): FakeV1Kernel => {
    if (!current) throw new Error('harness used outside a test');
    return current;
  };
  const read = (controller: string, path: string, file: string) =>
    kernel().get(kernel().fileOf(controller, path, file));
  const harness: CgroupHarness = {
    parent: 'berth',
    setup: async () => {
      current = new FakeV1Kernel(options);
      return new CgroupV1Driver({ root: current.root, host: current });
    },
    teardown: async () => kernel().dispose(),
    readLimits: async (path) => ({
      memory: limitOf(read('memory', path, 'memory.limit_in_bytes')),
      memorySwap:
        options.swapAccounting === false
          ? undefined
          : limitOf(read('memory', path, 'memory.memsw.limit_in_bytes')),
      cpuQuota: limitOf(read('cpu', path, 'cpu.cfs_quota_us')),
      cpuPeriod: Number(read('cpu', path, 'cpu.cfs_period_us')),
      cpuWeight: Number(read('cpu', path, 'cpu.shares')),
      pids: limitOf(read('pids', path, 'pids.max')),
      cpus: read('cpuset', path, 'cpuset.cpus'),
      mems: read('cpuset', path, 'cpuset.mems'),
    }),
    exists: async (path) =>
      kernel().hierarchies.some((h) => existsSync(join(kernel().root, h, path))),
    frozen: async (path) => read('freezer', path, 'freezer.state') === 'FROZEN',
    spawn: async () => kernel().newPid(),
    isAlive: async (pid) => kernel().isAlive(pid),
    weightFor: (shares) => shares ?? 1024,
    defaultCpuset: { cpus: '0-1', mems: '0' },
    swapAccounting: options.swapAccounting !== false,
    deviceRules: async (path) => read('devices', path, 'devices.list').split('\n').filter(Boolean),
  };
  return { name, harness };
}

for (const variant of [
  v1Harness('cpu,cpuacct co-mounted', {}),
  v1Harness('cpu and cpuacct apart, no swap accounting', {
    hierarchies: ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'freezer', 'blkio', 'devices'],
    swapAccounting: false,
  }),
]) {
  cgroupDriverSuite(`v1 fake: ${variant.name}`, variant.harness);
}

describe('v1 driver: what it writes', () => {
  let kernel: FakeV1Kernel;
  let driver: CgroupV1Driver;

  beforeEach(() => {
    kernel = new FakeV1Kernel();
    driver = new CgroupV1Driver({ root: kernel.root, host: kernel });
  });
  afterEach(() => kernel.dispose());

  it('finds hierarchies by directory name, co-mounted or not, ignoring non-controllers', async () => {
    const found = await findHierarchies(kernel, kernel.root);
    expect(found.get('cpu')).toBe(join(kernel.root, 'cpu,cpuacct'));
    expect(found.get('cpuacct')).toBe(join(kernel.root, 'cpu,cpuacct'));
    expect(found.get('memory')).toBe(join(kernel.root, 'memory'));
    expect([...found.keys()].sort()).toEqual(
      ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'],
    );
  });

  it('detects v1 on a hybrid tree (unified/ without controllers at the root)', async () => {
    expect((await detectCgroupDriver(kernel.root, kernel)).version).toBe(1);
  });

  it('copies cpuset.cpus/mems from the parent into every new level', async () => {
    await driver.create('berth/abc', {});
    expect(kernel.get('cpuset/berth/cpuset.cpus')).toBe('0-1');
    expect(kernel.get('cpuset/berth/cpuset.mems')).toBe('0');
    expect(kernel.get('cpuset/berth/abc/cpuset.cpus')).toBe('0-1');
    expect(kernel.get('cpuset/berth/abc/cpuset.mems')).toBe('0');
  });

  it('makes the group in every hierarchy, relative to its root', async () => {
    await driver.create('berth/abc', {});
    for (const h of kernel.hierarchies) {
      expect(await kernel.exists(join(kernel.root, h, 'berth/abc'))).toBe(true);
    }
  });

  it('writes memory before memsw when lowering, memsw first when raising', async () => {
    const group = await driver.create('berth/m', { memory: 64 * MiB });
    const order = () =>
      kernel.writes
        .filter((w) => w.file.startsWith('memory/berth/m/memory.'))
        .map((w) => `${w.file.split('/').pop()}=${w.value}`);
    // Fresh group: limits were unlimited, so the memory limit goes first.
    expect(order()).toEqual([
      `memory.limit_in_bytes=${64 * MiB}`,
      `memory.memsw.limit_in_bytes=${128 * MiB}`,
    ]);
    kernel.writes.length = 0;
    await group.update({ memory: 256 * MiB, memorySwap: 512 * MiB });
    expect(order()).toEqual([
      `memory.memsw.limit_in_bytes=${512 * MiB}`,
      `memory.limit_in_bytes=${256 * MiB}`,
    ]);
    kernel.writes.length = 0;
    await group.update({ memory: 16 * MiB, memorySwap: 16 * MiB });
    expect(order()).toEqual([
      `memory.limit_in_bytes=${16 * MiB}`,
      `memory.memsw.limit_in_bytes=${16 * MiB}`,
    ]);
    kernel.writes.length = 0;
    await group.update({});
    expect(order()).toEqual(['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1']);
  });

  it('applies the memory limit alone when there is no swap accounting', async () => {
    const noSwap = new FakeV1Kernel({ swapAccounting: false });
    const group = await new CgroupV1Driver({ root: noSwap.root, host: noSwap }).create(
      'berth/m',
      { memory: 64 * MiB, memorySwap: 128 * MiB },
    );
    expect(noSwap.get('memory/berth/m/memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(noSwap.writesTo('memsw.limit_in_bytes')).toEqual([]);
    await group.destroy();
    noSwap.dispose();
  });

  it('writes cpu shares, period and quota; -1 quota for none', async () => {
    const group = await driver.create('berth/c', { cpuQuota: 150_000, cpuPeriod: 100_000, cpuShares: 1 });
    expect(kernel.writesTo('berth/c/cpu.shares')).toEqual(['2']); // clamped like Docker
    expect(kernel.writesTo('berth/c/cpu.cfs_period_us')).toEqual(['100000']);
    expect(kernel.writesTo('berth/c/cpu.cfs_quota_us')).toEqual(['150000']);
    await group.update({});
    expect(kernel.get('cpu,cpuacct/berth/c/cpu.cfs_quota_us')).toBe('-1');
    expect(kernel.get('cpu,cpuacct/berth/c/cpu.shares')).toBe('1024');
  });

  it('adds a process to every hierarchy (cpuset filled first, or the kernel says ENOSPC)', async () => {
    const group = await driver.create('berth/p', {});
    await group.addProcess(4242);
    for (const h of kernel.hierarchies) {
      expect(kernel.get(join(h, 'berth/p/cgroup.procs'))).toBe('4242');
    }
  });

  it('freezes through freezer.state', async () => {
    const group = await driver.create('berth/f', {});
    await group.freeze();
    expect(kernel.writesTo('berth/f/freezer.state')).toEqual(['FROZEN']);
    await group.thaw();
    expect(kernel.get('freezer/berth/f/freezer.state')).toBe('THAWED');
  });

  it('reads OOM kills from memory.oom_control (oom_kill, or under_oom on old kernels)', async () => {
    const group = await driver.create('berth/o', { memory: 64 * MiB });
    expect(await group.oomKilled()).toBe(false);
    kernel.set('memory/berth/o/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    expect(await group.oomKilled()).toBe(true);
    kernel.set('memory/berth/o/memory.oom_control', 'oom_kill_disable 0\nunder_oom 1\n');
    expect(await group.oomKilled()).toBe(true);
  });

  it('denies all devices then allows the standard set; privileged allows all', async () => {
    await driver.create('berth/d', {});
    expect(kernel.writesTo('berth/d/devices.deny')).toEqual(['a']);
    expect(kernel.writesTo('berth/d/devices.allow')).toContain('c 136:* rwm');
    await driver.create('berth/d2', { devices: 'all' });
    expect(kernel.writesTo('berth/d2/devices.deny')).toEqual([]);
    // Unchanged mode on update: no rewrite (it would deny everything for a moment).
    const group = driver.open('berth/d');
    const before = kernel.writes.length;
    await group.update({});
    expect(kernel.writes.slice(before).filter((w) => w.file.includes('devices.'))).toEqual([]);
  });

  it('parses stats from the v1 files', async () => {
    const group = await driver.create('berth/s', { memory: 64 * MiB, pidsLimit: 50 });
    kernel.set('cpu,cpuacct/berth/s/cpuacct.usage', '123456789\n');
    kernel.set('cpu,cpuacct/berth/s/cpuacct.usage_percpu', '100000000 23456789 \n');
    kernel.set('cpu,cpuacct/berth/s/cpuacct.stat', 'user 7\nsystem 3\n');
    kernel.set('cpu,cpuacct/berth/s/cpu.stat', 'nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n');
    kernel.set('memory/berth/s/memory.usage_in_bytes', '1048576\n');
    kernel.set('memory/berth/s/memory.max_usage_in_bytes', '2097152\n');
    kernel.set('memory/berth/s/memory.stat', 'cache 4096\nrss 8192\ntotal_inactive_file 512\n');
    kernel.set('pids/berth/s/pids.current', '3\n');
    kernel.set(
      'blkio/berth/s/blkio.throttle.io_service_bytes_recursive',
      '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n',
    );
    expect(await group.stats()).toEqual({
      cpuUsageNs: 123456789,
      cpuUserNs: 70_000_000,
      cpuSystemNs: 30_000_000,
      perCpuNs: [100000000, 23456789],
      throttling: { periods: 10, throttledPeriods: 4, throttledTimeNs: 5000 },
      memoryUsage: MiB,
      memoryLimit: 64 * MiB,
      memoryMaxUsage: 2 * MiB,
      memoryStat: { cache: 4096, rss: 8192, total_inactive_file: 512 },
      pidsCurrent: 3,
      pidsLimit: 50,
      blkio: [
        { major: 8, minor: 0, op: 'Read', value: 4096 },
        { major: 8, minor: 0, op: 'Write', value: 8192 },
        { major: 8, minor: 0, op: 'Sync', value: 0 },
        { major: 8, minor: 0, op: 'Async', value: 12288 },
        { major: 8, minor: 0, op: 'Discard', value: 0 },
        { major: 8, minor: 0, op: 'Total', value: 12288 },
      ],
    });
  });

  it('reports the host memory as the limit when there is none', async () => {
    const { totalmem } = await import('node:os');
    const group = await driver.create('berth/u', {});
    expect((await group.stats()).memoryLimit).toBe(totalmem());
  });

  it('removes nested groups deepest first on destroy', async () => {
    const group = await driver.create('berth/n', {});
    await kernel.mkdir(join(kernel.root, 'memory/berth/n/inner'));
    await group.destroy();
    expect(await kernel.exists(join(kernel.root, 'memory/berth/n'))).toBe(false);
    expect(await kernel.exists(join(kernel.root, 'memory/berth'))).toBe(true);
  });

  it('cleans up what it made when applying limits fails', async () => {
    await expect(driver.create('berth/bad', { cpuQuota: 10 })).rejects.toThrow(/cfs_quota_us/);
    expect(await kernel.exists(join(kernel.root, 'memory/berth/bad'))).toBe(false);
  });
});
