/**
 * The v1 driver against this machine's real /sys/fs/cgroup (root, hybrid v1): the shared
 * contract suite, then real processes: limits read back from the kernel, freeze, stats, an
 * OOM kill, a fork bomb held by pids.max, a CPU quota, destroy. Every group lives under
 * `berth-test-<random>/` in each hierarchy and is removed after each test, even on failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../runtime-agent/src/cgroups/detect.js';
import { parseLimit } from '../../runtime-agent/src/cgroups/dir.js';
import {
  CgroupV1Driver,
  findHierarchies,
  type V1Controller,
} from '../../runtime-agent/src/cgroups/v1/driver.js';
import { nodeCgroupHost } from '../../runtime-agent/src/cgroups/host.js';
import { log } from '../../runtime-agent/src/log.js';
import { type CgroupHarness, cgroupDriverSuite } from '../unit/cgroups/suite.js';

log.setQuiet(true);
const MiB = 1024 * 1024;
const ROOT = '/sys/fs/cgroup';
const PARENT = `berth-test-${randomBytes(4).toString('hex')}`;
const onV1 = existsSync(join(ROOT, 'memory', 'cgroup.procs')) && process.getuid?.() === 0;

const children: ChildProcess[] = [];

/** A child that waits for a line on stdin, then runs `script` (so it can join a group first). */
function spawnGated(script: string): ChildProcess & { go: () => void } {
  const child = spawn('sh', ['-c', `read line; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  return Object.assign(child, { go: () => child.stdin?.end('go\n') });
}

function taskState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

async function hierarchyDir(controller: V1Controller): Promise<string> {
  const dir = (await findHierarchies(nodeCgroupHost, ROOT)).get(controller);
  if (!dir) throw new Error(`${controller} is not mounted`);
  return dir;
}

async function readReal(controller: V1Controller, path: string, file: string): Promise<string> {
  return readFileSync(join(await hierarchyDir(controller), path, file), 'utf8').trim();
}

const limitOf = (text: string): number | 'max' => {
  const value = parseLimit(text);
  return Number.isFinite(value) && value !== -1 ? value : 'max';
};

async function removeTestParent(): Promise<void> {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await new CgroupV1Driver().open(PARENT).destroy();
}

const realHarness: CgroupHarness = {
  parent: PARENT,
  setup: async () => new CgroupV1Driver(),
  teardown: removeTestParent,
  readLimits: async (path) => ({
    memory: limitOf(await readReal('memory', path, 'memory.limit_in_bytes')),
    memorySwap: existsSync(join(await hierarchyDir('memory'), path, 'memory.memsw.limit_in_bytes'))
      ? limitOf(await readReal('memory', path, 'memory.memsw.limit_in_bytes'))
      : undefined,
    cpuQuota: limitOf(await readReal('cpu', path, 'cpu.cfs_quota_us')),
    cpuPeriod: Number(await readReal('cpu', path, 'cpu.cfs_period_us')),
    cpuWeight: Number(await readReal('cpu', path, 'cpu.shares')),
    pids: limitOf(await readReal('pids', path, 'pids.max')),
    cpus: await readReal('cpuset', path, 'cpuset.cpus'),
    mems: await readReal('cpuset', path, 'cpuset.mems'),
  }),
  exists: async (path) => {
    const dirs = new Set((await findHierarchies(nodeCgroupHost, ROOT)).values());
    return [...dirs].some((dir) => existsSync(join(dir, path)));
  },
  frozen: async (path) => (await readReal('freezer', path, 'freezer.state')) === 'FROZEN',
  spawn: async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    if (child.pid === undefined) throw new Error('sleep did not start');
    return child.pid;
  },
  isAlive: async (pid) => {
    // A SIGKILLed child stays a zombie until Node reaps it: give it a moment.
    for (let i = 0; i < 50; i++) {
      const state = taskState(pid);
      if (state === undefined || state === 'Z') return false;
      await sleep(10);
    }
    return true;
  },
  weightFor: (shares) => shares ?? 1024,
  defaultCpuset: {
    cpus: readFileSync(join(ROOT, 'cpuset', 'cpuset.cpus'), 'utf8').trim(),
    mems: readFileSync(join(ROOT, 'cpuset', 'cpuset.mems'), 'utf8').trim(),
  },
  swapAccounting: existsSync(join(ROOT, 'memory', 'memory.memsw.limit_in_bytes')),
  deviceRules: async (path) =>
    (await readReal('devices', path, 'devices.list')).split('\n').filter(Boolean),
};

describe.skipIf(!onV1)('cgroup v1 driver on the real hierarchy', () => {
  afterAll(removeTestParent);

  cgroupDriverSuite('v1, real /sys/fs/cgroup', realHarness);

  describe('with real processes', () => {
    let driver: CgroupV1Driver;
    beforeAll(() => {
      driver = new CgroupV1Driver();
    });
    afterEach(removeTestParent);

    it('detects v1 on this hybrid machine', async () => {
      expect((await detectCgroupDriver()).version).toBe(1);
    });

    it('limits, freezes, reports and destroys a running process', async () => {
      const group = await driver.create(`${PARENT}/x`, {
        memory: 64 * MiB,
        pidsLimit: 16,
        cpuQuota: 50_000,
        cpuPeriod: 100_000,
      });
      // Joins first, then execs: v1 charges memory to the group a page was allocated in.
      const child = spawnGated('exec sleep 30');
      await once(child, 'spawn');
      const pid = child.pid ?? 0;
      await group.addProcess(pid);
      child.go();
      for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'); i++) {
        await sleep(10);
      }

      const cgroupFile = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      expect(cgroupFile).toMatch(new RegExp(`:memory:/${PARENT}/x$`, 'm'));
      expect(cgroupFile).toMatch(new RegExp(`:pids:/${PARENT}/x$`, 'm'));
      expect(await readReal('memory', group.path, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
      expect(await readReal('pids', group.path, 'pids.max')).toBe('16');
      expect(await readReal('cpu', group.path, 'cpu.cfs_quota_us')).toBe('50000');
      expect(await group.pids()).toEqual([pid]);

      await group.freeze();
      expect(await readReal('freezer', group.path, 'freezer.state')).toBe('FROZEN');
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^State:\s+[DST]/m);
      await group.thaw();
      expect(await readReal('freezer', group.path, 'freezer.state')).toBe('THAWED');
      expect(taskState(pid)).toBe('S');

      const stats = await group.stats();
      expect(stats.memoryLimit).toBe(64 * MiB);
      expect(stats.memoryUsage).toBeGreaterThan(0);
      expect(stats.memoryMaxUsage).toBeGreaterThanOrEqual(stats.memoryUsage);
      expect(stats.memoryStat).toHaveProperty('rss');
      expect(stats.pidsCurrent).toBe(1);
      expect(stats.pidsLimit).toBe(16);
      expect(stats.cpuUsageNs).toBeGreaterThan(0);
      expect(stats.perCpuNs.length).toBeGreaterThanOrEqual(1);
      expect(stats.perCpuNs.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

      await group.destroy();
      expect(await realHarness.isAlive(pid)).toBe(false);
      expect(await realHarness.exists(group.path)).toBe(false);
    });

    it('a memory hog over a 16 MiB limit is OOM-killed and oomKilled() says so', async () => {
      const group = await driver.create(`${PARENT}/oom`, { memory: 16 * MiB, memorySwap: 16 * MiB });
      // `tail` buffers a line that never ends: it grows until the kernel kills it.
      const hog = spawnGated('exec tail /dev/zero');
      await once(hog, 'spawn');
      await group.addProcess(hog.pid ?? 0);
      expect(await group.oomKilled()).toBe(false);
      hog.go();
      const [code, signal] = (await once(hog, 'exit')) as [number | null, string | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await group.oomKilled()).toBe(true);
      expect((await group.stats()).memoryMaxUsage).toBeGreaterThan(15 * MiB);
    });

    it('pids.max holds a fork bomb, and destroy kills all of it', async () => {
      const group = await driver.create(`${PARENT}/forks`, { pidsLimit: 16 });
      const bomb = spawnGated('for i in $(seq 1 64); do sleep 30 & done; wait');
      await once(bomb, 'spawn');
      await group.addProcess(bomb.pid ?? 0);
      bomb.go();
      await sleep(500);
      const pids = await group.pids();
      expect(pids.length).toBeGreaterThan(4);
      expect(pids.length).toBeLessThanOrEqual(16);
      expect(Number(await readReal('pids', group.path, 'pids.current'))).toBeLessThanOrEqual(16);
      await group.destroy();
      for (const pid of pids) expect(taskState(pid) ?? 'gone').toMatch(/gone|Z/);
      expect(await realHarness.exists(group.path)).toBe(false);
    });

    it('a CPU quota of 20% holds a busy loop near 20% of one CPU', async () => {
      const group = await driver.create(`${PARENT}/cpu`, { cpuQuota: 20_000, cpuPeriod: 100_000 });
      const spinner = spawnGated('while :; do :; done');
      await once(spinner, 'spawn');
      await group.addProcess(spinner.pid ?? 0);
      const before = (await group.stats()).cpuUsageNs;
      spinner.go();
      const started = process.hrtime.bigint();
      await sleep(1500);
      const stats = await group.stats();
      const elapsedNs = Number(process.hrtime.bigint() - started);
      const share = (stats.cpuUsageNs - before) / elapsedNs;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.3);
      expect(stats.throttling.throttledPeriods).toBeGreaterThan(0);
    });

    it('destroy of a frozen group thaws, kills and removes it', async () => {
      const group = await driver.create(`${PARENT}/frozen`, {});
      const pid = await realHarness.spawn();
      await group.addProcess(pid);
      await group.freeze();
      await group.destroy();
      expect(await realHarness.isAlive(pid)).toBe(false);
      for (const controller of ['memory', 'freezer', 'cpuset', 'pids', 'devices'] as const) {
        expect(existsSync(join(await hierarchyDir(controller), group.path))).toBe(false);
      }
    });
  });
});
