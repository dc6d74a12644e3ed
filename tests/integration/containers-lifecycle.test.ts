import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Paused: boolean; Pid: number; ExitCode: number; OOMKilled: boolean; StartedAt: string; FinishedAt: string };
  Config: { Labels: Record<string, string>; StopSignal?: string; Env: string[] };
  HostConfig: { Memory: number; NanoCpus: number; RestartPolicy: { Name: string } };
  GraphDriver: { Name: string; Data: { UpperDir: string; LowerDir: string } };
}

describe('container lifecycle through the docker CLI', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const inspect = async (name: string): Promise<Inspect> => {
    const r = await docker('inspect', name);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Inspect[])[0] as Inspect;
  };

  it('create → start → stop → start → restart → rm, with inspect reflecting each state', async () => {
    const created = await docker('create', '--name', 'life', '-l', 'tier=web', '--stop-signal', 'SIGUSR1', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'trap "echo got-usr1; exit 7" USR1; while true; do sleep 0.1; done');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    let s = await inspect('life');
    expect(s.State.Status).toBe('created');
    expect(s.Config.Labels).toEqual({ tier: 'web' });
    expect(s.GraphDriver.Name).toBe('overlay2');

    expect((await docker('start', 'life')).code).toBe(0);
    s = await inspect('life');
    expect(s.State).toMatchObject({ Status: 'running', Running: true });
    expect(s.State.Pid).toBeGreaterThan(1);

    const stop = await docker('stop', 'life');
    expect(stop.code, stop.stderr).toBe(0);
    s = await inspect('life');
    expect(s.State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 7, Pid: 0 });
    expect(Date.parse(s.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(s.State.StartedAt));
    expect((await docker('logs', 'life')).stdout).toBe('got-usr1\n');

    expect((await docker('restart', '-t', '1', 'life')).code).toBe(0);
    expect((await inspect('life')).State.Running).toBe(true);
    const rm = await docker('rm', 'life');
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/cannot remove container "\/life": container is running/);
    expect((await docker('rm', '-f', 'life')).code).toBe(0);
    expect((await docker('inspect', 'life')).stderr).toMatch(/No such object: life|No such container: life/);
  });

  it('stop escalates to SIGKILL after the timeout when PID 1 ignores SIGTERM (137)', async () => {
    await docker('run', '-d', '--name', 'stubborn', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    const t0 = Date.now();
    expect((await docker('stop', '-t', '1', 'stubborn')).code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect((await inspect('stubborn')).State.ExitCode).toBe(137);
    await docker('rm', 'stubborn');
  });

  it('--stop-timeout sets the default stop wait', async () => {
    await docker('run', '-d', '--name', 'quick', '--stop-timeout', '1', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    const t0 = Date.now();
    await docker('stop', 'quick');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await inspect('quick')).State.ExitCode).toBe(137);
    await docker('rm', 'quick');
  });

  it('kill sends SIGKILL by default and -s any signal; killing a stopped container is a 409', async () => {
    await docker('run', '-d', '--name', 'target', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done');
    await sleep(300);
    expect((await docker('kill', '-s', 'TERM', 'target')).code).toBe(0);
    expect((await docker('wait', 'target')).stdout.trim()).toBe('42');
    const again = await docker('kill', 'target');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/is not running/);
    await docker('start', 'target');
    await docker('kill', 'target');
    expect((await inspect('target')).State.ExitCode).toBe(137);
    await docker('rm', 'target');
  });

  it('pause freezes every process and unpause resumes them', async () => {
    await docker('run', '-d', '--name', 'freezer', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done');
    await sleep(300);
    expect((await docker('pause', 'freezer')).code).toBe(0);
    expect((await inspect('freezer')).State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    expect((await docker('ps', '--filter', 'status=paused', '--format', '{{.Names}} {{.Status}}')).stdout).toMatch(/^freezer Up .* \(Paused\)$/m);
    const upper = (await inspect('freezer')).GraphDriver.Data.UpperDir;
    const { readFileSync } = await import('node:fs');
    const n1 = readFileSync(`${upper}/tmp/n`, 'utf8');
    await sleep(400);
    expect(readFileSync(`${upper}/tmp/n`, 'utf8')).toBe(n1);
    expect((await docker('pause', 'freezer')).stderr).toMatch(/already paused/);
    expect((await docker('unpause', 'freezer')).code).toBe(0);
    // Resumed: the counter moves again (polled, so a loaded machine only makes it slower).
    let moved = false;
    for (let i = 0; i < 60 && !moved; i++) {
      await sleep(100);
      moved = readFileSync(`${upper}/tmp/n`, 'utf8') !== n1;
    }
    expect(moved).toBe(true);
    expect((await docker('rm', '-f', 'freezer')).code).toBe(0);
  });

  it('rm -f kills a paused container', async () => {
    await docker('run', '-d', '--name', 'pausedrm', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    await docker('pause', 'pausedrm');
    expect((await docker('rm', '-f', 'pausedrm')).code).toBe(0);
    expect((await docker('ps', '-aq', '--filter', 'name=pausedrm')).stdout).toBe('');
  });

  it('rename keeps the container and frees the old name', async () => {
    await docker('create', '--name', 'before', TEST_IMAGE, 'true');
    expect((await docker('rename', 'before', 'after')).code).toBe(0);
    expect((await inspect('after')).Name).toBe('/after');
    expect((await docker('create', '--name', 'before', TEST_IMAGE, 'true')).code).toBe(0);
    const clash = await docker('rename', 'after', 'before');
    expect(clash.stderr).toMatch(/is already in use/);
    await docker('rm', 'before', 'after');
  });

  it('wait returns the exit code; ps lists, filters and formats', async () => {
    await docker('run', '-d', '--name', 'ok', '-l', 'app=a', '--network', 'none', TEST_IMAGE, 'true');
    await docker('run', '-d', '--name', 'bad', '-l', 'app=b', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'exit 5');
    await docker('run', '-d', '--name', 'up', '-l', 'app=a', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    expect((await docker('wait', 'bad')).stdout.trim()).toBe('5');
    expect((await docker('wait', 'ok')).stdout.trim()).toBe('0');
    const names = async (...args: string[]) => (await docker('ps', ...args, '--format', '{{.Names}}')).stdout.trim().split('\n').filter(Boolean).sort();
    expect(await names()).toEqual(['up']);
    expect(await names('-a')).toEqual(['bad', 'ok', 'up']);
    expect(await names('-a', '--filter', 'status=exited')).toEqual(['bad', 'ok']);
    expect(await names('-a', '--filter', 'exited=5')).toEqual(['bad']);
    expect(await names('-a', '--filter', 'label=app=a')).toEqual(['ok', 'up']);
    expect(await names('-a', '--filter', 'name=ba')).toEqual(['bad']);
    expect(await names('-a', '--filter', `ancestor=${TEST_IMAGE}`)).toEqual(['bad', 'ok', 'up']);
    expect(await names('-n', '1')).toEqual(['up']);
    const q = (await docker('ps', '-aq')).stdout.trim().split('\n');
    expect(q).toHaveLength(3);
    q.forEach((id) => expect(id).toMatch(/^[0-9a-f]{12}$/));
    const full = (await docker('ps', '-a', '--no-trunc', '-q')).stdout.trim().split('\n');
    full.forEach((id) => expect(id).toMatch(/^[0-9a-f]{64}$/));
    const table = (await docker('ps', '-a')).stdout;
    expect(table).toMatch(/Exited \(5\)/);
    expect(table).toMatch(/Up (Less than a second|\d+ seconds?)/);

    const prune = await docker('container', 'prune', '-f');
    expect(prune.code, prune.stderr).toBe(0);
    expect(await names('-a')).toEqual(['up']);
    await docker('rm', '-f', 'up');
  });

  it('logs: --tail, -t, --since, --until and -f', async () => {
    await docker('run', '-d', '--name', 'talker', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; sleep 1; echo late');
    await docker('wait', 'talker');
    const all = await docker('logs', 'talker');
    expect(all.stdout).toBe('line1\nline2\nline3\nline4\nline5\nlate\n');
    expect(all.stderr).toBe('oops\n');
    expect((await docker('logs', '--tail', '2', 'talker')).stdout).toBe('late\n');
    const stamped = (await docker('logs', '-t', '--tail', '1', 'talker')).stdout;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z late\n$/);
    const lateAt = Date.parse(stamped.split(' ')[0] as string);
    expect((await docker('logs', '--since', new Date(lateAt - 200).toISOString(), 'talker')).stdout).toBe('late\n');
    expect((await docker('logs', '--until', new Date(lateAt - 200).toISOString(), 'talker')).stdout).not.toMatch(/late/);

    await docker('run', '-d', '--name', 'follow', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo first; sleep 1; echo second');
    const followed = await docker('logs', '-f', 'follow');
    expect(followed.stdout).toBe('first\nsecond\n');
    await docker('rm', 'talker', 'follow');
  });

  it('rotates json-file logs by size with --log-opt', async () => {
    const r = await docker('run', '--name', 'noisy', '--network', 'none', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=2', TEST_IMAGE, 'sh', '-c', 'for i in $(seq 1 400); do echo "line $i"; done');
    expect(r.code).toBe(0);
    const logs = (await docker('logs', 'noisy')).stdout.trim().split('\n');
    expect(logs.at(-1)).toBe('line 400');
    expect(logs.length).toBeLessThan(400);
    const { readdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const logPath = (JSON.parse((await docker('inspect', 'noisy')).stdout) as { LogPath: string }[])[0]?.LogPath as string;
    expect(readdirSync(dirname(logPath)).filter((f) => f.includes('-json.log')).sort()).toHaveLength(2);
    await docker('rm', 'noisy');
  });
});
