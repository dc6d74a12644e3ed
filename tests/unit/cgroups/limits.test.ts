/** validateLimits: Docker's checks and messages; and what the limits resolve to. */
import { describe, expect, it } from 'vitest';
import type { CgroupLimits } from '../../../runtime-agent/src/cgroups/cgroup.js';
import {
  cpuSharesOf,
  memorySwapLimitOf,
  parseCpuList,
  validateLimits,
} from '../../../runtime-agent/src/cgroups/limits.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';

const MiB = 1024 * 1024;
const host = { cpus: '0-1', mems: '0' };

function messageOf(limits: CgroupLimits): string | undefined {
  try {
    validateLimits(limits, host);
    return undefined;
  } catch (err) {
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    return (err as Error).message;
  }
}

describe('validateLimits', () => {
  it('accepts what Docker accepts', () => {
    for (const limits of [
      {},
      { memory: 6 * MiB },
      { memory: 64 * MiB, memorySwap: -1 },
      { memory: 64 * MiB, memorySwap: 64 * MiB },
      { memorySwap: -1 },
      { cpuShares: 0 },
      { cpuShares: 1 }, // clamped to 2 later, as Docker does
      { cpuQuota: -1 },
      { cpuQuota: 1000, cpuPeriod: 1000 },
      { cpuPeriod: 1_000_000 },
      { cpusetCpus: '0-1', cpusetMems: '0' },
      { cpusetCpus: '0,1' },
      { pidsLimit: -1 },
      { pidsLimit: 0 },
      { pidsLimit: 100 },
    ] satisfies CgroupLimits[]) {
      expect(messageOf(limits), JSON.stringify(limits)).toBeUndefined();
    }
  });

  it.each([
    [{ memory: 6 * MiB - 1 }, 'Minimum memory limit allowed is 6MB'],
    [{ memory: 4096 }, 'Minimum memory limit allowed is 6MB'],
    [{ memory: -5 }, 'Minimum memory limit allowed is 6MB'],
    [
      { memory: 64 * MiB, memorySwap: 32 * MiB },
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    ],
    [
      { memorySwap: 64 * MiB },
      'You should always set the Memory limit when using Memoryswap limit, see usage',
    ],
    [{ cpuShares: -1 }, 'shares: invalid argument'],
    [{ cpuQuota: 999 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
    [
      { cpuPeriod: 999 },
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    ],
    [
      { cpuPeriod: 1_000_001 },
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    ],
    [{ cpusetCpus: '8' }, 'Requested CPUs are not available - requested 8, available: 0-1'],
    [{ cpusetCpus: '0-3' }, 'Requested CPUs are not available - requested 0-3, available: 0-1'],
    [{ cpusetCpus: '0-' }, 'Invalid value 0- for cpuset cpus'],
    [{ cpusetCpus: '2-1' }, 'Invalid value 2-1 for cpuset cpus'],
    [{ cpusetCpus: 'a' }, 'Invalid value a for cpuset cpus'],
    [{ cpusetMems: '1' }, 'Requested memory nodes are not available - requested 1, available: 0'],
    [{ cpusetMems: '0,,1' }, 'Invalid value 0,,1 for cpuset mems'],
    [{ pidsLimit: 1.5 }, 'invalid pidsLimit: 1.5 is not an integer'],
    [{ memory: Number.NaN }, 'invalid memory: NaN is not an integer'],
  ] satisfies [CgroupLimits, string][])('%j → %s', (limits, message) => {
    expect(messageOf(limits)).toBe(message);
  });

  it("reads this machine's CPUs when no host is given", () => {
    expect(() => validateLimits({ cpusetCpus: '0' })).not.toThrow();
    expect(() => validateLimits({ cpusetCpus: '4095' })).toThrow(/Requested CPUs are not available/);
  });
});

describe('what limits resolve to', () => {
  it('memory + swap: Docker default 2x, -1 unlimited, none without memory', () => {
    expect(memorySwapLimitOf({ memory: 10 })).toBe(20);
    expect(memorySwapLimitOf({ memory: 10, memorySwap: 0 })).toBe(20);
    expect(memorySwapLimitOf({ memory: 10, memorySwap: 15 })).toBe(15);
    expect(memorySwapLimitOf({ memory: 10, memorySwap: -1 })).toBeUndefined();
    expect(memorySwapLimitOf({ memorySwap: -1 })).toBeUndefined();
  });

  it('cpu shares: default 1024, clamped to [2, 262144]', () => {
    expect(cpuSharesOf({})).toBe(1024);
    expect(cpuSharesOf({ cpuShares: 1 })).toBe(2);
    expect(cpuSharesOf({ cpuShares: 1_000_000 })).toBe(262_144);
  });

  it('parses cpuset lists', () => {
    expect([...(parseCpuList('0-2,4') ?? [])]).toEqual([0, 1, 2, 4]);
    expect(parseCpuList('')?.size).toBe(0);
    expect(parseCpuList('1-')).toBeUndefined();
    expect(parseCpuList(' 1')).toBeUndefined();
  });
});
