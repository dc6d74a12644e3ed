import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/** The v1 directory of a controller on this machine (cpu and cpuacct may be co-mounted). */
function controllerDir(name: string): string {
  for (const candidate of [name, 'cpu,cpuacct', 'cpuacct,cpu']) {
    const dir = `/sys/fs/cgroup/${candidate}`;
    if (existsSync(dir)) return dir;
  }
  throw new Error(`no cgroup v1 hierarchy for ${name}`);
}

// Limits through cgroups (v1 on these machines), observed from inside and outside.
describe('resource limits', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);

  it('exceeding --memory kills the container with 137 and OOMKilled', async () => {
    const r = await docker('run', '--name', 'hog', '--network', 'none', '--memory', '16m', '--memory-swap', '16m', TEST_IMAGE, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1');
    expect(r.code).toBe(137);
    const state = (JSON.parse((await docker('inspect', 'hog')).stdout) as { State: { OOMKilled: boolean; ExitCode: number } }[])[0]?.State;
    expect(state).toMatchObject({ OOMKilled: true, ExitCode: 137 });
    await docker('rm', 'hog');
    const fits = await docker('run', '--rm', '--network', 'none', '--memory', '64m', TEST_IMAGE, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=8M', 'count=1');
    expect(fits.code, fits.stderr).toBe(0);
  });

  it('writes the limits it was given into the container\'s cgroup', async () => {
    const r = await docker('run', '-d', '--name', 'limited', '--network', 'none', '--memory', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '32', TEST_IMAGE, 'sleep', '300');
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const group = `${daemon().cgroupParent}/${id}`;
    const read = (controller: string, file: string) => readFileSync(`${controllerDir(controller)}/${group}/${file}`, 'utf8').trim();
    expect(read('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    if (existsSync(`${controllerDir('memory')}/${group}/memory.memsw.limit_in_bytes`)) {
      expect(read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(128 * 1024 * 1024));
    }
    expect(read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(read('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(read('cpu', 'cpu.shares')).toBe('512');
    expect(read('cpuset', 'cpuset.cpus')).toBe('0');
    expect(read('pids', 'pids.max')).toBe('32');
    const inspect = (JSON.parse((await docker('inspect', 'limited')).stdout) as { HostConfig: { Memory: number; NanoCpus: number; PidsLimit: number } }[])[0];
    expect(inspect?.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 32 });
    await docker('rm', '-f', 'limited');
    expect(existsSync(`${controllerDir('memory')}/${group}`)).toBe(false);
  });

  it('--pids-limit contains a fork bomb', async () => {
    const r = await docker('run', '-d', '--name', 'bomb', '--network', 'none', '--pids-limit', '20', TEST_IMAGE, 'sh', '-c', '(for i in $(seq 1 100); do sleep 30 & done); sleep 300');
    const id = r.stdout.trim();
    await sleep(1500);
    const pids = Number(readFileSync(`/sys/fs/cgroup/pids/${daemon().cgroupParent}/${id}/pids.current`, 'utf8'));
    expect(pids).toBeLessThanOrEqual(20);
    expect(pids).toBeGreaterThan(5);
    expect((await docker('logs', 'bomb')).stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    await docker('rm', '-f', 'bomb');
  });

  it('--cpus holds a busy loop to its quota within 10%', async () => {
    const r = await docker('run', '-d', '--name', 'spin', '--network', 'none', '--cpus', '0.5', TEST_IMAGE, 'sh', '-c', 'while :; do :; done');
    const id = r.stdout.trim();
    const usage = () => Number(readFileSync(`${controllerDir('cpuacct')}/${daemon().cgroupParent}/${id}/cpuacct.usage`, 'utf8'));
    const share = async (): Promise<number> => {
      const u0 = usage();
      const t0 = process.hrtime.bigint();
      await sleep(3000);
      return (usage() - u0) / Number(process.hrtime.bigint() - t0);
    };
    await sleep(500);
    // The quota is a ceiling: never above 0.55. Below 0.45 only means other load took the CPU,
    // so one more window is measured before judging the floor.
    let measured = await share();
    expect(measured).toBeLessThan(0.55);
    if (measured <= 0.45) measured = await share();
    expect(measured).toBeLessThan(0.55);
    expect(measured).toBeGreaterThan(0.45);
    await docker('rm', '-f', 'spin');
  });
});
