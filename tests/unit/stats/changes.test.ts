import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containerChanges, type XattrReader } from '../../../runtime-agent/src/stats/changes.js';

/**
 * Layers and an upper dir built in a tmp dir. Whiteouts are real 0/0 character devices
 * (mknod(1), as the images suites make them); the opaque xattr lives in a fake addon, since
 * trusted.* attributes need privileges and a filesystem that keeps them.
 */
class Tree {
  readonly opaque = new Set<string>();
  readonly xattr: XattrReader = {
    lgetxattr: (path, name) => (name === 'trusted.overlay.opaque' && this.opaque.has(path) ? Buffer.from('y') : undefined),
  };

  constructor(readonly root: string) {}

  dir(name: string): string {
    return join(this.root, name);
  }

  async file(path: string, data = 'x'): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }

  async mkdir(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }

  async whiteout(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    execFileSync('mknod', [path, 'c', '0', '0']);
  }

  async opaqueDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
    this.opaque.add(path);
  }
}

const show = (changes: { Path: string; Kind: number }[]): string[] => changes.map((c) => `${'CAD'[c.Kind] ?? '?'} ${c.Path}`);

describe('docker diff from the overlay upper dir', () => {
  let t: Tree;
  let base: string;
  let top: string;
  let upper: string;

  beforeEach(async () => {
    t = new Tree(await mkdtemp(join(tmpdir(), 'berth-diff-')));
    [base, top, upper] = [t.dir('layer0'), t.dir('layer1'), t.dir('upper')];
    for (const f of ['bin/sh', 'bin/vi', 'etc/passwd', 'etc/group', 'usr/share/doc/a', 'usr/share/doc/b', 'var/log/old.log', 'home/user/.profile']) {
      await t.file(join(base, f));
    }
    await t.file(join(top, 'etc/motd'));
    await t.whiteout(join(top, 'var/log/old.log')); // deleted by the image itself
    await t.mkdir(upper);
  });

  afterEach(async () => {
    await rm(t.root, { recursive: true, force: true });
  });

  it('lists nothing for an untouched container', async () => {
    expect(await containerChanges(upper, [top, base], t.xattr)).toEqual([]);
  });

  it('adds (A), modifies (C) and deletes (D), with the parent directories as C, sorted by path', async () => {
    await t.file(join(upper, 'etc/passwd'), 'changed');
    await t.file(join(upper, 'etc/motd'), 'from the top layer');
    await t.file(join(upper, 'new.txt'));
    await t.file(join(upper, 'tmp/d/e/f'));
    await t.whiteout(join(upper, 'bin/vi'));
    await t.whiteout(join(upper, 'home'));
    expect(show(await containerChanges(upper, [top, base], t.xattr))).toEqual([
      'C /bin',
      'D /bin/vi',
      'C /etc',
      'C /etc/motd',
      'C /etc/passwd',
      'D /home',
      'A /new.txt',
      'A /tmp',
      'A /tmp/d',
      'A /tmp/d/e',
      'A /tmp/d/e/f',
    ]);
  });

  it('an opaque directory deletes what lay below it, except what was recreated', async () => {
    await t.opaqueDir(join(upper, 'usr/share/doc'));
    await t.file(join(upper, 'usr/share/doc/b'), 'recreated');
    await t.file(join(upper, 'usr/share/doc/c'), 'new');
    expect(show(await containerChanges(upper, [top, base], t.xattr))).toEqual([
      'C /usr',
      'C /usr/share',
      'C /usr/share/doc',
      'D /usr/share/doc/a',
      'C /usr/share/doc/b',
      'A /usr/share/doc/c',
    ]);
  });

  it('follows the layers\' own whiteouts and opaque dirs: what the image deleted is not there to change', async () => {
    await t.file(join(upper, 'var/log/old.log'), 'written again');
    await t.whiteout(join(upper, 'var/log/never-existed'));
    await t.opaqueDir(join(top, 'home'));
    await t.file(join(upper, 'home/user/.profile'));
    expect(show(await containerChanges(upper, [top, base], t.xattr))).toEqual([
      'C /home',
      'A /home/user',
      'A /home/user/.profile',
      'C /var',
      'C /var/log',
      'A /var/log/old.log',
    ]);
  });

  it('reports a directory whose mode changed, and a file replaced by a directory or a link', async () => {
    await t.mkdir(join(upper, 'etc'));
    await chmod(join(upper, 'etc'), 0o700);
    await t.mkdir(join(upper, 'bin/sh'));
    await t.file(join(upper, 'bin/sh/inside'));
    await symlink('/nowhere', join(upper, 'etc/group'));
    expect(show(await containerChanges(upper, [top, base], t.xattr))).toEqual([
      'C /bin',
      'C /bin/sh',
      'A /bin/sh/inside',
      'C /etc',
      'C /etc/group',
    ]);
  });

  it('leaves out the mount points berthd adds (Docker\'s init layer)', async () => {
    await t.file(join(upper, 'etc/hosts'));
    await t.file(join(upper, 'etc/resolv.conf'));
    await t.mkdir(join(upper, 'proc'));
    await t.mkdir(join(upper, 'dev'));
    await t.file(join(upper, 'root/.ash_history'));
    expect(show(await containerChanges(upper, [top, base], t.xattr))).toEqual(['A /root', 'A /root/.ash_history']);
  });

  it('works when the upper dir is missing (nothing changed yet)', async () => {
    expect(await containerChanges(join(t.root, 'absent'), [top, base], t.xattr)).toEqual([]);
  });
});
