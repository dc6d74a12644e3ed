import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errnoCode, isBerthError } from '../../runtime-agent/src/errors.js';
import { holdFilesystem, startContainerProcess, type FilesystemHold } from '../../runtime-agent/src/native/helper.js';
import { helperPath } from '../../runtime-agent/src/native/paths.js';
import type { HoldSpec, MountSpec } from '../../runtime-agent/src/native/protocol.js';
import { encodeHoldSpec } from '../../runtime-agent/src/native/spec-encoding.js';
import { findLeaks, snapshotResources } from '../support/leaks.js';
import {
  alive,
  busyboxSpec,
  containerDir,
  helperProcesses,
  makeBusyboxLayer,
  mountsUnder,
  waitFor,
} from '../support/native-containers.js';

// `berth-helper hold` on the real kernel: overlay and bind mounts in a mount namespace of the
// hold's own, reached through /proc/<pid>/root. Root only.

let root: string;
let lower: string;
let dir: string;
let count = 0;
let holds: FilesystemHold[] = [];
let helpersBefore: Set<number>;

const upper = (): string => join(dir, 'upper');
const target = (): string => join(dir, 'rootfs');

/** A writable overlay of the busybox layer, as `run` mounts it. */
function writableSpec(mounts: MountSpec[] = []): HoldSpec {
  return { rootfs: { lower: [lower], upper: upper(), work: join(dir, 'work'), target: target() }, mounts };
}

function readonlySpec(layers: string[], mounts: MountSpec[] = []): HoldSpec {
  return { rootfs: { lower: layers, target: target() }, mounts };
}

async function hold(spec: HoldSpec): Promise<FilesystemHold> {
  const h = await holdFilesystem(spec);
  holds.push(h);
  return h;
}

const bind = (source: string, destination: string, ...options: string[]): MountSpec => ({
  source,
  destination,
  type: 'bind',
  options: ['rbind', ...options],
});

/** The errno code a write through the hold fails with, or 'ok'. */
async function writeOutcome(path: string): Promise<string> {
  return writeFile(path, 'x').then(
    () => 'ok',
    (err: unknown) => errnoCode(err) ?? String(err),
  );
}

/** The errno code opening `path` for reading fails with, or 'ok'. */
async function openOutcome(path: string): Promise<string> {
  return open(path).then(
    async (f) => (await f.close(), 'ok'),
    (err: unknown) => errnoCode(err) ?? String(err),
  );
}

/** The hold's mount table as it sees it: mount point → per-mount options. */
async function holdMounts(pid: number): Promise<Map<string, string>> {
  const info = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
  return new Map(info.split('\n').filter(Boolean).map((l) => [l.split(' ')[4] ?? '', l.split(' ')[5] ?? '']));
}

/** True when this process's own mount table names `path` (or anything under it). */
async function mountedHere(path: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).includes(path);
}

beforeAll(async () => {
  ({ root, lower } = await makeBusyboxLayer(['sh', 'sleep', 'echo']));
});

beforeEach(async () => {
  dir = await containerDir(root, `c${++count}`);
  holds = [];
  helpersBefore = await helperProcesses();
});

afterEach(async () => {
  await Promise.all(holds.map((h) => h.release()));
  expect(await mountsUnder(root)).toEqual([]);
  const leftover = [...(await helperProcesses())].filter((pid) => !helpersBefore.has(pid));
  expect(leftover).toEqual([]);
  for (const h of holds) expect(existsSync(`/proc/${h.pid}`), `hold ${h.pid} still exists`).toBe(false);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('holdFilesystem', () => {
  it('holds a writable overlay in its own mount namespace; writes through its root land in the upper dir', async () => {
    const h = await hold(writableSpec());
    expect(h.root).toBe(`/proc/${h.pid}/root`);
    expect(await readdir(h.root)).toEqual(expect.arrayContaining(['bin', 'etc']));
    expect(await readFile(join(h.root, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0/);
    await writeFile(join(h.root, 'etc/written-through-hold'), 'data\n');
    await rm(join(h.root, 'bin/echo')); // a whiteout in the upper dir

    // pivot_root'ed: its / is the rootfs, in a namespace that is not ours; nothing mounted here
    expect((await holdMounts(h.pid)).get('/')).toMatch(/^rw,nosuid,nodev,noexec/);
    expect(await readlink(`/proc/${h.pid}/ns/mnt`)).not.toBe(await readlink('/proc/self/ns/mnt'));
    expect(await mountedHere(target())).toBe(false);
    expect(await readlink(`/proc/${h.pid}/cwd`)).toBe('/');

    await h.release();
    expect(alive(h.pid)).toBe(false);
    expect(existsSync(`/proc/${h.pid}`)).toBe(false);
    await h.release(); // idempotent
    expect(await readFile(join(upper(), 'etc/written-through-hold'), 'utf8')).toBe('data\n');
    expect(existsSync(join(lower, 'etc/written-through-hold'))).toBe(false);
    const whiteout = statSync(join(upper(), 'bin/echo'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect(existsSync(join(lower, 'bin/echo'))).toBe(true);
    expect(await mountedHere(target())).toBe(false);
  });

  it('is named berth-hold <target>, and the leak checks find one left behind', async () => {
    const before = await snapshotResources();
    const h = await hold(writableSpec());
    expect((await readFile(`/proc/${h.pid}/comm`, 'utf8')).trim()).toBe('berth-hold');
    const argv = (await readFile(`/proc/${h.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    expect(argv).toEqual(['berth-hold', target()]);
    expect(await helperProcesses()).toContain(h.pid);
    const scope = { dataRoot: join(root, 'no-data-root'), execRoot: root, cgroupParent: `berth-hold-test-${process.pid}` };
    const leaks = (await findLeaks(before, scope)).filter((l) => l.startsWith(`process ${h.pid} `));
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatch(/command line names .*a berth-hold started since the snapshot/);
  });

  it('holds a read-only overlay of [upper, lower]: the upper\'s files and whiteouts show, writes fail with EROFS', async () => {
    await mkdir(join(upper(), 'etc'), { recursive: true });
    await writeFile(join(upper(), 'etc/from-upper'), 'upper\n');
    execFileSync('mknod', [join(upper(), 'etc/passwd'), 'c', '0', '0']); // an overlay whiteout
    const h = await hold(readonlySpec([upper(), lower]));

    expect(await readFile(join(h.root, 'etc/from-upper'), 'utf8')).toBe('upper\n');
    expect(existsSync(join(h.root, 'etc/passwd'))).toBe(false);
    expect(existsSync(join(h.root, 'bin/busybox'))).toBe(true);
    expect(await writeOutcome(join(h.root, 'etc/new'))).toBe('EROFS');
    expect(await writeOutcome(join(h.root, 'etc/from-upper'))).toBe('EROFS');
    expect((await holdMounts(h.pid)).get('/')).toMatch(/^ro,nosuid,nodev,noexec/);
    await h.release();
    expect((await readdir(join(upper(), 'etc'))).sort()).toEqual(['from-upper', 'passwd']);
  });

  it('bind-mounts a single layer read-only, with device nodes that cannot be opened through it', async () => {
    const layer = join(dir, 'layer');
    await mkdir(join(layer, 'dev'), { recursive: true });
    await writeFile(join(layer, 'file'), 'layer\n');
    execFileSync('mknod', [join(layer, 'dev/null'), 'c', '1', '3']);
    const h = await hold(readonlySpec([layer]));

    expect(await readFile(join(h.root, 'file'), 'utf8')).toBe('layer\n');
    expect(await writeOutcome(join(h.root, 'file'))).toBe('EROFS');
    expect(await writeOutcome(join(h.root, 'new'))).toBe('EROFS');
    expect(await openOutcome(join(h.root, 'dev/null'))).toBe('EACCES'); // nodev: berthd never opens a device through a hold
    expect((await holdMounts(h.pid)).get('/')).toMatch(/^ro,nosuid,nodev,noexec/);
  });

  it('mounts host dirs under the rootfs, read-write and read-only, and skips tmpfs', async () => {
    const rw = await mkdtemp(join(root, 'rw-'));
    const ro = await mkdtemp(join(root, 'ro-'));
    await writeFile(join(rw, 'hello'), 'rw\n');
    await writeFile(join(ro, 'hello'), 'ro\n');
    const tmpfs: MountSpec = { source: 'tmpfs', destination: '/scratch', type: 'tmpfs', options: ['mode=1777'] };
    const h = await hold(writableSpec([bind(rw, '/data'), bind(ro, '/srv/ro', 'ro'), tmpfs]));

    expect(await readFile(join(h.root, 'data/hello'), 'utf8')).toBe('rw\n');
    expect(await readFile(join(h.root, 'srv/ro/hello'), 'utf8')).toBe('ro\n');
    await writeFile(join(h.root, 'data/from-hold'), 'through the hold\n');
    expect(await readFile(join(rw, 'from-hold'), 'utf8')).toBe('through the hold\n');
    expect(await writeOutcome(join(h.root, 'srv/ro/nope'))).toBe('EROFS');
    expect(existsSync(join(h.root, 'scratch'))).toBe(false);
    const mounts = await holdMounts(h.pid);
    expect([...mounts.keys()].sort()).toEqual(['/', '/data', '/srv/ro']);
    expect(mounts.get('/srv/ro')).toMatch(/^ro,/);
    expect(await mountsUnder(root)).toEqual([]); // the binds too stay in the hold's namespace

    await h.release();
    expect(existsSync(join(ro, 'nope'))).toBe(false);
    expect((await readdir(rw)).sort()).toEqual(['from-hold', 'hello']);
    // mount points are made in the upper dir, as `run` makes them
    expect(existsSync(join(upper(), 'data'))).toBe(true);
  });

  it('keeps device nodes closed on the mounts a recursive bind brings along', async () => {
    const source = await mkdtemp(join(root, 'src-'));
    const sub = join(source, 'sub');
    await mkdir(sub);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', sub]);
    try {
      execFileSync('mknod', [join(sub, 'null'), 'c', '1', '3']);
      const h = await hold(writableSpec([bind(source, '/host', 'dev')])); // `dev` asked: the hold still says nodev
      expect(await openOutcome(join(h.root, 'host/sub/null'))).toBe('EACCES');
      expect((await holdMounts(h.pid)).get('/host/sub')).toMatch(/nosuid,nodev,noexec/);
      await h.release();
    } finally {
      execFileSync('umount', [sub]);
    }
  });

  it('mounts binds into a read-only rootfs where the mount point exists', async () => {
    const rw = await mkdtemp(join(root, 'rw-'));
    await mkdir(join(upper(), 'data'));
    const h = await hold(readonlySpec([upper(), lower], [bind(rw, '/data')]));
    expect(await writeOutcome(join(h.root, 'etc/x'))).toBe('EROFS');
    expect(await writeOutcome(join(h.root, 'data/x'))).toBe('ok');
    expect(await readFile(join(rw, 'x'), 'utf8')).toBe('x');
    // a mount point it would have to create cannot be made in a read-only rootfs
    const err = await holdFilesystem(readonlySpec([upper(), lower], [bind(rw, '/missing')])).catch((e: unknown) => e);
    expect(isBerthError(err, 'system')).toBe(true);
    expect((err as Error).message).toMatch(/\(mount\): mkdir \/missing in the rootfs: read-only file system$/);
  });

  it('reads the layer of a running container without disturbing it', async () => {
    const spec = busyboxSpec(lower, dir, ['sh', '-c', 'echo live > /live; exec sleep 60']);
    const proc = await startContainerProcess(spec, { stdin: 'ignore', onPid: async () => undefined });
    try {
      await waitFor('the container to write /live', () => existsSync(join(upper(), 'live')));
      const h = await hold(readonlySpec([upper(), lower]));
      expect(await readFile(join(h.root, 'live'), 'utf8')).toBe('live\n');
      await h.release();
      expect(alive(proc.pid)).toBe(true);
    } finally {
      proc.kill('SIGKILL');
      await proc.exited;
    }
  });

  it('keeps its mounts out of its parent\'s namespace even when the target sits on a shared mount', async () => {
    const shared = join(dir, 'shared');
    for (const d of ['upper', 'work', 'rootfs']) await mkdir(join(shared, d), { recursive: true });
    const data = await mkdtemp(join(root, 'rw-'));
    execFileSync('mount', ['--bind', shared, shared]);
    try {
      execFileSync('mount', ['--make-shared', shared]);
      const spec = { rootfs: { lower: [lower], upper: join(shared, 'upper'), work: join(shared, 'work'), target: join(shared, 'rootfs') } };
      const h = await hold({ ...spec, mounts: [bind(data, '/data')] });
      expect(existsSync(join(h.root, 'data'))).toBe(true);
      expect((await mountsUnder(shared)).map((l) => l.split(' ')[4])).toEqual([shared]); // only the test's own
      await h.release();
    } finally {
      execFileSync('umount', [shared]);
    }
  });

  it('ends when the process holding fd 3 dies', async () => {
    // Plays a berthd that holds and is then SIGKILLed: it spawns the hold, waits for `ready`,
    // prints the hold's PID and sleeps.
    const script = `
      const { spawn } = require('node:child_process');
      const hold = spawn(process.argv[1], ['hold'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      hold.stdio[3].on('data', (d) => { if (String(d) === 'ready\\n') console.log(hold.pid); });
      hold.stdio[3].write(Buffer.from(process.argv[2], 'base64'));
      setInterval(() => undefined, 1000);`;
    const payload = encodeHoldSpec(writableSpec()).toString('base64');
    const berthd = spawn(process.execPath, ['-e', script, helperPath, payload], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      berthd.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      berthd.once('exit', () => reject(new Error('the stand-in berthd exited before the hold was ready')));
    });
    try {
      expect(alive(pid)).toBe(true);
      expect((await readFile(`/proc/${pid}/comm`, 'utf8')).trim()).toBe('berth-hold');
    } finally {
      berthd.kill('SIGKILL');
    }
    await waitFor('the hold to exit', () => !alive(pid));
    expect(await mountedHere(target())).toBe(false);
  });

  it('refuses a missing bind source as not-found, leaving no process or mount point', async () => {
    const missing = join(root, 'no-such-dir');
    const err = await holdFilesystem(writableSpec([bind(missing, '/data')])).catch((e: unknown) => e);
    expect(isBerthError(err, 'not-found')).toBe(true);
    expect((err as Error).message).toBe(`bind source path does not exist: ${missing}`);
    expect(existsSync(join(upper(), 'data'))).toBe(false);
  });

  it('reports other mount failures as system errors naming what failed', async () => {
    const missing = join(root, 'no-such-layer');
    const err = await holdFilesystem(readonlySpec([missing, lower])).catch((e: unknown) => e);
    expect(isBerthError(err, 'system')).toBe(true);
    expect((err as Error).message).toMatch(/\(mount-rootfs\): mount overlay on .*rootfs: no such file or directory/);
  });

  it('refuses malformed specs in the helper too', async () => {
    const raw = async (records: string[], args: string[] = []): Promise<{ code: number | null; reply: string }> => {
      const helper = spawn(helperPath, ['hold', ...args], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      const control = helper.stdio[3] as Socket;
      let reply = '';
      control.on('data', (d: Buffer) => (reply += String(d)));
      control.write(records.map((r) => `${r}\0`).join('') + 'end\0');
      const code = await new Promise<number | null>((resolve) => helper.once('exit', resolve));
      return { code, reply };
    };
    const base = ['version=1', `lower=${lower}`, `target=${target()}`];
    expect(await raw([...base, `upper=${upper()}`])).toEqual({ code: 1, reply: 'error spec 22 upper and work go together\n' });
    expect(await raw([...base, 'arg=sh'])).toEqual({ code: 1, reply: 'error spec 22 unknown key "arg"\n' });
    expect(await raw(['version=1', `lower=${lower}`])).toEqual({ code: 1, reply: 'error spec 22 missing target\n' });
    expect(await raw(base, ['/elsewhere'])).toEqual({
      code: 1,
      reply: `error spec 22 the command line names /elsewhere but the spec's target is ${target()}\n`,
    });
  });

  it('refuses a spec it cannot carry before spawning anything', async () => {
    const { work: _work, ...withoutWork } = writableSpec().rootfs;
    const err = await holdFilesystem({ rootfs: withoutWork, mounts: [] }).catch((e: unknown) => e);
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    expect((err as Error).message).toMatch(/rootfs.upper and rootfs.work go together/);
  });
});
