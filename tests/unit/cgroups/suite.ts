/**
 * The one contract suite every CgroupDriver must pass (containerd's snapshots/testsuite
 * habit). Each driver test file supplies a harness: how to make the driver and how to read
 * back what it did. It runs against the fake v1 and v2 hierarchies in unit tests, against the
 * real v1 hierarchy in tests/integration/cgroups-v1.test.ts, and against real v2 in the VM.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CgroupDriver, CgroupLimits } from '../../../runtime-agent/src/cgroups/cgroup.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';

const MiB = 1024 * 1024;

/** Limits as the kernel files say, in Docker's units; 'max' for none. */
export interface ObservedLimits {
  readonly memory: number | 'max';
  /** Memory + swap; undefined when swap is not accounted. */
  readonly memorySwap: number | 'max' | undefined;
  readonly cpuQuota: number | 'max';
  readonly cpuPeriod: number;
  /** `cpu.shares` (v1) or `cpu.weight` (v2). */
  readonly cpuWeight: number;
  readonly pids: number | 'max';
  readonly cpus: string;
  readonly mems: string;
}

export interface CgroupHarness {
  /** Makes the driver under test (before each test). */
  setup(): Promise<CgroupDriver>;
  /** Removes everything the test made, even after a failure (after each test). */
  teardown(): Promise<void>;
  /** Parent of the groups the suite makes (unique per run on a real hierarchy). */
  readonly parent: string;
  readLimits(path: string): Promise<ObservedLimits>;
  /** Whether any directory of the group exists. */
  exists(path: string): Promise<boolean>;
  frozen(path: string): Promise<boolean>;
  /** A process the test may move into a group. */
  spawn(): Promise<number>;
  isAlive(pid: number): Promise<boolean>;
  /** What `cpuWeight` reads for these shares (undefined: none set). */
  weightFor(shares: number | undefined): number;
  /** What cpus/mems read when no cpuset limit is set. */
  readonly defaultCpuset: { readonly cpus: string; readonly mems: string };
  readonly swapAccounting: boolean;
  /** The group's device rules; absent where the driver applies none (v2). */
  deviceRules?(path: string): Promise<string[]>;
}

export function cgroupDriverSuite(name: string, harness: CgroupHarness): void {
  describe(`CgroupDriver contract (${name})`, () => {
    let driver: CgroupDriver;
    const path = (leaf: string) => `${harness.parent}/${leaf}`;

    beforeEach(async () => {
      driver = await harness.setup();
    });
    afterEach(async () => {
      await harness.teardown();
    });

    it('create applies every limit', async () => {
      const limits: CgroupLimits = {
        memory: 64 * MiB,
        memorySwap: 96 * MiB,
        cpuQuota: 50_000,
        cpuPeriod: 100_000,
        cpuShares: 512,
        pidsLimit: 16,
        cpusetCpus: '0',
        cpusetMems: '0',
      };
      const group = await driver.create(path('all'), limits);
      expect(group.path).toBe(path('all'));
      expect(await harness.readLimits(group.path)).toEqual({
        memory: 64 * MiB,
        memorySwap: harness.swapAccounting ? 96 * MiB : undefined,
        cpuQuota: 50_000,
        cpuPeriod: 100_000,
        cpuWeight: harness.weightFor(512),
        pids: 16,
        cpus: '0',
        mems: '0',
      });
    });

    it('create without limits leaves everything unlimited', async () => {
      const group = await driver.create(path('none'), {});
      expect(await harness.readLimits(group.path)).toEqual({
        memory: 'max',
        memorySwap: harness.swapAccounting ? 'max' : undefined,
        cpuQuota: 'max',
        cpuPeriod: 100_000,
        cpuWeight: harness.weightFor(undefined),
        pids: 'max',
        cpus: harness.defaultCpuset.cpus,
        mems: harness.defaultCpuset.mems,
      });
    });

    it("memory + swap follows Docker: default 2x, -1 unlimited, equal means no swap", async () => {
      const swapOf = async (limits: CgroupLimits) => {
        const group = await driver.create(path('swap'), limits);
        return (await harness.readLimits(group.path)).memorySwap;
      };
      const accounted = <T>(value: T) => (harness.swapAccounting ? value : undefined);
      expect(await swapOf({ memory: 32 * MiB })).toBe(accounted(64 * MiB));
      expect(await swapOf({ memory: 32 * MiB, memorySwap: -1 })).toBe(accounted('max'));
      expect(await swapOf({ memory: 32 * MiB, memorySwap: 32 * MiB })).toBe(accounted(32 * MiB));
    });

    it('update raises and lowers memory and swap in an order the kernel accepts', async () => {
      const group = await driver.create(path('order'), { memory: 64 * MiB, memorySwap: 128 * MiB });
      const steps: [number, number][] = [
        [256 * MiB, 512 * MiB], // both above the current memory limit
        [16 * MiB, 24 * MiB], // both below it
        [200 * MiB, 200 * MiB], // memory above the old total
        [8 * MiB, 300 * MiB], // memory down, total up
      ];
      for (const [memory, memorySwap] of steps) {
        await group.update({ memory, memorySwap });
        const seen = await harness.readLimits(group.path);
        expect(seen.memory).toBe(memory);
        if (harness.swapAccounting) expect(seen.memorySwap).toBe(memorySwap);
      }
      await group.update({});
      expect((await harness.readLimits(group.path)).memory).toBe('max');
    });

    it('update sets the whole state: fields left out go back to unlimited', async () => {
      const group = await driver.create(path('reset'), {
        memory: 64 * MiB,
        cpuQuota: 20_000,
        cpuShares: 256,
        pidsLimit: 8,
        cpusetCpus: '0',
      });
      await group.update({ pidsLimit: 32 });
      expect(await harness.readLimits(group.path)).toMatchObject({
        memory: 'max',
        cpuQuota: 'max',
        cpuWeight: harness.weightFor(undefined),
        pids: 32,
        cpus: harness.defaultCpuset.cpus,
      });
    });

    it('create on an existing group reuses it', async () => {
      await driver.create(path('again'), { pidsLimit: 10 });
      const group = await driver.create(path('again'), { pidsLimit: 20 });
      expect((await harness.readLimits(group.path)).pids).toBe(20);
    });

    it('addProcess puts a process in the group and pids() lists it', async () => {
      const group = await driver.create(path('procs'), {});
      expect(await group.pids()).toEqual([]);
      const pid = await harness.spawn();
      await group.addProcess(pid);
      expect(await group.pids()).toEqual([pid]);
    });

    it('freeze and thaw', async () => {
      const group = await driver.create(path('freeze'), {});
      await group.addProcess(await harness.spawn());
      await group.freeze();
      expect(await harness.frozen(group.path)).toBe(true);
      await group.freeze(); // already frozen: fine
      await group.thaw();
      expect(await harness.frozen(group.path)).toBe(false);
    });

    it('destroy kills what is left, removes the group, and is idempotent', async () => {
      const group = await driver.create(path('destroy'), { pidsLimit: 10 });
      const pid = await harness.spawn();
      await group.addProcess(pid);
      await group.freeze(); // destroy must thaw first
      await group.destroy();
      expect(await harness.isAlive(pid)).toBe(false);
      expect(await harness.exists(group.path)).toBe(false);
      await group.destroy();
      await driver.open(path('never-made')).destroy();
    });

    it('open() of a missing group touches nothing until used', async () => {
      const group = driver.open(path('ghost'));
      expect(group.path).toBe(path('ghost'));
      expect(await harness.exists(group.path)).toBe(false);
      expect(await group.pids()).toEqual([]);
      expect(await harness.exists(group.path)).toBe(false);
    });

    it('prune removes empty leftover groups and keeps populated ones', async () => {
      await driver.create(path('left/a'), {});
      await driver.create(path('left/b'), {});
      const busy = await driver.create(path('left/busy'), {});
      const pid = await harness.spawn();
      await busy.addProcess(pid);
      await driver.prune(path('left'));
      expect(await harness.exists(path('left/a'))).toBe(false);
      expect(await harness.exists(path('left/b'))).toBe(false);
      expect(await harness.exists(path('left/busy'))).toBe(true);
      expect(await harness.isAlive(pid)).toBe(true);
      await driver.prune(path('does-not-exist'));
    });

    it('refuses paths that would leave the hierarchy', async () => {
      for (const bad of ['../escape', `${harness.parent}/../../x`, '', '/', 'a/./b']) {
        await expect(driver.create(bad, {})).rejects.toSatisfy((err: unknown) =>
          isBerthError(err, 'invalid-parameter'),
        );
      }
    });

    it('oomKilled is false for a group nothing was killed in', async () => {
      const group = await driver.create(path('oom'), { memory: 64 * MiB });
      expect(await group.oomKilled()).toBe(false);
    });

    it('stats of a group report its limits', async () => {
      const group = await driver.create(path('stats'), { memory: 64 * MiB, pidsLimit: 12 });
      await group.addProcess(await harness.spawn());
      const stats = await group.stats();
      expect(stats.memoryLimit).toBe(64 * MiB);
      expect(stats.pidsLimit).toBe(12);
      expect(stats.pidsCurrent).toBeGreaterThanOrEqual(0);
      expect(stats.cpuUsageNs).toBeGreaterThanOrEqual(0);
      const unlimited = await (await driver.create(path('stats-free'), {})).stats();
      expect(unlimited.pidsLimit).toBe(0);
      expect(unlimited.memoryLimit).toBeGreaterThan(0);
    });

    // Device rules exist only on v1 (v2 needs an eBPF program): registered where they apply.
    const deviceRules = harness.deviceRules;
    if (deviceRules) it('device rules: Docker\'s standard set by default, everything when privileged', async () => {
      const plain = await driver.create(path('dev'), {});
      const rules = await deviceRules(plain.path);
      expect(rules).not.toContain('a *:* rwm');
      for (const rule of ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 5:2 rwm', 'c 136:* rwm']) {
        expect(rules).toContain(rule);
      }
      const privileged = await driver.create(path('dev-all'), { devices: 'all' });
      expect(await deviceRules(privileged.path)).toEqual(['a *:* rwm']);
      await plain.update({ devices: 'all' });
      expect(await deviceRules(plain.path)).toEqual(['a *:* rwm']);
    });
  });
}
