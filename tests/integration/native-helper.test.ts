import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../runtime-agent/src/errors.js';
import { ContainerStartError, startContainerProcess, type ContainerProcess } from '../../runtime-agent/src/native/helper.js';
import type { ProcessSpec } from '../../runtime-agent/src/native/protocol.js';
import { encodeProcessSpec } from '../../runtime-agent/src/native/spec-encoding.js';
import {
  alive,
  busyboxSpec,
  collect,
  containerDir,
  DOCKER_CAPS_HEX,
  helperProcesses,
  makeBusyboxLayer,
  MASKED,
  mountsUnder,
  startThenVanish,
} from '../support/native-containers.js';

// Drives the real helper: namespaces, overlay, mounts, capabilities. Root only.
const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'ls', 'id', 'hostname', 'wc', 'touch', 'grep', 'true', 'pwd'];

let root: string;
let lower: string;
let dir: string;
let count = 0;
let started: ContainerProcess[] = [];
let helpersBefore: Set<number>;

function specFor(args: string[], over: Partial<ProcessSpec> = {}): ProcessSpec {
  return busyboxSpec(lower, dir, args, over);
}

async function start(spec: ProcessSpec, stdin: 'pipe' | 'ignore' = 'ignore'): Promise<ContainerProcess> {
  const proc = await startContainerProcess(spec, { stdin, onPid: async () => undefined });
  started.push(proc);
  return proc;
}

async function run(args: string[], over: Partial<ProcessSpec> = {}, input?: string) {
  const proc = await start(specFor(args, over), input === undefined ? 'ignore' : 'pipe');
  const [stdout, stderr] = [collect(proc.stdout), collect(proc.stderr)];
  if (input !== undefined) proc.stdin?.end(input);
  const status = await proc.exited;
  return { ...status, stdout: await stdout, stderr: await stderr };
}

beforeAll(async () => {
  ({ root, lower } = await makeBusyboxLayer(APPLETS));
  await writeFile(join(root, 'hosts'), '127.0.0.1 localhost\n');
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
  for (const proc of started) expect(alive(proc.pid), `container init ${proc.pid} still alive`).toBe(false);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('startContainerProcess', () => {
  it('runs a command and streams its stdout', async () => {
    expect(await run(['echo', 'hello', 'world'])).toEqual({ code: 0, signal: 0, stdout: 'hello world\n', stderr: '' });
  });

  it('reports the exit code', async () => {
    expect(await run(['sh', '-c', 'echo oops >&2; exit 3'])).toMatchObject({ code: 3, signal: 0, stderr: 'oops\n' });
  });

  it('makes the command PID 1 and shows only the container in /proc', async () => {
    const { stdout } = await run(['sh', '-c', 'echo $$; cd /proc && echo [0-9]*']);
    expect(stdout).toBe('1\n1\n');
  });

  it('sets the hostname in its own UTS namespace', async () => {
    expect((await run(['hostname'], { hostname: 'box-42' })).stdout).toBe('box-42\n');
  });

  it('writes to the upper dir, never to the lower dir', async () => {
    const { code } = await run(['sh', '-c', 'echo data > /etc/new-file && echo more >> /etc/passwd']);
    expect(code).toBe(0);
    expect(await readFile(join(dir, 'upper/etc/new-file'), 'utf8')).toBe('data\n');
    expect(await readFile(join(dir, 'upper/etc/passwd'), 'utf8')).toMatch(/more\n$/);
    expect(existsSync(join(lower, 'etc/new-file'))).toBe(false);
    expect(await readFile(join(lower, 'etc/passwd'), 'utf8')).not.toMatch(/more/);
  });

  it('refuses a missing command with Docker\'s message, leaving nothing behind', async () => {
    const err = await startContainerProcess(specFor(['no-such-command']), { stdin: 'ignore', onPid: async () => undefined }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContainerStartError);
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    expect(err).toMatchObject({
      stage: 'exec',
      errno: 'ENOENT',
      exitCode: 127,
      message: 'exec: "no-such-command": executable file not found in $PATH',
    });
  });

  it('explains other unrunnable commands like runc does', async () => {
    const failure = (args: string[], over: Partial<ProcessSpec> = {}) =>
      startContainerProcess(specFor(args, over), { stdin: 'ignore', onPid: async () => undefined }).catch((e: unknown) => e);
    expect(await failure(['/bin/nope'])).toMatchObject({
      code: 'invalid-parameter',
      message: 'exec: "/bin/nope": stat /bin/nope: no such file or directory',
    });
    expect(await failure(['/etc/passwd'])).toMatchObject({ code: 'invalid-parameter', errno: 'EACCES', message: 'exec: "/etc/passwd": permission denied' });
    expect(await failure(['/etc'])).toMatchObject({ code: 'invalid-parameter', message: 'exec: "/etc": is a directory' });
    expect(await failure(['pwd'], { cwd: '/etc/passwd' })).toMatchObject({ code: 'invalid-parameter', stage: 'chdir', errno: 'ENOTDIR' });
  });

  it('reports a setup failure as a system error at its stage', async () => {
    const spec = specFor(['true']);
    const err = await startContainerProcess({ ...spec, rootfs: { ...spec.rootfs, lower: [join(root, 'missing')] } }, {
      stdin: 'ignore',
      onPid: async () => undefined,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'system', stage: 'mount-rootfs', errno: 'ENOENT' });
    expect((err as Error).message).toMatch(/^mount overlay on .*: no such file or directory$/);
  });

  it('gives up the start, killing the waiting init, when onPid fails', async () => {
    let pid = 0;
    const err = await startContainerProcess(specFor(['true']), {
      stdin: 'ignore',
      onPid: async (p) => {
        pid = p;
        throw new Error('cgroup refused');
      },
    }).catch((e: unknown) => e);
    expect(isBerthError(err, 'system')).toBe(true);
    expect((err as Error).message).toBe("starting the container's process: cgroup refused");
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('delivers kill(SIGKILL) as signal 9, code 137', async () => {
    const proc = await start(specFor(['sleep', '1000']));
    proc.kill('SIGKILL');
    expect(await proc.exited).toEqual({ code: 137, signal: 9 });
    expect(() => proc.kill('SIGTERM')).not.toThrow(); // after the exit: a no-op
  });

  it('kills the container when berthd goes away (fd 3 closes)', async () => {
    const { exit, lines } = await startThenVanish('run', encodeProcessSpec(specFor(['sleep', '1000'])));
    expect(exit).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^pid \d+$/), 'started']);
    expect(alive(Number(lines[0]!.slice(4)))).toBe(false);
  });

  it('resolves exited as SIGKILLed when the shim itself is killed', async () => {
    const proc = await start(specFor(['sleep', '1000']));
    const stat = await readFile(`/proc/${proc.pid}/stat`, 'utf8');
    const shim = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    expect((await readFile(`/proc/${shim}/comm`, 'utf8')).trim()).toBe('berth-shim');
    process.kill(shim, 'SIGKILL');
    expect(await proc.exited).toEqual({ code: 137, signal: 9 });
    for (let i = 0; i < 50 && alive(proc.pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(proc.pid)).toBe(false);
  });

  it('runs as the given user and groups', async () => {
    const { stdout } = await run(['id'], { user: { uid: 1000, gid: 1000, additionalGids: [5] } });
    expect(stdout).toBe('uid=1000(berth) gid=1000 groups=5\n');
  });

  it('keeps exactly the given capabilities', async () => {
    const { stdout } = await run(['grep', '-E', '^Cap(Eff|Prm|Bnd)', '/proc/self/status']);
    expect(stdout).toBe(`CapPrm:\t${DOCKER_CAPS_HEX}\nCapEff:\t${DOCKER_CAPS_HEX}\nCapBnd:\t${DOCKER_CAPS_HEX}\n`);
    const none = await run(['grep', '-E', '^CapEff', '/proc/self/status'], { capabilities: [] });
    expect(none.stdout).toBe('CapEff:\t0000000000000000\n');
  });

  it('applies rlimits, oom_score_adj and no_new_privs', async () => {
    const { stdout } = await run(['sh', '-c', 'ulimit -n; ulimit -c; cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status'], {
      rlimits: [{ type: 'nofile', soft: 512, hard: 1024 }, { type: 'core', soft: 0, hard: 0 }],
      oomScoreAdj: 500,
      noNewPrivileges: true,
    });
    expect(stdout).toBe('512\n0\n500\nNoNewPrivs:\t1\n');
  });

  it('masks paths and keeps /sys and the read-only paths read-only', async () => {
    const files = MASKED.filter((p) => existsSync(p) && !statSync(p).isDirectory());
    const dirs = MASKED.filter((p) => existsSync(p) && statSync(p).isDirectory());
    expect(files.length + dirs.length).toBeGreaterThan(0);
    const script = [
      ...files.map((f) => `echo ${f} $(cat ${f} | wc -c)`),
      ...dirs.map((d) => `echo ${d} $(ls -A ${d} | wc -l)`),
      'touch /sys/berth 2>/dev/null && echo sys writable || echo sys read-only',
      'echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null && echo proc-sys writable || echo proc-sys read-only',
    ].join('; ');
    const { stdout } = await run(['sh', '-c', script]);
    expect(stdout.trim().split('\n')).toEqual([
      ...files.map((f) => `${f} 0`),
      ...dirs.map((d) => `${d} 0`),
      'sys read-only',
      'proc-sys read-only',
    ]);
  });

  it('gives a new network namespace only loopback', async () => {
    expect((await run(['ls', '/sys/class/net'])).stdout).toBe('lo\n');
  });

  it('mounts binds and tmpfs, and a read-only rootfs stays read-only', async () => {
    const spec = specFor(['sh', '-c', 'cat /etc/hosts; touch /x 2>/dev/null || echo rootfs ro; echo t > /scratch/t && cat /scratch/t; echo h >> /etc/hosts 2>/dev/null || echo hosts ro'], {
      mounts: [
        { source: join(root, 'hosts'), destination: '/etc/hosts', type: 'bind', options: ['rbind', 'ro', 'rprivate'] },
        { source: 'tmpfs', destination: '/scratch', type: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=1m'] },
      ],
    });
    const proc = await start({ ...spec, rootfs: { ...spec.rootfs, readonly: true } });
    const stdout = collect(proc.stdout);
    expect(await proc.exited).toEqual({ code: 0, signal: 0 });
    expect(await stdout).toBe('127.0.0.1 localhost\nrootfs ro\nt\nhosts ro\n');
  });

  it('pipes stdin, and /dev/stdout can be opened', async () => {
    const { stdout } = await run(['sh', '-c', 'cat; echo via-dev > /dev/stdout; echo err > /dev/stderr'], { openStdin: true }, 'from stdin\n');
    expect(stdout).toBe('from stdin\nvia-dev\n');
  });

  it('stacks more layers than one page of overlay options can name', async () => {
    const layers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const layer = join(root, 'layers', `${i}`.padStart(64, '0'), 'diff');
      await mkdir(join(layer, 'layer'), { recursive: true });
      await writeFile(join(layer, 'layer', `${i}`), `${i}`);
      await writeFile(join(layer, 'layer', 'top'), `${i}`); // the top-most (first) one wins
      layers.push(layer);
    }
    expect(layers.join(':').length).toBeGreaterThan(4096);
    const spec = specFor(['sh', '-c', 'ls /layer | wc -l; cat /layer/top']);
    const proc = await start({ ...spec, rootfs: { ...spec.rootfs, lower: [...layers, lower] } });
    const stdout = collect(proc.stdout);
    expect(await proc.exited).toEqual({ code: 0, signal: 0 });
    expect(await stdout).toBe('61\n0');
  });

  it('creates a missing working directory', async () => {
    expect((await run(['pwd'], { cwd: '/work/dir' })).stdout).toBe('/work/dir\n');
  });
});
