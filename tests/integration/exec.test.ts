import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// docker exec without a terminal, --init, and health checks (which run through exec).
describe('exec, --init and health checks', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);

  it('runs commands in the running container\'s namespaces, cgroup and rootfs', async () => {
    const run = await docker('run', '-d', '--name', 'box', '-e', 'FROM_RUN=1', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo init-was-here > /tmp/note; sleep 300');
    const id = run.stdout.trim();
    await sleep(200);
    expect((await docker('exec', 'box', 'cat', '/tmp/note')).stdout).toBe('init-was-here\n');
    expect((await docker('exec', 'box', 'sh', '-c', 'exit 7')).code).toBe(7);
    const env = await docker('exec', '-e', 'EXTRA=2', '-w', '/tmp', '-u', 'berth', 'box', 'sh', '-c', 'echo $FROM_RUN $EXTRA $(pwd) $(id -u) $(cat /proc/1/comm)');
    expect(env.stdout).toBe('1 2 /tmp 1000 sleep\n');
    const piped = await daemon().docker(['exec', '-i', 'box', 'tr', 'a-z', 'A-Z'], { input: 'quiet\n' });
    expect(piped.stdout).toBe('QUIET\n');
    const stderr = await docker('exec', 'box', 'sh', '-c', 'echo oops >&2');
    expect(stderr.stderr).toBe('oops\n');

    expect((await docker('exec', '-d', 'box', 'sh', '-c', 'sleep 30')).code).toBe(0);
    await sleep(300);
    const tasks = readFileSync(`/sys/fs/cgroup/pids/${daemon().cgroupParent}/${id}/cgroup.procs`, 'utf8').trim().split('\n');
    expect(tasks.length).toBeGreaterThanOrEqual(2); // init and the detached exec
    const missing = await docker('exec', 'box', 'no-such-tool');
    expect(missing.code).toBe(127);
    expect(missing.stdout + missing.stderr).toMatch(/executable file not found in \$PATH/);
    const priv = await docker('exec', '--privileged', 'box', 'true');
    expect(priv.stderr).toMatch(/privileged exec is refused/);

    await docker('pause', 'box');
    expect((await docker('exec', 'box', 'true')).stderr).toMatch(/is paused, unpause the container before exec/);
    await docker('unpause', 'box');
    await docker('stop', '-t', '0', 'box');
    expect((await docker('exec', 'box', 'true')).stderr).toMatch(/is not running/);
    await docker('rm', 'box');
  });

  it('execs into a container whose user is not root, as that user and with -u 0, with the init\'s limits', async () => {
    const docker = (...args: string[]) => daemon().docker(args);
    expect((await docker('run', '-d', '--name', 'nonroot', '-u', '1000:1000', '--ulimit', 'nofile=512:1024', '--network', 'none', TEST_IMAGE, 'sleep', '300')).code).toBe(0);
    const asUser = await docker('exec', 'nonroot', 'sh', '-c', 'id -u; ulimit -n; ulimit -Hn');
    expect(asUser.stderr).toBe('');
    expect(asUser.stdout.trim().split('\n')).toEqual(['1000', '512', '1024']);
    const asRoot = await docker('exec', '-u', '0', 'nonroot', 'id', '-u');
    expect(asRoot.stdout.trim()).toBe('0');
    await docker('rm', '-f', 'nonroot');
  });

  it('reports exit codes through GET /exec/{id}/json (dockerode)', async () => {
    const c = await daemon().dockerode.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    const exec = await c.exec({ Cmd: ['sh', '-c', 'echo hi; exit 4'], AttachStdout: true, AttachStderr: true });
    expect((await exec.inspect()).Running).toBe(false);
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    daemon().dockerode.modem.demuxStream(stream, out, out);
    await new Promise((r) => stream.on('end', r));
    expect(text).toBe('hi\n');
    const info = await exec.inspect();
    expect(info).toMatchObject({ ExitCode: 4, Running: false, ContainerID: c.id });
    await c.remove({ force: true });
  });

  it('--init reaps and forwards signals, so stop of a plain sleep exits 143 at once', async () => {
    await docker('run', '-d', '--init', '--name', 'inited', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    const t0 = Date.now();
    expect((await docker('stop', 'inited')).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await docker('inspect', '-f', '{{.State.ExitCode}}', 'inited')).stdout.trim()).toBe('143');
    await docker('rm', 'inited');
  });

  it('runs HEALTHCHECKs on schedule: starting → unhealthy → healthy, with events', async () => {
    const since = Math.floor(Date.now() / 1000);
    await docker('run', '-d', '--name', 'checked', '--network', 'none', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2', TEST_IMAGE, 'sleep', '300');
    expect((await docker('ps', '--format', '{{.Status}}', '--filter', 'name=checked')).stdout).toMatch(/\(health: starting\)/);
    const health = async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', 'checked')).stdout.trim();
    const until = async (want: string) => {
      for (let i = 0; i < 50 && (await health()) !== want; i++) await sleep(100);
      return health();
    };
    expect(await until('unhealthy')).toBe('unhealthy');
    await docker('exec', 'checked', 'touch', '/tmp/ok');
    expect(await until('healthy')).toBe('healthy');
    expect((await docker('ps', '--format', '{{.Status}}', '--filter', 'name=checked')).stdout).toMatch(/\(healthy\)/);
    const log = JSON.parse((await docker('inspect', '-f', '{{json .State.Health.Log}}', 'checked')).stdout) as { ExitCode: number }[];
    expect(log.length).toBeLessThanOrEqual(5);
    expect(log.at(-1)?.ExitCode).toBe(0);
    const events = await docker('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=checked', '--format', '{{.Action}}');
    expect(events.stdout).toMatch(/health_status: unhealthy[\s\S]*health_status: healthy/);
    await docker('rm', '-f', 'checked');
  });
});
