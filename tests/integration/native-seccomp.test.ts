import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startContainerProcess, startExecProcess, type ContainerProcess } from '../../runtime-agent/src/native/helper.js';
import type { ExecSpec, ProcessSpec } from '../../runtime-agent/src/native/protocol.js';
import {
  alive,
  busyboxSpec,
  collect,
  containerDir,
  DOCKER_CAPS,
  helperProcesses,
  makeBusyboxLayer,
  mountsUnder,
  waitFor,
} from '../support/native-containers.js';

// The helper's default seccomp filter (seccomp.c), in `run` and `exec`, against the real kernel. Root only.
const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'ls', 'id', 'grep', 'true', 'unshare', 'adjtimex', 'linux32'];
const CAP_SYS_ADMIN = 21;
/** What /proc/self/status says about seccomp: mode 2 (filter) and how many filters. */
const STATUS = 'grep -E "^Seccomp(_filters)?:" /proc/self/status';

let root: string;
let lower: string;
let dir: string;
let count = 0;
let started: ContainerProcess[] = [];
let helpersBefore: Set<number>;

async function finish(proc: ContainerProcess) {
  const [stdout, stderr] = [collect(proc.stdout), collect(proc.stderr)];
  const status = await proc.exited;
  return { ...status, stdout: await stdout, stderr: await stderr };
}

async function run(args: string[], over: Partial<ProcessSpec> = {}) {
  const proc = await startContainerProcess(busyboxSpec(lower, dir, args, over), { stdin: 'ignore', onPid: async () => undefined });
  started.push(proc);
  return finish(proc);
}

async function exec(container: ContainerProcess, args: string[], over: Partial<ExecSpec> = {}) {
  const spec: ExecSpec = {
    containerPid: container.pid,
    args,
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    capabilities: DOCKER_CAPS,
    noNewPrivileges: false,
    openStdin: false,
    tty: false,
    seccomp: 'default',
    ...over,
  };
  const proc = await startExecProcess(spec, { stdin: 'ignore', onPid: async () => undefined });
  started.push(proc);
  return finish(proc);
}

beforeAll(async () => {
  ({ root, lower } = await makeBusyboxLayer(APPLETS));
});

beforeEach(async () => {
  dir = await containerDir(root, `c${++count}`);
  started = [];
  helpersBefore = await helperProcesses();
});

afterEach(async () => {
  for (const proc of started) proc.kill('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
  expect(await mountsUnder(root)).toEqual([]);
  const leftover = [...(await helperProcesses())].filter((pid) => !helpersBefore.has(pid));
  expect(leftover).toEqual([]);
  for (const proc of started) expect(alive(proc.pid), `process ${proc.pid} still alive`).toBe(false);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the default seccomp filter', () => {
  it('is installed in a default container and refuses namespaces and clock changes with EPERM', async () => {
    const r = await run(['sh', '-c', `${STATUS}; unshare -U true; echo unshare=$?; adjtimex; echo adjtimex=$?`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Seccomp:\t2\nSeccomp_filters:\t1\nunshare=1\nadjtimex=1\n');
    expect(r.stderr).toMatch(/unshare.*Operation not permitted/);
    expect(r.stderr).toMatch(/adjtimex.*Operation not permitted/);
  });

  it('leaves normal workloads alone: sh, ls, cat, id, sleep, a fork loop, an allowed personality', async () => {
    const script = [
      'ls / >/dev/null',
      'id -u',
      'echo piped | cat',
      'sleep 0.1',
      'i=0; while [ $i -lt 50 ]; do (true) & i=$((i+1)); done; wait',
      'linux32 true && echo linux32-ok',
      'echo done',
    ].join(' && ');
    expect(await run(['sh', '-c', script])).toEqual({ code: 0, signal: 0, stdout: '0\npiped\nlinux32-ok\ndone\n', stderr: '' });
  });

  it('allows namespaces to a container with CAP_SYS_ADMIN, as Docker does', async () => {
    const r = await run(['sh', '-c', `${STATUS}; unshare -U true && echo unshare-ok`], { capabilities: [...DOCKER_CAPS, CAP_SYS_ADMIN] });
    expect(r).toEqual({ code: 0, signal: 0, stdout: 'Seccomp:\t2\nSeccomp_filters:\t1\nunshare-ok\n', stderr: '' });
  });

  it('is not installed with seccomp=unconfined', async () => {
    const r = await run(['sh', '-c', `${STATUS}; unshare -U true && echo unshare-ok`], { seccomp: 'unconfined' });
    expect(r).toEqual({ code: 0, signal: 0, stdout: 'Seccomp:\t0\nSeccomp_filters:\t0\nunshare-ok\n', stderr: '' });
  });

  it('applies to exec too, and exec with seccomp=unconfined gets none', async () => {
    const container = await startContainerProcess(
      busyboxSpec(lower, dir, ['sh', '-c', 'echo up > /marker; exec sleep 300']),
      { stdin: 'ignore', onPid: async () => undefined },
    );
    started.push(container);
    await waitFor('the marker', () => existsSync(join(dir, 'upper/marker')));

    const confined = await exec(container, ['sh', '-c', `${STATUS}; unshare -U true; echo unshare=$?`]);
    expect(confined.stdout).toBe('Seccomp:\t2\nSeccomp_filters:\t1\nunshare=1\n');
    expect(confined.stderr).toMatch(/Operation not permitted/);

    const unconfined = await exec(container, ['sh', '-c', STATUS], { seccomp: 'unconfined' });
    expect(unconfined).toEqual({ code: 0, signal: 0, stdout: 'Seccomp:\t0\nSeccomp_filters:\t0\n', stderr: '' });
  });
});
