import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../runtime-agent/src/errors.js';
import {
  ContainerStartError,
  startContainerProcess,
  startExecProcess,
  type ContainerProcess,
  type StartOptions,
} from '../../runtime-agent/src/native/helper.js';
import { helperPath } from '../../runtime-agent/src/native/paths.js';
import type { ExecSpec, ProcessSpec } from '../../runtime-agent/src/native/protocol.js';
import { encodeExecSpec } from '../../runtime-agent/src/native/spec-encoding.js';
import {
  alive,
  busyboxSpec,
  collect,
  containerDir,
  DOCKER_CAPS,
  helperProcesses,
  makeBusyboxLayer,
  mountsUnder,
  parentOf,
  processState,
  waitFor,
  startThenVanish,
} from '../support/native-containers.js';

// The helper's terminal (`-t`), `--init` reaper and `exec` mode, against the real kernel. Root only.
const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'ls', 'id', 'hostname', 'grep', 'true', 'tty', 'stty', 'kill', 'pwd'];
const PIDS_CGROUP = '/sys/fs/cgroup/pids';

let root: string;
let lower: string;
let dir: string;
let count = 0;
let started: ContainerProcess[] = [];
let cgroups: string[] = [];
let helpersBefore: Set<number>;

const noop: StartOptions['onPid'] = async () => undefined;

function specFor(args: string[], over: Partial<ProcessSpec> = {}): ProcessSpec {
  return busyboxSpec(lower, dir, args, over);
}

async function start(spec: ProcessSpec, stdin: 'pipe' | 'ignore' = 'ignore', onPid = noop): Promise<ContainerProcess> {
  const proc = await startContainerProcess(spec, { stdin, onPid });
  started.push(proc);
  return proc;
}

function execSpec(container: ContainerProcess, args: string[], over: Partial<ExecSpec> = {}): ExecSpec {
  return {
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
}

async function exec(spec: ExecSpec, stdin: 'pipe' | 'ignore' = 'ignore', onPid = noop): Promise<ContainerProcess> {
  const proc = await startExecProcess(spec, { stdin, onPid });
  started.push(proc);
  return proc;
}

/** Runs to the end: exit status and all output. */
async function finish(proc: ContainerProcess) {
  const [stdout, stderr] = [collect(proc.stdout), collect(proc.stderr)];
  const status = await proc.exited;
  return { ...status, stdout: await stdout, stderr: await stderr };
}

/** What a terminal has printed so far, to wait on while driving it. */
class Screen {
  text = '';

  constructor(stream: Readable) {
    stream.on('data', (c: Buffer) => (this.text += c.toString('utf8')));
  }

  /** Waits until `pattern` matches what came after `from` (a previous length of text). */
  async waitFor(pattern: RegExp, from = 0): Promise<void> {
    await waitFor(`${pattern} in ${JSON.stringify(this.text.slice(from))}`, () => pattern.test(this.text.slice(from)));
  }
}

/** A running container with a marker file its init wrote, for exec to look at. */
async function runningContainer(over: Partial<ProcessSpec> = {}, onPid = noop): Promise<ContainerProcess> {
  const proc = await start(specFor(['sh', '-c', 'echo from-init > /marker; exec sleep 300'], { hostname: 'exec-box', ...over }), 'ignore', onPid);
  await waitFor('the marker', () => existsSync(join(dir, 'upper/marker')));
  return proc;
}

/** Host PIDs whose parent is `pid`. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentOf(Number(entry)) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

async function pidsCgroup(): Promise<string> {
  const path = join(PIDS_CGROUP, `berth-test-${randomBytes(4).toString('hex')}`);
  await mkdir(path);
  cgroups.push(path);
  return path;
}

beforeAll(async () => {
  ({ root, lower } = await makeBusyboxLayer(APPLETS));
});

beforeEach(async () => {
  dir = await containerDir(root, `c${++count}`);
  started = [];
  cgroups = [];
  helpersBefore = await helperProcesses();
});

afterEach(async () => {
  for (const proc of started) proc.kill('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
  for (const cgroup of cgroups) await rmdir(cgroup);
  expect(await mountsUnder(root)).toEqual([]);
  const leftover = [...(await helperProcesses())].filter((pid) => !helpersBefore.has(pid));
  expect(leftover).toEqual([]);
  for (const proc of started) expect(alive(proc.pid), `process ${proc.pid} still alive`).toBe(false);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a terminal (tty)', () => {
  it('is /dev/pts/0 in the container, carries all output on stdout, with \\r\\n line ends', async () => {
    const proc = await start(specFor(['sh', '-c', 'tty; echo out; echo err >&2'], { tty: true }));
    expect(await finish(proc)).toEqual({ code: 0, signal: 0, stdout: '/dev/pts/0\r\nout\r\nerr\r\n', stderr: '' });
  });

  it('starts at consoleSize', async () => {
    const proc = await start(specFor(['stty', 'size'], { tty: true, consoleSize: { rows: 40, cols: 120 } }));
    expect(await finish(proc)).toMatchObject({ code: 0, stdout: '40 120\r\n' });
  });

  it('is resized while a shell reads commands from it, and ^D ends the shell', async () => {
    const proc = await start(specFor(['sh'], { tty: true, openStdin: true, consoleSize: { rows: 40, cols: 120 } }), 'pipe');
    const screen = new Screen(proc.stdout);
    const stderr = collect(proc.stderr);
    proc.stdin?.write('stty size\n');
    await screen.waitFor(/\r\n40 120\r\n/);
    let mark = screen.text.length;
    proc.resize(50, 132);
    proc.stdin?.write('stty size\n');
    await screen.waitFor(/\r\n50 132\r\n/, mark);
    mark = screen.text.indexOf('50 132');
    // ^D at an empty prompt: the shell reads EOF. The line editor switches canonical mode off to
    // read a line, and an EOF typed in the instant before is swallowed: press it again then.
    await screen.waitFor(/\/ # \S*$/, mark); // the prompt, then busybox asks where the cursor is (ESC[6n)
    let exited = false;
    void proc.exited.then(() => (exited = true));
    for (let i = 0; i < 10 && !exited; i++) {
      proc.stdin?.write('\x04');
      await waitFor('the shell to exit', () => exited, 500).catch(() => undefined);
    }
    expect(await proc.exited).toEqual({ code: 0, signal: 0 });
    expect(await stderr).toBe('');
    expect(screen.text).not.toMatch(/[^\r]\n/); // onlcr: every line end is \r\n
  });

  it('stays open when stdin ends: the process keeps its terminal until it exits', async () => {
    const proc = await start(specFor(['sh', '-c', 'sleep 0.3; tty; stty size'], { tty: true, openStdin: true, consoleSize: { rows: 7, cols: 9 } }), 'pipe');
    proc.stdin?.end();
    expect(await finish(proc)).toMatchObject({ code: 0, signal: 0, stdout: '/dev/pts/0\r\n7 9\r\n' });
  });

  it('validates resize, which is a no-op without a terminal or after the exit', async () => {
    const proc = await start(specFor(['sleep', '300']));
    expect(() => proc.resize(0, 80)).toThrow(/rows must be an integer from 1 to 65535/);
    expect(() => proc.resize(24, 65536)).toThrow(/cols must be an integer from 1 to 65535/);
    try {
      proc.resize(24, 1.5);
    } catch (err) {
      expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    }
    expect(() => proc.resize(24, 80)).not.toThrow();
    proc.kill('SIGKILL');
    await proc.exited;
    expect(() => proc.resize(24, 80)).not.toThrow();
  });
});

describe('--init', () => {
  it('keeps PID 1 as berth-init, the command as its child', async () => {
    const proc = await start(specFor(['sh', '-c', 'cat /proc/1/comm; echo $$; sleep 300'], { init: true }));
    const screen = new Screen(proc.stdout);
    await screen.waitFor(/^berth-init\n(\d+)\n$/);
    expect(screen.text).not.toBe('berth-init\n1\n');
    expect((await readFile(`/proc/${proc.pid}/comm`, 'utf8')).trim()).toBe('berth-init');
    expect(await childrenOf(proc.pid)).toHaveLength(1);
  });

  it('stops a plain sleep promptly with 143 on SIGTERM (which PID 1 would ignore without it)', async () => {
    const plain = await start(specFor(['sleep', '300']));
    plain.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(plain.pid)).toBe(true);

    dir = await containerDir(root, `c${++count}`);
    const proc = await start(specFor(['sleep', '300'], { init: true }));
    await waitFor('the command', async () => (await childrenOf(proc.pid)).length === 1);
    const t0 = Date.now();
    proc.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 143, signal: 0 });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('forwards signals to the command', async () => {
    const proc = await start(specFor(['sh', '-c', 'trap "echo got-usr1; exit 7" USR1; echo ready; while true; do sleep 0.05; done'], { init: true }));
    const screen = new Screen(proc.stdout);
    await screen.waitFor(/ready\n/);
    proc.kill('SIGUSR1');
    expect(await proc.exited).toEqual({ code: 7, signal: 0 });
    expect(screen.text).toBe('ready\ngot-usr1\n');
  });

  it('reaps orphans, which a plain PID 1 leaves as zombies', async () => {
    const script = '(sleep 0.1 &); echo spawned; exec sleep 300';
    const zombies = async (init: number) => {
      const states = await Promise.all((await childrenOf(init)).map((pid) => processState(pid)));
      return states.filter((s) => s === 'Z').length;
    };

    const plain = await start(specFor(['sh', '-c', script]));
    await new Screen(plain.stdout).waitFor(/spawned/);
    await waitFor('the orphan to die', async () => (await zombies(plain.pid)) === 1);

    dir = await containerDir(root, `c${++count}`);
    const proc = await start(specFor(['sh', '-c', script], { init: true }));
    await new Screen(proc.stdout).waitFor(/spawned/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await zombies(proc.pid)).toBe(0);
    const children = await childrenOf(proc.pid);
    expect(children).toHaveLength(1); // the sleep 300; the orphan came and went
    expect((await readFile(`/proc/${children[0]}/comm`, 'utf8')).trim()).toBe('sleep');
  });

  it("exits with the command's code, 128+N when signal N killed it", async () => {
    expect(await (await start(specFor(['sh', '-c', 'exit 5'], { init: true }))).exited).toEqual({ code: 5, signal: 0 });
    dir = await containerDir(root, `c${++count}`);
    expect(await (await start(specFor(['sh', '-c', 'kill -9 $$'], { init: true }))).exited).toEqual({ code: 137, signal: 0 });
  });

  it('reports an unrunnable command as without it', async () => {
    const err = await startContainerProcess(specFor(['no-such-command'], { init: true }), { stdin: 'ignore', onPid: noop }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerStartError);
    expect(err).toMatchObject({ stage: 'exec', errno: 'ENOENT', message: 'exec: "no-such-command": executable file not found in $PATH' });
  });

  it('gives the command the terminal, in the foreground: ^C interrupts it', async () => {
    const proc = await start(specFor(['sh', '-c', 'tty; stty size; sleep 300'], { init: true, tty: true, openStdin: true, consoleSize: { rows: 33, cols: 77 } }), 'pipe');
    const screen = new Screen(proc.stdout);
    await screen.waitFor(/^\/dev\/pts\/0\r\n33 77\r\n$/);
    proc.stdin?.write('\x03');
    expect(await proc.exited).toEqual({ code: 130, signal: 0 });
  });
});

describe('exec', () => {
  it("sees the container's rootfs, hostname, processes and limits", async () => {
    const container = await runningContainer({ rlimits: [{ type: 'nofile', soft: 512, hard: 1024 }] });
    const proc = await exec(execSpec(container, ['sh', '-c', 'cat /marker; hostname; echo $$; cat /proc/1/comm; ulimit -n; pwd']));
    const result = await finish(proc);
    const [marker, hostname, pid, init, nofile, cwd] = result.stdout.split('\n');
    expect({ marker, hostname, init, nofile, cwd }).toEqual({ marker: 'from-init', hostname: 'exec-box', init: 'sleep', nofile: '512', cwd: '/' });
    expect(Number(pid)).toBeGreaterThan(1);
    expect(result).toMatchObject({ code: 0, signal: 0, stderr: '' });
    expect(alive(container.pid)).toBe(true);
  });

  it('runs as the given user, with the given capabilities, in the given directory', async () => {
    const container = await runningContainer();
    const proc = await exec(
      execSpec(container, ['sh', '-c', 'id; pwd; grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status'], {
        user: { uid: 1000, gid: 1000, additionalGids: [5] },
        capabilities: [],
        noNewPrivileges: true,
        cwd: '/proc',
      }),
    );
    expect((await finish(proc)).stdout).toBe('uid=1000(berth) gid=1000 groups=5\n/proc\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\n');
  });

  it.skipIf(!existsSync(PIDS_CGROUP))("joins the container's cgroup when onPid puts it there", async () => {
    const cgroup = await pidsCgroup();
    const enter = async (pid: number) => writeFile(join(cgroup, 'cgroup.procs'), String(pid));
    const container = await runningContainer({}, enter);
    let joined = '';
    const proc = await exec(execSpec(container, ['sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup; sleep 300']), 'ignore', async (pid) => {
      await enter(pid);
      joined = await readFile(`/proc/${pid}/cgroup`, 'utf8');
    });
    expect(joined).toBe(await readFile(`/proc/${container.pid}/cgroup`, 'utf8'));
    const screen = new Screen(proc.stdout);
    await screen.waitFor(/---\n[^]*pids:\/\n/);
    const [self, init] = screen.text.split('---\n');
    expect(self).toBe(init);
    expect(self).toMatch(/:pids:\/\n/); // the container's cgroup namespace is rooted there
    expect(await readFile(`/proc/${proc.pid}/cgroup`, 'utf8')).toBe(await readFile(`/proc/${container.pid}/cgroup`, 'utf8'));
  });

  it('reports the exit code and pipes stdin', async () => {
    const container = await runningContainer();
    expect(await (await exec(execSpec(container, ['sh', '-c', 'exit 7']))).exited).toEqual({ code: 7, signal: 0 });
    const proc = await exec(execSpec(container, ['cat'], { openStdin: true }), 'pipe');
    const result = finish(proc);
    proc.stdin?.end('through stdin\n');
    expect(await result).toEqual({ code: 0, signal: 0, stdout: 'through stdin\n', stderr: '' });
  });

  it("refuses a missing command and a missing working directory with Docker's messages", async () => {
    const container = await runningContainer();
    const failure = (over: Partial<ExecSpec>, args = ['true']) => startExecProcess(execSpec(container, args, over), { stdin: 'ignore', onPid: noop }).catch((e: unknown) => e);
    const missing = await failure({}, ['no-such-command']);
    expect(missing).toBeInstanceOf(ContainerStartError);
    expect(missing).toMatchObject({ code: 'invalid-parameter', stage: 'exec', errno: 'ENOENT', exitCode: 127, message: 'exec: "no-such-command": executable file not found in $PATH' });
    expect(await failure({ cwd: '/nope' })).toMatchObject({
      code: 'invalid-parameter',
      stage: 'chdir',
      errno: 'ENOENT',
      message: 'chdir to cwd ("/nope") set in config failed: no such file or directory',
    });
    expect(existsSync(join(dir, 'upper/nope'))).toBe(false); // unlike run, exec creates nothing
    expect(alive(container.pid)).toBe(true);
  });

  it("allocates a terminal in the container's devpts, sized and resizable", async () => {
    const container = await runningContainer();
    const once = await exec(execSpec(container, ['sh', '-c', 'tty; stty size; ls -1 /dev/pts'], { tty: true, consoleSize: { rows: 30, cols: 100 } }));
    expect(await finish(once)).toEqual({ code: 0, signal: 0, stdout: '/dev/pts/0\r\n30 100\r\n0\r\nptmx\r\n', stderr: '' });

    const shell = await exec(execSpec(container, ['sh'], { tty: true, openStdin: true, consoleSize: { rows: 30, cols: 100 } }), 'pipe');
    const screen = new Screen(shell.stdout);
    shell.stdin?.write('tty; stty size\n');
    await screen.waitFor(/\/dev\/pts\/0\r\n30 100\r\n/);
    const mark = screen.text.length;
    shell.resize(45, 160);
    shell.stdin?.write('stty size; exit 4\n');
    await screen.waitFor(/\r\n45 160\r\n/, mark);
    expect(await shell.exited).toEqual({ code: 4, signal: 0 });
  });

  it('dies with the container', async () => {
    const container = await runningContainer();
    const proc = await exec(execSpec(container, ['sleep', '300']));
    container.kill('SIGKILL');
    expect(await proc.exited).toEqual({ code: 137, signal: 9 });
  });

  it("fails clearly when the container's process is gone", async () => {
    const gone = await start(specFor(['true']));
    await gone.exited;
    const err = await startExecProcess(execSpec(gone, ['true']), { stdin: 'ignore', onPid: noop }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerStartError);
    expect(err).toMatchObject({ code: 'system', stage: 'namespaces', errno: 'ESRCH', message: `the container's process ${gone.pid} is not running` });
  });

  it('refuses keys that belong to run', async () => {
    const helper = spawn(helperPath, ['exec'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const control = helper.stdio[3] as Socket;
    const exit = new Promise<number | null>((resolve) => helper.once('exit', (code) => resolve(code)));
    const reply = collect(control);
    control.write('version=1\0container-pid=1\0arg=true\0cwd=/\0uid=0\0gid=0\0init=1\0end\0');
    expect(await exit).toBe(1);
    expect(await reply).toBe('error spec 22 unknown key "init"\n');
  });

  it('kills the exec\'d process when berthd goes away (fd 3 closes)', async () => {
    const container = await runningContainer();
    const { exit, lines } = await startThenVanish('exec', encodeExecSpec(execSpec(container, ['sleep', '300'])));
    expect(exit).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^pid \d+$/), 'started']);
    expect(alive(Number(lines[0]!.slice(4)))).toBe(false);
    expect(alive(container.pid)).toBe(true);
  });
});
