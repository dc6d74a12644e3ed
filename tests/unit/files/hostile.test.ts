import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import type { Confinement } from '../../../runtime-agent/src/files/types.js';
import { log } from '../../../runtime-agent/src/log.js';
import { MNT_DETACH, MountFlags } from '../../../runtime-agent/src/native/addon-api.js';
import { addon, buildTar, collect, fdCountSettles, openFds, readTar, sandbox, type Sandbox, type TarEntry } from './fixtures.js';

log.setQuiet(true);

/** The error code a promise rejects with ('ok' if it resolves). */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (!isBerthError(err)) throw err;
    return err.code;
  }
}

async function extract(box: Sandbox, entries: TarEntry[], dir = '/'): Promise<string> {
  return outcome(box.tree.extract(dir, Readable.from([await buildTar(entries)])));
}

const LONG = 'x'.repeat(300);

describe.each<Confinement>(['in-root', 'beneath'])('hostile paths (%s)', (confinement) => {
  const inRoot = confinement === 'in-root';
  /** What a path that leaves the root gets: in-root resolves it inside (here: to nothing), beneath refuses. */
  const escaped = inRoot ? 'not-found' : 'forbidden';
  let box: Sandbox;
  let fdsBefore: number;
  let outsideBefore: string[];

  beforeEach(async () => {
    box = await sandbox(confinement);
    const r = (p: string): string => join(box.root, p);
    mkdirSync(r('etc'));
    writeFileSync(r('etc/passwd'), 'inner passwd\n');
    mkdirSync(r('dir'));
    writeFileSync(r('dir/file.txt'), 'hello\n');
    symlinkSync('/etc', r('abs-link')); // in-root: the tree's /etc
    symlinkSync('../outside', r('rel-out')); // a sibling of the root on the host
    symlinkSync(box.outside, r('abs-out')); // the host path of the sibling
    symlinkSync('../../../../../..', r('dotdot'));
    outsideBefore = box.outsideSnapshot();
    fdsBefore = openFds();
  });

  afterEach(async () => {
    expect(await fdCountSettles(fdsBefore)).toBe(fdsBefore);
    expect(box.outsideSnapshot()).toEqual(outsideBefore);
    await box.cleanup();
  });

  it('resolves `..` and absolute paths inside the root', async () => {
    expect(await outcome(box.tree.stat('../outside/secret.txt'))).toBe(escaped);
    expect(await outcome(box.tree.stat('dir/../../../outside'))).toBe(escaped);
    expect((await collect((await box.tree.read('/etc/passwd')).stream)).toString()).toBe('inner passwd\n');
    expect((await box.tree.stat('dir/..')).type).toBe('directory');
    if (inRoot) expect((await box.tree.list('../../..')).map((i) => i.name)).toContain('etc');
    else expect(await outcome(box.tree.list('../../..'))).toBe('forbidden');
  });

  it('follows symlinks only inside: absolute ones as if the root were / (in-root) or not at all (beneath)', async () => {
    const viaAbs = box.tree.read('abs-link/passwd');
    if (inRoot) expect((await collect((await viaAbs).stream)).toString()).toBe('inner passwd\n');
    else expect(await outcome(viaAbs)).toBe('forbidden');
    expect(await outcome(box.tree.read('rel-out/secret.txt'))).toBe(escaped);
    expect(await outcome(box.tree.read('abs-out/secret.txt'))).toBe(escaped);
    expect(await outcome(box.tree.list('rel-out'))).toBe(escaped);
    expect(await outcome(box.tree.list('dotdot'))).toBe(inRoot ? 'ok' : 'forbidden');
    expect(await outcome(box.tree.stat('abs-out', { follow: true }))).toBe(escaped);
    expect(await outcome(box.tree.write('abs-out/secret.txt', Readable.from([Buffer.from('pwned')])))).toBe(escaped);
    expect(await outcome(box.tree.write('rel-out/new.txt', Readable.from([Buffer.from('pwned')])))).toBe(escaped);
    expect(await outcome(box.tree.mkdir('abs-out/newdir'))).toBe(escaped);
    expect(await outcome(box.tree.rename('dir/file.txt', 'rel-out/stolen.txt'))).toBe(escaped);
    expect(await outcome(box.tree.rename('abs-out/secret.txt', 'dir/stolen.txt'))).toBe(escaped);
    expect(await outcome(box.tree.remove('abs-out/sub'))).toBe(escaped);
    expect(await outcome(box.tree.remove('dotdot/outside'))).toBe(inRoot ? 'not-found' : 'forbidden');
    // the link itself, not what it points at
    await box.tree.remove('abs-out');
    expect(existsSync(join(box.root, 'abs-out'))).toBe(false);
  });

  it('writes through an in-root absolute link land in the tree', async () => {
    const result = await outcome(box.tree.write('abs-link/passwd', Readable.from([Buffer.from('new')])));
    expect(result).toBe(inRoot ? 'ok' : 'forbidden');
    expect(readFileSync(join(box.root, 'etc/passwd'), 'utf8')).toBe(inRoot ? 'new' : 'inner passwd\n');
  });

  it('says a path leaves the volume without naming any host path', async () => {
    const err: unknown = await box.tree.read('abs-out/secret.txt').catch((e: unknown) => e);
    expect((err as Error).message).toContain('"abs-out/secret.txt"');
    expect((err as Error).message).not.toContain(box.dir);
    expect((err as Error).message).not.toContain('/proc/self/fd');
    if (!inRoot) expect((err as Error).message).toMatch(/points outside the volume/);
  });

  it('refuses names over 255 bytes with invalid-parameter (400)', async () => {
    expect(await outcome(box.tree.stat(LONG))).toBe('invalid-parameter');
    expect(await outcome(box.tree.stat(`dir/${LONG}/x`))).toBe('invalid-parameter');
    expect(await outcome(box.tree.write(`dir/${LONG}`, Readable.from([Buffer.from('x')])))).toBe('invalid-parameter');
    expect(await outcome(box.tree.mkdir(LONG))).toBe('invalid-parameter');
    expect(await outcome(box.tree.stat(`${'a/'.repeat(3000)}b`))).toBe('invalid-parameter');
    expect(await outcome(box.tree.stat('nul\0byte'))).toBe('invalid-parameter');
  });

  it('pack packs a symlink as a link; followLink stays inside', async () => {
    const entries = await readTar(box.tree.pack('abs-out'));
    expect(entries.map((e) => [e.header.name, e.header.type, e.header.linkname])).toEqual([['abs-out', 'symlink', box.outside]]);
    expect(() => box.tree.pack('abs-out', { followLink: true })).toThrow(inRoot ? /no such file/ : /points outside/);
    expect(() => box.tree.pack('rel-out', { followLink: true })).toThrow(inRoot ? /no such file/ : /points outside/);
    const followed = await readTar(box.tree.pack('abs-link', { followLink: !inRoot ? false : true }));
    expect(followed[0]?.header.type).toBe(inRoot ? 'directory' : 'symlink');
  });

  it('refuses /proc magic links and never writes into kernel file systems', async () => {
    mkdirSync(join(box.root, 'proc'));
    addon.mount('/proc', join(box.root, 'proc'), '', MountFlags.BIND, '');
    try {
      expect(await outcome(box.tree.read('proc/self/root/etc/hostname'))).toBe('forbidden');
      expect(await outcome(box.tree.list('proc/self/cwd'))).toBe('forbidden');
      expect(await outcome(box.tree.write('proc/sys/kernel/berth-test', Readable.from([Buffer.from('x')])))).toBe('forbidden');
      expect(await extract(box, [{ name: 'proc/sys/vm/berth-test', data: 'x' }])).toBe('forbidden');
      expect(await outcome(box.tree.remove('proc/self'))).toBe('forbidden');
      // A pack of the root leaves the kernel file system's contents out.
      const names = (await readTar(box.tree.pack('/'))).map((e) => e.header.name);
      expect(names).toContain('./proc');
      expect(names.filter((n) => n.startsWith('./proc/'))).toEqual([]);
    } finally {
      addon.umount2(join(box.root, 'proc'), MNT_DETACH);
    }
  });

  describe('hostile tars', () => {
    it('refuses a `..` that climbs out of the target, naming the entry', async () => {
      const err: unknown = await box.tree
        .extract('dir', Readable.from([await buildTar([{ name: '../../x', data: 'x' }])]))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'invalid-parameter' });
      expect((err as Error).message).toMatch(/refusing tar entry "\.\.\/\.\.\/x": "\.\." leads outside the target directory/);
      expect(await extract(box, [{ name: 'a/../../x', data: 'x' }], 'dir')).toBe('invalid-parameter');
      expect(existsSync(join(box.root, 'x'))).toBe(false);
    });

    it('strips a leading / (Docker) and cleans `a/../b` lexically', async () => {
      expect(await extract(box, [{ name: '/abs/x', data: 'x' }, { name: 'a/../b', data: 'b' }], 'dir')).toBe('ok');
      expect(readFileSync(join(box.root, 'dir/abs/x'), 'utf8')).toBe('x');
      expect(readFileSync(join(box.root, 'dir/b'), 'utf8')).toBe('b');
    });

    it('never writes through a symlink parent that leads outside', async () => {
      for (const target of [box.outside, '../outside', '../../../../outside', join(box.dir)]) {
        const result = await extract(box, [
          { name: 'evil', type: 'symlink', linkname: target },
          { name: 'evil/secret.txt', data: 'pwned' },
          { name: 'evil/sub/inner.txt', data: 'pwned' },
        ]);
        expect(result).not.toBe('ok');
        expect(readlinkSync(join(box.root, 'evil'))).toBe(target);
      }
    });

    it('writes through an in-root absolute symlink parent into the tree', async () => {
      const result = await extract(box, [{ name: 'abs-link/passwd', data: 'from tar' }]);
      expect(result).toBe(inRoot ? 'ok' : 'invalid-parameter');
      expect(readFileSync(join(box.root, 'etc/passwd'), 'utf8')).toBe(inRoot ? 'from tar' : 'inner passwd\n');
    });

    it('replaces a final symlink instead of writing through it', async () => {
      symlinkSync(join(box.outside, 'secret.txt'), join(box.root, 'dir/to-secret'));
      expect(await extract(box, [{ name: 'to-secret', data: 'mine' }], 'dir')).toBe('ok');
      expect(readFileSync(join(box.root, 'dir/to-secret'), 'utf8')).toBe('mine');
    });

    it('refuses hardlinks to outside, to /etc/passwd outside the target, to directories', async () => {
      expect(await extract(box, [{ name: 'h1', type: 'link', linkname: '../outside/secret.txt' }])).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'h2', type: 'link', linkname: join(box.outside, 'secret.txt') }])).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'h3', type: 'link', linkname: 'abs-out/secret.txt' }])).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'h4', type: 'link', linkname: '/etc/passwd' }], 'dir')).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'h5', type: 'link', linkname: 'dir' }])).toBe('invalid-parameter');
      for (const name of ['h1', 'h2', 'h3', 'dir/h4', 'h5']) expect(existsSync(join(box.root, name))).toBe(false);
      // a refused hardlink removes nothing that was there; a link to itself is a no-op
      expect(await extract(box, [{ name: 'file.txt', type: 'link', linkname: '../outside/secret.txt' }], 'dir')).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'file.txt', type: 'link', linkname: 'file.txt' }], 'dir')).toBe('ok');
      expect(readFileSync(join(box.root, 'dir/file.txt'), 'utf8')).toBe('hello\n');
      // /etc/passwd means <target>/etc/passwd: inside the tree, allowed
      expect(await extract(box, [{ name: 'h6', type: 'link', linkname: '/etc/passwd' }])).toBe('ok');
      expect(lstatSync(join(box.root, 'h6')).ino).toBe(lstatSync(join(box.root, 'etc/passwd')).ino);
    });

    it('creates device nodes and fifos (root, real kernel)', async () => {
      const result = await extract(box, [
        { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
        { name: 'pipe', type: 'fifo', mode: 0o622 },
      ]);
      expect(result).toBe('ok');
      const dev = lstatSync(join(box.root, 'null'));
      expect(dev.isCharacterDevice()).toBe(true);
      expect(dev.rdev).toBe((1 << 8) | 3);
      expect(dev.mode & 0o7777).toBe(0o666);
      expect(lstatSync(join(box.root, 'loop9')).isBlockDevice()).toBe(true);
      expect(lstatSync(join(box.root, 'pipe')).mode & 0o7777).toBe(0o622);
    });

    it('refuses names over 255 bytes, empty symlinks and unknown entry types', async () => {
      expect(await extract(box, [{ name: `dir/${LONG}`, data: 'x' }])).toBe('invalid-parameter');
      expect(await extract(box, [{ name: 'empty', type: 'symlink', linkname: '', data: '' }])).toBe('invalid-parameter');
      expect(await extract(box, [{ name: '.', type: 'file', data: 'x' }])).toBe('invalid-parameter');
    });

    it('refuses garbage and truncated archives with invalid-parameter', async () => {
      expect(await outcome(box.tree.extract('/', Readable.from([Buffer.alloc(1024, 0x41)])))).toBe('invalid-parameter');
      const tar = await buildTar([{ name: 'big', data: Buffer.alloc(100_000, 1) }]);
      expect(await outcome(box.tree.extract('/', Readable.from([tar.subarray(0, 20_000)])))).toBe('invalid-parameter');
      expect(await outcome(box.tree.extract('missing', Readable.from([tar])))).toBe('not-found');
      expect(await outcome(box.tree.extract('dir/file.txt', Readable.from([tar])))).toBe('invalid-parameter');
    });

    it('noOverwriteDirNonDir refuses a dir <-> non-dir swap; otherwise files replace files and dirs merge', async () => {
      const swap = await buildTar([{ name: 'dir', data: 'file now' }]);
      expect(await outcome(box.tree.extract('/', Readable.from([swap]), { noOverwriteDirNonDir: true }))).toBe('invalid-parameter');
      expect(lstatSync(join(box.root, 'dir')).isDirectory()).toBe(true);
      expect(await extract(box, [{ name: 'dir', type: 'directory' }, { name: 'dir/new.txt', data: 'n' }, { name: 'dir/file.txt', data: 'replaced' }])).toBe('ok');
      expect(readFileSync(join(box.root, 'dir/file.txt'), 'utf8')).toBe('replaced');
      expect(readFileSync(join(box.root, 'dir/new.txt'), 'utf8')).toBe('n');
      expect(await outcome(box.tree.extract('/', Readable.from([swap])))).toBe('ok');
      expect(readFileSync(join(box.root, 'dir'), 'utf8')).toBe('file now');
    });
  });

  it('remove never follows a symlink swapped in for a directory while it runs', async () => {
    // A racer process keeps turning victim/d<i> into a symlink to outside/bait and back (and
    // recreates what remove deleted), so remove keeps meeting directories that become links
    // between its look and its open. Probabilistic by nature: it proves nothing was followed
    // in the runs it makes, not that no interleaving could.
    const DIRS = 20;
    mkdirSync(join(box.outside, 'bait'));
    for (let j = 0; j < 20; j++) writeFileSync(join(box.outside, `bait/f${j}`), 'bait');
    outsideBefore = box.outsideSnapshot();
    const script = `
      const fs = require('fs'); const [root, bait, n] = process.argv.slice(1);
      const spin = (us) => { const t = process.hrtime.bigint() + BigInt(us) * 1000n; while (process.hrtime.bigint() < t); };
      const end = Date.now() + 2000;
      while (Date.now() < end) for (let i = 0; i < Number(n); i++) {
        const d = root + '/victim/d' + i;
        try { fs.mkdirSync(d, { recursive: true }); fs.writeFileSync(d + '/f', 'x'); } catch {}
        try { fs.renameSync(d, d + '.m'); fs.symlinkSync(bait, d); spin(20); fs.unlinkSync(d); fs.renameSync(d + '.m', d); } catch {}
        spin(20);
      }`;
    const racer = spawn(process.execPath, ['-e', script, box.root, join(box.outside, 'bait'), String(DIRS)], { stdio: 'ignore' });
    let running = true;
    const exited = new Promise((resolve) => racer.on('exit', resolve)).finally(() => (running = false));
    try {
      while (running) {
        await outcome(box.tree.remove('victim'));
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      await exited;
    }
    expect(box.outsideSnapshot()).toEqual(outsideBefore);
  }, 30_000);
});
