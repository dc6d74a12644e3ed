/**
 * The v2 driver against a fake unified hierarchy: the shared contract suite, then exactly
 * what it writes (memory.max, memory.swap.max, cpu.max, cpu.weight, pids.max, cpuset.cpus,
 * cgroup.subtree_control), stats from sample files, freezing through cgroup.freeze/events.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../../runtime-agent/src/cgroups/detect.js';
import { parseLimit } from '../../../runtime-agent/src/cgroups/dir.js';
import { sharesToWeight } from '../../../runtime-agent/src/cgroups/v2/cpu.js';
import { CgroupV2Driver } from '../../../runtime-agent/src/cgroups/v2/driver.js';
import { log } from '../../../runtime-agent/src/log.js';
import type { FakeOptions } from './fake-kernel.js';
import { FakeV2Kernel } from './fake-v2.js';
import { type CgroupHarness, cgroupDriverSuite } from './suite.js';

log.setQuiet(true);
const MiB = 1024 * 1024;

const limitOf = (text: string): number | 'max' => {
  const value = parseLimit(text);
  return Number.isFinite(value) ? value : 'max';
};

function v2Harness(options: FakeOptions): CgroupHarness {
  let current: FakeV2Kernel | undefined;
  const kernel = (): FakeV2Kernel => {
    if (!current) throw new Error('harness used outside a test');
    return current;
  };
  const read = (path: string, file: string) => kernel().get(join(path, file));
  return {
    parent: 'berth',
    setup: async () => {
      current = new FakeV2Kernel(options);
      return new CgroupV2Driver({ root: current.root, host: current });
    },
    teardown: async () => kernel().dispose(),
    readLimits: async (path) => {
      const memory = limitOf(read(path, 'memory.max'));
      const swap = options.swapAccounting === false ? undefined : limitOf(read(path, 'memory.swap.max'));
      const [quota, period] = read(path, 'cpu.max').split(' ');
      return {
        memory,
        memorySwap:
          swap === undefined ? undefined : memory === 'max' || swap === 'max' ? 'max' : memory + swap,
        cpuQuota: limitOf(quota ?? ''),
        cpuPeriod: Number(period),
        cpuWeight: Number(read(path, 'cpu.weight')),
        pids: limitOf(read(path, 'pids.max')),
        cpus: read(path, 'cpuset.cpus'),
        mems: read(path, 'cpuset.mems'),
      };
    },
    exists: async (path) => existsSync(join(kernel().root, path)),
    frozen: async (path) => /frozen 1/.test(read(path, 'cgroup.events')),
    spawn: async () => kernel().newPid(),
    isAlive: async (pid) => kernel().isAlive(pid),
    weightFor: (shares) => (shares === undefined ? 100 : sharesToWeight(shares)),
    defaultCpuset: { cpus: '', mems: '' },
    swapAccounting: options.swapAccounting !== false,
  };
}

cgroupDriverSuite('v2 fake', v2Harness({}));
cgroupDriverSuite('v2 fake, no swap accounting', v2Harness({ swapAccounting: false }));

describe('v2 driver: what it writes', () => {
  let kernel: FakeV2Kernel;
  let driver: CgroupV2Driver;

  beforeEach(() => {
    kernel = new FakeV2Kernel();
    driver = new CgroupV2Driver({ root: kernel.root, host: kernel });
  });
  afterEach(() => kernel.dispose());

  it('is detected from cgroup.controllers at the root', async () => {
    expect((await detectCgroupDriver(kernel.root, kernel)).version).toBe(2);
  });

  it('enables its controllers in every ancestor, not in the group itself', async () => {
    await driver.create('berth/abc', {});
    expect(kernel.writesTo('cgroup.subtree_control')).toEqual([
      '+cpu +memory +pids +cpuset +io',
      '+cpu +memory +pids +cpuset +io',
    ]);
    expect(kernel.get('cgroup.subtree_control')).toBe('cpuset cpu io memory pids');
    expect(kernel.get('berth/cgroup.subtree_control')).toBe('cpuset cpu io memory pids');
    expect(kernel.get('berth/abc/cgroup.subtree_control')).toBe('');
    // Already enabled: nothing written the second time.
    kernel.writes.length = 0;
    await driver.create('berth/def', {});
    expect(kernel.writesTo('cgroup.subtree_control')).toEqual([]);
  });

  it('enables only the controllers the parent offers', async () => {
    const small = new FakeV2Kernel({ controllers: ['memory', 'pids'] });
    const group = await new CgroupV2Driver({ root: small.root, host: small }).create('berth/x', {
      memory: 64 * MiB,
      cpuQuota: 50_000, // no cpu controller: skipped with a warning
    });
    expect(small.writesTo('cgroup.subtree_control')).toEqual(['+memory +pids', '+memory +pids']);
    expect(small.get('berth/x/memory.max')).toBe(String(64 * MiB));
    expect(existsSync(join(small.root, 'berth/x/cpu.max'))).toBe(false);
    await group.destroy();
    small.dispose();
  });

  it('writes memory.max and memory.swap.max (swap alone: total - memory)', async () => {
    const group = await driver.create('berth/m', { memory: 64 * MiB });
    expect(kernel.get('berth/m/memory.max')).toBe(String(64 * MiB));
    expect(kernel.get('berth/m/memory.swap.max')).toBe(String(64 * MiB)); // Docker: total 2x
    await group.update({ memory: 64 * MiB, memorySwap: 100 * MiB });
    expect(kernel.get('berth/m/memory.swap.max')).toBe(String(36 * MiB));
    await group.update({ memory: 64 * MiB, memorySwap: 64 * MiB });
    expect(kernel.get('berth/m/memory.swap.max')).toBe('0');
    await group.update({ memory: 64 * MiB, memorySwap: -1 });
    expect(kernel.get('berth/m/memory.swap.max')).toBe('max');
    await group.update({});
    expect(kernel.writesTo('berth/m/memory.max').at(-1)).toBe('max');
    expect(kernel.writesTo('berth/m/memory.swap.max').at(-1)).toBe('max');
  });

  it('writes cpu.max as "quota period" or "max period", cpu.weight with runc\'s formula', async () => {
    const group = await driver.create('berth/c', { cpuQuota: 150_000, cpuPeriod: 100_000, cpuShares: 512 });
    expect(kernel.get('berth/c/cpu.max')).toBe('150000 100000');
    expect(kernel.get('berth/c/cpu.weight')).toBe('20'); // 1 + (510 * 9999) / 262142
    await group.update({ cpuPeriod: 50_000, cpuShares: 262_144 });
    expect(kernel.get('berth/c/cpu.max')).toBe('max 50000');
    expect(kernel.get('berth/c/cpu.weight')).toBe('10000');
    await group.update({ cpuShares: 2 });
    expect(kernel.get('berth/c/cpu.weight')).toBe('1');
    await group.update({});
    expect(kernel.get('berth/c/cpu.weight')).toBe('100');
    expect(kernel.get('berth/c/cpu.max')).toBe('max 100000');
  });

  it('writes pids.max and cpuset.cpus / cpuset.mems (empty = the parent\'s)', async () => {
    const group = await driver.create('berth/p', { pidsLimit: 64, cpusetCpus: '0-1', cpusetMems: '0' });
    expect(kernel.writesTo('berth/p/pids.max')).toEqual(['64']);
    expect(kernel.writesTo('berth/p/cpuset.cpus')).toEqual(['0-1']);
    expect(kernel.writesTo('berth/p/cpuset.mems')).toEqual(['0']);
    await group.update({});
    expect(kernel.get('berth/p/pids.max')).toBe('max');
    expect(kernel.writesTo('berth/p/cpuset.cpus').at(-1)).toBe('');
  });

  it('freezes with cgroup.freeze and waits for cgroup.events to say frozen', async () => {
    const group = await driver.create('berth/f', {});
    await group.freeze();
    expect(kernel.writesTo('berth/f/cgroup.freeze')).toEqual(['1']);
    expect(kernel.get('berth/f/cgroup.events')).toContain('frozen 1');
    await group.thaw();
    expect(kernel.writesTo('berth/f/cgroup.freeze')).toEqual(['1', '0']);
    expect(kernel.get('berth/f/cgroup.events')).toContain('frozen 0');
  });

  it('reads OOM kills from memory.events', async () => {
    const group = await driver.create('berth/o', { memory: 64 * MiB });
    expect(await group.oomKilled()).toBe(false);
    kernel.set('berth/o/memory.events', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
    expect(await group.oomKilled()).toBe(true);
  });

  it('kills through cgroup.kill on destroy', async () => {
    const group = await driver.create('berth/k', {});
    await group.addProcess(777);
    await group.destroy();
    expect(kernel.writesTo('berth/k/cgroup.kill')).toEqual(['1']);
    expect(kernel.isAlive(777)).toBe(false);
    expect(existsSync(join(kernel.root, 'berth/k'))).toBe(false);
  });

  it('parses stats from the v2 files', async () => {
    const group = await driver.create('berth/s', { memory: 64 * MiB, pidsLimit: 50 });
    kernel.set(
      'berth/s/cpu.stat',
      'usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 10\nnr_throttled 4\nthrottled_usec 5\n',
    );
    kernel.set('berth/s/memory.current', '1048576\n');
    kernel.set('berth/s/memory.peak', '2097152\n');
    kernel.set('berth/s/memory.stat', 'anon 8192\nfile 4096\ninactive_file 512\n');
    kernel.set('berth/s/pids.current', '3\n');
    kernel.set(
      'berth/s/io.stat',
      '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1 wbytes=0 rios=1 wios=0\n',
    );
    expect(await group.stats()).toEqual({
      cpuUsageNs: 123_456_000,
      cpuUserNs: 100_000_000,
      cpuSystemNs: 23_456_000,
      perCpuNs: [],
      throttling: { periods: 10, throttledPeriods: 4, throttledTimeNs: 5000 },
      memoryUsage: MiB,
      memoryLimit: 64 * MiB,
      memoryMaxUsage: 2 * MiB,
      memoryStat: { anon: 8192, file: 4096, inactive_file: 512 },
      pidsCurrent: 3,
      pidsLimit: 50,
      blkio: [
        { major: 8, minor: 0, op: 'read', value: 4096 },
        { major: 8, minor: 0, op: 'write', value: 8192 },
        { major: 253, minor: 1, op: 'read', value: 1 },
        { major: 253, minor: 1, op: 'write', value: 0 },
      ],
    });
    const free = await driver.create('berth/s2', {});
    expect((await free.stats()).memoryLimit).toBe(totalmem());
  });

  it('cleans up what it made when applying limits fails', async () => {
    await expect(driver.create('berth/bad', { cpuQuota: 10 })).rejects.toThrow(/cpu\.max/);
    expect(existsSync(join(kernel.root, 'berth/bad'))).toBe(false);
  });
});

describe('sharesToWeight (runc)', () => {
  it('maps [2, 262144] onto [1, 10000]', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });
});
