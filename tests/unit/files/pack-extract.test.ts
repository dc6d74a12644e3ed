import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, chownSync, chmodSync, linkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { log } from '../../../runtime-agent/src/log.js';
import { addon, collect, fdCountSettles, openFds, readTar, sandbox, snapshot, type Sandbox } from './fixtures.js';

log.setQuiet(true);

const T = 1_500_000_000; // whole seconds: tar keeps mtimes to the second, as Docker's does
const DEEP = `${'d'.repeat(120)}/${'e'.repeat(120)}`;
const LONG_NAME = 'n'.repeat(200);
const LONG_TARGET = `../${'t'.repeat(150)}`;
const BINARY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80, 0x00, 0x20]);

/** A tree with every kind of thing pack must keep, under <root>/top. */
async function populate(root: string): Promise<void> {
  const p = (rel: string): string => join(root, 'top', rel);
  mkdirSync(p(`sub/${DEEP}`), { recursive: true });
  mkdirSync(p('sticky'));
  chmodSync(p('sticky'), 0o1777);
  writeFileSync(p('setuid'), '#!/bin/sh\n');
  chmodSync(p('setuid'), 0o4755);
  writeFileSync(p('setgid'), 'g');
  chmodSync(p('setgid'), 0o2711);
  writeFileSync(p('owned'), 'owned');
  chownSync(p('owned'), 1234, 5678);
  writeFileSync(p('big-ids'), 'ids');
  chownSync(p('big-ids'), 3_000_000, 3_000_001);
  writeFileSync(p('xattrs'), 'x');
  addon.lsetxattr(p('xattrs'), 'user.comment', Buffer.from('hello xattr'));
  addon.lsetxattr(p('xattrs'), 'user.empty', Buffer.alloc(0));
  addon.lsetxattr(p('xattrs'), 'user.binary', BINARY);
  writeFileSync(p('a'), 'shared inode');
  linkSync(p('a'), p('b'));
  linkSync(p('a'), p('sub/c'));
  symlinkSync('a', p('link'));
  symlinkSync(LONG_TARGET, p('long-link'));
  addon.mknod(p('fifo'), 0o010640, 0, 0);
  addon.mknod(p('null'), 0o020666, 1, 3);
  writeFileSync(p(`sub/${DEEP}/${LONG_NAME}`), 'deep and long');
  writeFileSync(p('ünïcødé ñame.txt'), 'utf-8 name');
  writeFileSync(p('empty'), '');
  writeFileSync(p('large.bin'), randomBytes(3 * 1024 * 1024 + 17));
  chmodSync(p('fifo'), 0o640);
  chmodSync(p('null'), 0o666);
  stampTimes(join(root, 'top'));
}

/** Sets every mtime (deepest first, links with lutimes) to distinct whole seconds. */
function stampTimes(dir: string, depth = 0): void {
  let i = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) stampTimes(path, depth + 1);
    const t = T + depth * 1000 + i++;
    if (st.isSymbolicLink()) lutimesSync(path, t, t);
    else utimesSync(path, t, t);
  }
  utimesSync(dir, T - depth, T - depth);
}

function xattrsOf(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of addon.llistxattr(path).sort()) out[name] = (addon.lgetxattr(path, name) ?? Buffer.alloc(0)).toString('hex');
  return out;
}

function inodeGroups(dir: string): string[] {
  const a = lstatSync(join(dir, 'a')).ino;
  return ['b', 'sub/c'].map((n) => String(lstatSync(join(dir, n)).ino === a));
}

describe('pack and extract', () => {
  let src: Sandbox;
  let dst: Sandbox;
  let fdsBefore: number;

  beforeEach(async () => {
    src = await sandbox('beneath');
    dst = await sandbox('in-root');
    await populate(src.root);
    fdsBefore = openFds();
  });

  afterEach(async () => {
    expect(await fdCountSettles(fdsBefore)).toBe(fdsBefore);
    await src.cleanup();
    await dst.cleanup();
  });

  it('round-trips owners, modes, mtimes, xattrs, hardlinks, links, fifos, devices and long names', async () => {
    // a socket is left out of the tar, as Docker and GNU tar do
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(src.root, 'top/sock'), resolve));
    utimesSync(join(src.root, 'top'), T, T); // making the socket touched it
    try {
      const report = await dst.tree.extract('/', src.tree.pack('top'));
      expect(report.files).toBeGreaterThan(15);
      // regular files' bytes, each inode once (the hardlinks carry none)
      const sizes = ['large.bin', 'a', `sub/${DEEP}/${LONG_NAME}`, 'setuid', 'setgid', 'owned', 'big-ids', 'xattrs', 'ünïcødé ñame.txt'];
      expect(report.bytes).toBe(sizes.reduce((sum, n) => sum + lstatSync(join(src.root, 'top', n)).size, 0));
    } finally {
      server.close();
    }
    const want = snapshot(join(src.root, 'top')).filter((line) => !line.startsWith('sock '));
    expect(snapshot(join(dst.root, 'top'))).toEqual(want);
    expect(lstatSync(join(dst.root, 'top')).mtimeMs).toBe(T * 1000);
    expect(xattrsOf(join(dst.root, 'top/xattrs'))).toEqual(xattrsOf(join(src.root, 'top/xattrs')));
    expect(addon.lgetxattr(join(dst.root, 'top/xattrs'), 'user.binary')).toEqual(BINARY);
    expect(inodeGroups(join(dst.root, 'top'))).toEqual(['true', 'true']);
  });

  it('writes PAX for long names, long link targets, big ids and binary xattrs; links and devices keep their types', async () => {
    const entries = await readTar(src.tree.pack('top', { name: 'renamed' }));
    const byName = new Map(entries.map((e) => [e.header.name, e.header]));
    expect(entries[0]?.header).toMatchObject({ name: 'renamed', type: 'directory', mode: 0o755 });
    expect(byName.get(`renamed/sub/${DEEP}/${LONG_NAME}`)).toMatchObject({ type: 'file', size: 13 });
    expect(byName.get('renamed/long-link')).toMatchObject({ type: 'symlink', linkname: LONG_TARGET });
    expect(byName.get('renamed/big-ids')?.pax).toMatchObject({ uid: '3000000', gid: '3000001' });
    expect(byName.get('renamed/xattrs')?.pax).toMatchObject({ 'SCHILY.xattr.user.comment': 'hello xattr' });
    expect(byName.get('renamed/null')).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 });
    expect(byName.get('renamed/fifo')).toMatchObject({ type: 'fifo', mode: 0o640 });
    expect(byName.get('renamed/setuid')).toMatchObject({ mode: 0o4755 });
    expect(byName.get('renamed/sticky')).toMatchObject({ type: 'directory', mode: 0o1777 });
    const links = ['renamed/a', 'renamed/b', 'renamed/sub/c'].map((n) => byName.get(n));
    expect(links.filter((h) => h?.type === 'link')).toHaveLength(2);
    expect(links.filter((h) => h?.type === 'link').every((h) => h?.linkname === links.find((l) => l?.type === 'file')?.name)).toBe(true);
    // GNU tar reads the same archive, binary xattr value byte for byte.
    const out = mkdtempSync(join(tmpdir(), 'berth-gnutar-'));
    try {
      const tarball = await collect(src.tree.pack('top'));
      execFileSync('tar', ['-C', out, '--xattrs', "--xattrs-include=*", '--numeric-owner', '-xpf', '-'], { input: tarball });
      expect(snapshot(join(out, 'top'))).toEqual(snapshot(join(src.root, 'top')));
      expect(addon.lgetxattr(join(out, 'top/xattrs'), 'user.binary')).toEqual(BINARY);
      expect(inodeGroups(join(out, 'top'))).toEqual(['true', 'true']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('extracts what GNU tar packs (PAX, long names, hardlinks, xattrs), with opts.owner overriding owners', async () => {
    const tarball = execFileSync('tar', ['-C', src.root, '--format=pax', '--xattrs', '--numeric-owner', '-cf', '-', 'top'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    await dst.tree.extract('/', Readable.from([tarball]));
    expect(snapshot(join(dst.root, 'top'))).toEqual(snapshot(join(src.root, 'top')));
    expect(xattrsOf(join(dst.root, 'top/xattrs'))).toEqual(xattrsOf(join(src.root, 'top/xattrs')));
    mkdirSync(join(dst.root, 'owned'));
    await dst.tree.extract('owned', Readable.from([tarball]), { owner: { uid: 42, gid: 43 } });
    const owners = new Set<string>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const st = lstatSync(join(dir, name));
        owners.add(`${st.uid}:${st.gid}`);
        if (st.isDirectory()) walk(join(dir, name));
      }
    };
    walk(join(dst.root, 'owned'));
    expect([...owners]).toEqual(['42:43']);
    expect(lstatSync(join(dst.root, 'owned/top/setuid')).mode & 0o7777).toBe(0o4755);
  });

  it('contentsOnly leaves the top entry out; a file packs as one entry; followLink packs the target under the link name', async () => {
    const names = (await readTar(src.tree.pack('top/sub', { contentsOnly: true, name: '.' }))).map((e) => e.header.name);
    expect(names[0]).toBe('./c');
    expect(names).not.toContain('.');
    const file = await readTar(src.tree.pack('/top/owned'));
    expect(file.map((e) => [e.header.name, e.header.type, e.data.toString()])).toEqual([['owned', 'file', 'owned']]);
    const followed = await readTar(src.tree.pack('top/link', { followLink: true }));
    expect(followed.map((e) => [e.header.name, e.header.type, e.data.toString()])).toEqual([['link', 'file', 'shared inode']]);
    expect(() => src.tree.pack('top/missing')).toThrow(/no such file/);
  });

  it('stops reading and closes every fd when the reader goes away mid-archive', async () => {
    const stream = src.tree.pack('top');
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((r) => setTimeout(r, 50));
  });
});
