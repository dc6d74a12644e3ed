import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

const CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/** The directory of a v1 controller on this machine (cpu and cpuacct may be co-mounted). */
function controllerDir(name: string): string {
  for (const candidate of [name, 'cpu,cpuacct', 'cpuacct,cpu']) {
    const dir = `/sys/fs/cgroup/${candidate}`;
    if (existsSync(dir)) return dir;
  }
  throw new Error(`no cgroup v1 hierarchy for ${name}`);
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// Restart policies with Docker's backoff, the state while restarting, stop/kill/rm during the
// backoff, wait semantics, daemon restarts and `docker update`.
describe('restart policies', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const inspect = (name: string): Promise<Dockerode.ContainerInspectInfo> => daemon().dockerode.getContainer(name).inspect();
  const run = async (...args: string[]): Promise<string> => {
    // sleep as PID 1 ignores SIGTERM: a short stop timeout keeps the daemon restarts quick.
    const r = await docker('run', '-d', '--network', 'none', '--stop-timeout', '1', ...args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('on-failure:2 restarts a failing command twice, then leaves it exited', async () => {
    await run('--name', 'of2', '--restart', 'on-failure:2', TEST_IMAGE, 'sh', '-c', 'echo ran; exit 1');
    const info = await until('of2 to stop for good', async () => {
      const i = await inspect('of2');
      return i.State.Status === 'exited' && i.RestartCount === 2 ? i : undefined;
    });
    expect(info.State).toMatchObject({ Running: false, Restarting: false, ExitCode: 1, Pid: 0 });
    await sleep(600);
    expect((await inspect('of2')).RestartCount).toBe(2);
    expect((await docker('logs', 'of2')).stdout).toBe('ran\nran\nran\n');
    // A user start begins again: RestartCount back to 0, then counts up to 2 once more.
    expect((await docker('start', 'of2')).code).toBe(0);
    await until('of2 to stop again', async () => {
      const i = await inspect('of2');
      return i.State.Status === 'exited' && i.RestartCount === 2 ? i : undefined;
    });
    await docker('rm', 'of2');
  });

  it('on-failure does not restart after exit 0', async () => {
    await run('--name', 'of-ok', '--restart', 'on-failure', TEST_IMAGE, 'true');
    const info = await until('of-ok to exit', async () => {
      const i = await inspect('of-ok');
      return i.State.Status === 'exited' ? i : undefined;
    });
    await sleep(300);
    expect((await inspect('of-ok')).RestartCount).toBe(0);
    expect(info.State.ExitCode).toBe(0);
    await docker('rm', 'of-ok');
  });

  it('backs off 0.1, 0.2, 0.4, 0.8 s between restarts', async () => {
    await run('--name', 'backoff', '--restart', 'on-failure:4', TEST_IMAGE, 'sh', '-c', 'echo x; exit 2');
    await until('backoff to stop for good', async () => {
      const i = await inspect('backoff');
      return i.State.Status === 'exited' && i.RestartCount === 4 ? i : undefined;
    });
    const logs = await docker('logs', '-t', 'backoff');
    const starts = logs.stdout.trim().split('\n').map((line) => Date.parse(line.split(' ')[0] ?? ''));
    expect(starts).toHaveLength(5);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0));
    // Each gap is the backoff plus the time to start and exit: at least the delay, growing.
    [100, 200, 400, 800].forEach((delay, i) => {
      expect(gaps[i], `gaps ${gaps.join(',')}`).toBeGreaterThanOrEqual(delay - 5);
      expect(gaps[i], `gaps ${gaps.join(',')}`).toBeLessThan(delay + 1500);
    });
    expect((gaps[3] ?? 0) - (gaps[0] ?? 0), `gaps ${gaps.join(',')}`).toBeGreaterThan(500);
    await docker('rm', 'backoff');
  });

  it('always restarts after exit 0, shows Restarting while it waits, and docker stop ends it', async () => {
    await run('--name', 'alw', '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'exit 0');
    // The backoff grows with every exit: soon the container spends most of its time waiting.
    const restarting = await until('alw to be seen restarting', async () => {
      const i = await inspect('alw');
      return i.State.Restarting && i.RestartCount >= 3 ? i : undefined;
    });
    expect(restarting.State).toMatchObject({ Status: 'restarting', Running: true, Restarting: true, Pid: 0, ExitCode: 0 });
    const ps = await until('docker ps to say Restarting', async () => {
      const r = await docker('ps', '--filter', 'name=alw', '--format', '{{.Status}}');
      return /^Restarting \(0\)/.test(r.stdout) ? r.stdout : undefined;
    });
    expect(ps).toMatch(/ago/);
    const stop = await docker('stop', 'alw');
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await inspect('alw');
    expect(stopped.State).toMatchObject({ Status: 'exited', Running: false, Restarting: false });
    const count = stopped.RestartCount;
    await sleep(1500);
    const later = await inspect('alw');
    expect(later.State.Status).toBe('exited');
    expect(later.RestartCount).toBe(count);
    await docker('rm', 'alw');
  });

  it('docker stop of a running always container stops it for good', async () => {
    await run('--name', 'alw-run', '--restart', 'always', TEST_IMAGE, 'sleep', '300');
    expect((await docker('stop', '-t', '1', 'alw-run')).code).toBe(0);
    await sleep(800);
    const i = await inspect('alw-run');
    expect(i.State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 137 });
    expect(i.RestartCount).toBe(0);
    await docker('rm', 'alw-run');
  });

  it('kill and rm -f during the backoff cancel the restart; rm without -f refuses', async () => {
    await run('--name', 'bk', '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'exit 5');
    // From the 4th restart on the backoff is 0.8 s or more: time enough for two CLI calls.
    await until('bk to restart a few times', async () => {
      const i = await inspect('bk');
      return i.State.Restarting && i.RestartCount >= 4 ? i : undefined;
    });
    const rm = await docker('rm', 'bk');
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/container is restarting: stop the container before removing or force remove/);
    expect((await docker('kill', 'bk')).code).toBe(0);
    expect((await inspect('bk')).State).toMatchObject({ Status: 'exited', ExitCode: 5 });
    await sleep(500);
    expect((await inspect('bk')).State.Status).toBe('exited');

    await run('--name', 'bk2', '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'exit 5');
    await until('bk2 to be restarting', async () => ((await inspect('bk2')).State.Restarting ? true : undefined));
    expect((await docker('rm', '-f', 'bk2')).code).toBe(0);
    await sleep(1000); // a restart that fired anyway would fail loudly below (leak check) or recreate state
    expect((await docker('ps', '-a', '--filter', 'name=bk2', '-q')).stdout).toBe('');
    await docker('rm', 'bk');
  });

  it('wait: not-running and next-exit fire at an exit the policy restarts from (moby)', async () => {
    const id = await run('--name', 'wt', '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'sleep 0.5; exit 4');
    const container = daemon().dockerode.getContainer(id);
    const [notRunning, nextExit] = await Promise.all([
      container.wait() as Promise<{ StatusCode: number }>,
      container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>,
    ]);
    expect(notRunning.StatusCode).toBe(4);
    expect(nextExit.StatusCode).toBe(4);
    const i = await inspect('wt');
    expect(i.State.Status === 'restarting' || i.State.Status === 'running').toBe(true);
    await docker('rm', '-f', 'wt');
  });

  it('daemon restart: always and unless-stopped come back, unless stopped by hand; start clears that', async () => {
    await run('--name', 'd-always', '--restart', 'always', TEST_IMAGE, 'sleep', '300');
    await run('--name', 'd-always-stopped', '--restart', 'always', TEST_IMAGE, 'sleep', '300');
    await run('--name', 'd-unless', '--restart', 'unless-stopped', TEST_IMAGE, 'sleep', '300');
    await run('--name', 'd-unless-stopped', '--restart', 'unless-stopped', TEST_IMAGE, 'sleep', '300');
    await run('--name', 'd-onfail', '--restart', 'on-failure:3', TEST_IMAGE, 'sleep', '300');
    await run('--name', 'd-plain', TEST_IMAGE, 'sleep', '300');
    expect((await docker('create', '--name', 'd-created', '--restart', 'always', TEST_IMAGE, 'true')).code).toBe(0);
    expect((await docker('stop', '-t', '0', 'd-always-stopped', 'd-unless-stopped')).code).toBe(0);

    await daemon().restart();

    const status = async (name: string) => (await inspect(name)).State.Status;
    expect(await status('d-always')).toBe('running');
    expect(await status('d-unless')).toBe('running');
    // moby: `always` ignores the manual stop when the daemon starts; unless-stopped honours it.
    expect(await status('d-always-stopped')).toBe('running');
    expect(await status('d-unless-stopped')).toBe('exited');
    // Stopped by the shutdown with a non-zero code: on-failure brings it back (moby's restore).
    expect(await status('d-onfail')).toBe('running');
    expect(await status('d-plain')).toBe('exited');
    expect(await status('d-created')).toBe('created');
    expect((await inspect('d-always')).RestartCount).toBe(0);

    expect((await docker('start', 'd-unless-stopped')).code).toBe(0);
    await daemon().restart();
    expect(await status('d-unless-stopped')).toBe('running');
    const rm = await docker('rm', '-f', 'd-always', 'd-always-stopped', 'd-unless', 'd-unless-stopped', 'd-onfail', 'd-plain', 'd-created');
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('docker update --restart always on an existing container', async () => {
    await run('--name', 'upd-r', TEST_IMAGE, 'sh', '-c', 'exit 0');
    await until('upd-r to exit', async () => ((await inspect('upd-r')).State.Status === 'exited' ? true : undefined));
    const r = await docker('update', '--restart', 'always', 'upd-r');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('upd-r');
    expect((await inspect('upd-r')).HostConfig.RestartPolicy).toEqual({ Name: 'always', MaximumRetryCount: 0 });
    expect((await docker('start', 'upd-r')).code).toBe(0);
    await until('upd-r to be restarted by its new policy', async () => ((await inspect('upd-r')).RestartCount >= 2 ? true : undefined));
    expect((await docker('update', '--restart', 'on-failure:3', 'upd-r')).code).toBe(0);
    expect((await inspect('upd-r')).HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    await docker('rm', '-f', 'upd-r');
  });

  it('docker update of memory, swap, CPUs and pids on a running container', async () => {
    const id = await run('--name', 'upd-l', '--memory', '64m', TEST_IMAGE, 'sleep', '300');
    const r = await docker('update', '--memory', '32m', '--memory-swap', '64m', '--cpus', '0.5', '--pids-limit', '10', 'upd-l');
    expect(r.code, r.stderr).toBe(0);
    const group = `${daemon().cgroupParent}/${id}`;
    if (CGROUP_V2) {
      const read = (file: string) => readFileSync(`/sys/fs/cgroup/${group}/${file}`, 'utf8').trim();
      expect(read('memory.max')).toBe(String(32 * 1024 * 1024));
      expect(read('cpu.max')).toBe('50000 100000');
      expect(read('pids.max')).toBe('10');
    } else {
      const read = (controller: string, file: string) => readFileSync(`${controllerDir(controller)}/${group}/${file}`, 'utf8').trim();
      expect(read('memory', 'memory.limit_in_bytes')).toBe(String(32 * 1024 * 1024));
      if (existsSync(`${controllerDir('memory')}/${group}/memory.memsw.limit_in_bytes`)) {
        expect(read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
      }
      expect(read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(read('cpu', 'cpu.cfs_period_us')).toBe('100000');
      expect(read('pids', 'pids.max')).toBe('10');
    }
    const hc = (await inspect('upd-l')).HostConfig;
    expect(hc).toMatchObject({ Memory: 32 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 10 });
    // Persisted: a restart of the container (and of berthd) keeps them.
    expect((await docker('restart', '-t', '0', 'upd-l')).code).toBe(0);
    await daemon().restart();
    expect((await inspect('upd-l')).HostConfig).toMatchObject({ Memory: 32 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 10 });
    await docker('rm', '-f', 'upd-l');
  });

  it('docker update refuses what Docker refuses, with its messages, and changes nothing then', async () => {
    await run('--name', 'upd-rm', '--rm', TEST_IMAGE, 'sleep', '300');
    const autoRemove = await docker('update', '--restart', 'always', 'upd-rm');
    expect(autoRemove.code).not.toBe(0);
    expect(autoRemove.stderr).toMatch(/Restart policy cannot be updated because AutoRemove is enabled for the container/);

    await run('--name', 'upd-e', TEST_IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; echo filled; sleep 300');
    const noSwap = await docker('update', '--memory', '32m', 'upd-e');
    expect(noSwap.stderr).toMatch(/Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
    const tiny = await docker('update', '--memory', '1m', '--memory-swap', '2m', 'upd-e');
    expect(tiny.stderr).toMatch(/Minimum memory limit allowed is 6MB/);
    const swapBelow = await docker('update', '--memory', '64m', '--memory-swap', '32m', 'upd-e');
    expect(swapBelow.stderr).toMatch(/Minimum memoryswap limit should be larger than memory limit/);
    const tooManyCpus = await docker('update', '--cpus', '4096', 'upd-e');
    expect(tooManyCpus.stderr).toMatch(/Range of CPUs is from 0.01/);
    const policy = await docker('update', '--restart', 'always:3', 'upd-e');
    expect(policy.code).not.toBe(0);
    expect(policy.stderr).toMatch(/maximum retry count/);

    // Below what it uses now (24 MiB in /dev/shm): the kernel refuses; a clear 409, not a 500.
    await until('upd-e to fill its memory', async () => ((await docker('logs', 'upd-e')).stdout.includes('filled') ? true : undefined));
    const below = await docker('update', '--memory', '8m', '--memory-swap', '8m', 'upd-e');
    expect(below.code).not.toBe(0);
    expect(below.stderr).toMatch(/Cannot update container [0-9a-f]{64}: the kernel refused the new memory limit/);
    const hc = (await inspect('upd-e')).HostConfig;
    expect(hc.Memory).toBe(0);
    expect((await inspect('upd-e')).State.Running).toBe(true);

    const cpuQuota = await run('--name', 'upd-q', '--cpu-quota', '50000', TEST_IMAGE, 'sleep', '300');
    const nano = await docker('update', '--cpus', '1', cpuQuota);
    expect(nano.stderr).toMatch(/Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set/);
    const missing = await docker('update', '--memory', '64m', 'no-such-container');
    expect(missing.stderr).toMatch(/No such container: no-such-container/);

    const body = await fetchUpdate(daemon().socket, 'upd-q', '{"CpuShares": 512}');
    expect(body).toEqual({ status: 200, json: { Warnings: [] } });
    expect((await inspect('upd-q')).HostConfig.CpuShares).toBe(512);
    const bad = await fetchUpdate(daemon().socket, 'upd-q', '{"Memory": "lots"}');
    expect(bad.status).toBe(400);

    expect((await docker('rm', '-f', 'upd-rm', 'upd-e', 'upd-q')).code).toBe(0);
  });
});

/** `POST /containers/{id}/update` over the socket, for bodies the CLI would not send. */
async function fetchUpdate(socketPath: string, id: string, body: string): Promise<{ status: number; json: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/v1.43/containers/${id}/update`, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
