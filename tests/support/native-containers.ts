import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { helperPath } from '../../runtime-agent/src/native/paths.js';
import type { ProcessSpec } from '../../runtime-agent/src/native/protocol.js';
import { REPO_ROOT } from './paths.js';

/**
 * Containers for the native helper's integration tests (tests/integration/native-*.test.ts),
 * made straight from Debian's busybox-static, without berthd or an image store:
 *
 *   <root>/                  mkdtemp under the system temp dir
 *   ├── lower/               the one image layer: /bin/busybox + applet links, /etc/passwd
 *   └── c<N>/                one container: upper/ work/ rootfs/ (containerDir)
 *
 * and the leak checks those tests make after each case: no mount left under the root, no
 * helper process of this test process left running.
 */

/** Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 *  NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
export const DOCKER_CAPS: readonly number[] = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31];
export const DOCKER_CAPS_HEX = '00000000a80425fb';
export const MASKED: readonly string[] = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/acpi', '/proc/scsi', '/sys/firmware'];
export const READONLY: readonly string[] = ['/proc/sys', '/proc/sysrq-trigger'];

/**
 * Helper processes are told apart from those of anything else running on the machine (another
 * suite's berthd has `berth-shim`s too) by this variable, which they inherit from the test
 * process: spawn passes process.env, and the shim, a container's init before its exec, the
 * `--init` reaper and an exec'd child before its exec all keep the shim's environment.
 */
const TAG_NAME = 'BERTH_NATIVE_TEST_RUN';
const HELPER_NAMES = new Set(['berth-shim', 'berth-init', 'berth-exec', 'berth-hold']);

export interface BusyboxLayer {
  /** The temp dir holding everything; removed by the caller. */
  readonly root: string;
  /** The image layer, used as the overlay's lower dir. */
  readonly lower: string;
}

/** Builds the helper and a busybox layer with `applets` linked in /bin. Tags this process. */
export async function makeBusyboxLayer(applets: readonly string[]): Promise<BusyboxLayer> {
  execFileSync('make', ['-s', '-C', join(REPO_ROOT, 'runtime-agent/native')], { stdio: 'inherit' });
  process.env[TAG_NAME] ??= randomBytes(8).toString('hex');
  const root = await mkdtemp(join(tmpdir(), 'berth-native-'));
  const lower = join(root, 'lower');
  await mkdir(join(lower, 'bin'), { recursive: true });
  await mkdir(join(lower, 'etc'));
  await copyFile('/bin/busybox', join(lower, 'bin/busybox'));
  execFileSync('chmod', ['755', join(lower, 'bin/busybox')]);
  for (const applet of applets) await symlink('busybox', join(lower, 'bin', applet));
  await writeFile(join(lower, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n');
  return { root, lower };
}

/** A new container directory under the root: upper/, work/ and the rootfs mount point. */
export async function containerDir(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  for (const d of ['upper', 'work', 'rootfs']) await mkdir(join(dir, d), { recursive: true });
  return dir;
}

/** A Docker-like spec for `args` in the container at `dir`; `over` replaces fields. */
export function busyboxSpec(lower: string, dir: string, args: string[], over: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    rootfs: { lower: [lower], upper: join(dir, 'upper'), work: join(dir, 'work'), target: join(dir, 'rootfs'), readonly: false },
    hostname: 'berth-test',
    args,
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    capabilities: DOCKER_CAPS,
    network: { kind: 'new' },
    mounts: [],
    maskedPaths: MASKED,
    readonlyPaths: READONLY,
    rlimits: [{ type: 'nofile', soft: 1024, hard: 1024 }],
    noNewPrivileges: false,
    privileged: false,
    openStdin: false,
    oomScoreAdj: 0,
    tty: false,
    init: false,
    seccomp: 'default',
    ...over,
  };
}

/** PIDs of this test process's helper processes (`berth-shim`, `berth-hold`, and `berth-init` /
 *  `berth-exec` before their exec; the `--init` reaper stays `berth-init`). */
export async function helperProcesses(): Promise<Set<number>> {
  const tag = `${TAG_NAME}=${process.env[TAG_NAME] ?? ''}`;
  const found = new Set<number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (!HELPER_NAMES.has(comm)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(tag)) found.add(Number(entry));
  }
  return found;
}

/** Mount points under `root`, as this process sees them. */
export async function mountsUnder(root: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((line) => line.split(' ')[4]?.startsWith(root));
}

/** The state letter of /proc/<pid>/stat (`R`, `S`, `Z`...), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/** Running (a zombie waiting for a slow reaper counts as gone). */
export function alive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

/** The parent PID from /proc/<pid>/stat. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Everything a stream carries, as UTF-8, once it ends. */
export function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Polls `check` every 20 ms until it holds; throws after `ms`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Plays berthd for one start (spec, `go` after `pid`) and then goes away as berthd would when
 * it dies: fd 3 closes right after `started`. Resolves with the helper's exit code and the
 * lines it sent.
 */
export async function startThenVanish(mode: 'run' | 'exec', spec: Buffer): Promise<{ exit: number | null; lines: string[] }> {
  const helper = spawn(helperPath, [mode], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const control = helper.stdio[3] as Socket;
  const exit = new Promise<number | null>((resolve) => helper.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  control.setEncoding('utf8');
  control.on('data', (d: string) => {
    lines.push(...d.split('\n').filter(Boolean));
    if (d.startsWith('pid ')) control.write('go\n');
    if (d.includes('started')) control.destroy();
  });
  control.write(spec);
  return { exit: await exit, lines };
}
