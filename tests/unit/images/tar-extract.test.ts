import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Of } from '../../../runtime-agent/src/images/digest.js';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, gzipSync, testRoot, type TarEntry, type TestRoot } from './fixtures.js';

log.setQuiet(true);

let root: TestRoot;
let sentinel: string;

beforeEach(async () => {
  root = await testRoot();
  sentinel = join(root.dir, 'sentinel');
  await mkdir(sentinel);
  await writeFile(join(sentinel, 'passwd'), 'original\n');
});
afterEach(() => root.cleanup());

/** Stores the tar as a blob and unpacks it as a base layer. */
async function unpack(entries: readonly TarEntry[]): Promise<string> {
  const blob = await buildTar(entries);
  const { digest } = await root.images.store.content.writeBytes(blob);
  const layer = await root.images.store.layers.register(digest, '');
  return root.images.store.layers.dir(layer.chainId);
}

async function snapshot(): Promise<string[]> {
  return [...(await readdir(root.dir)), ...(await readdir(sentinel))].sort();
}

describe('hostile layer tars', () => {
  const cases: [string, () => TarEntry[], RegExp][] = [
    ['a ../ path', () => [{ name: '../x', data: 'x' }], /refusing tar entry "\.\.\/x": "\.\." is not allowed/],
    ['a nested ../ path', () => [{ name: 'a/../../x', data: 'x' }], /"\.\." is not allowed/],
    ['an absolute path', () => [{ name: '/etc/x', data: 'x' }], /refusing tar entry "\/etc\/x": absolute paths are not allowed/],
    [
      'a write through an absolute symlink',
      () => [
        { name: 'a', type: 'symlink', linkname: sentinel },
        { name: 'a/passwd', data: 'pwned' },
      ],
      /refusing tar entry "a\/passwd": its path passes through the symlink a -> .*sentinel, which leads outside the layer/,
    ],
    [
      'symlink a -> /etc then a/passwd',
      () => [
        { name: 'a', type: 'symlink', linkname: '/etc' },
        { name: 'a/passwd', data: 'pwned' },
      ],
      /passes through the symlink a -> \/etc/,
    ],
    [
      'symlink a -> ../../.. then a/x',
      () => [
        { name: 'a', type: 'symlink', linkname: '../../..' },
        { name: 'a/x', data: 'pwned' },
      ],
      /refusing tar entry "a\/x": its path passes through the symlink a -> \.\.\/\.\.\/\.\., which leads outside/,
    ],
    [
      'a chain of symlinks that climbs out',
      () => [
        { name: 'd', type: 'directory' },
        { name: 'd/up', type: 'symlink', linkname: '..' },
        { name: 'b', type: 'symlink', linkname: 'd/up/..' },
        { name: 'b/x', data: 'pwned' },
      ],
      /leads outside the layer/,
    ],
    ['a hardlink to /etc/passwd', () => [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /hardlink target of "h" "\/etc\/passwd": absolute paths/],
    ['a hardlink to ../x', () => [{ name: 'h', type: 'link', linkname: '../x' }], /hardlink target of "h" "\.\.\/x": "\.\." is not allowed/],
    [
      'a hardlink to a file not in the layer',
      () => [{ name: 'h', type: 'link', linkname: 'etc/passwd' }],
      /refusing tar entry "h": hardlink target "etc\/passwd" does not exist in this layer/,
    ],
    [
      'a hardlink through a symlink leading out',
      () => [
        { name: 'd', type: 'symlink', linkname: '/etc' },
        { name: 'f', data: 'x' },
        { name: 'd/f', type: 'link', linkname: 'f' },
      ],
      /passes through the symlink d -> \/etc/,
    ],
  ];

  it.each(cases)('refuses %s and leaves nothing behind', async (_name, entries, message) => {
    const before = await snapshot();
    await expect(unpack(entries())).rejects.toThrow(message);
    expect(await snapshot()).toEqual(before);
    expect(await readFile(join(sentinel, 'passwd'), 'utf8')).toBe('original\n');
    expect(existsSync('/etc/x')).toBe(false);
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
    expect(await readdir(root.layout.layersDir)).toEqual([]);
  });

  it('refuses a hostile entry with a 400-class error', async () => {
    await expect(unpack([{ name: '../x', data: 'x' }])).rejects.toMatchObject({ code: 'invalid-parameter' });
  });

  it('refuses data that is not a tar', async () => {
    const { digest } = await root.images.store.content.writeBytes(Buffer.from('this is not a tar archive at all '.repeat(40)));
    await expect(root.images.store.layers.register(digest, '')).rejects.toThrow(/invalid layer tar/);
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
  });
});

describe('layer unpacking', () => {
  it('keeps modes, owners, times, links and devices', async () => {
    const mtime = new Date(1_500_000_000_000);
    const dir = await unpack([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/tool', data: 'binary', mode: 0o4755, uid: 1000, gid: 1001, mtime },
      { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/sh', type: 'symlink', linkname: 'tool', uid: 7, gid: 8 },
      { name: 'private/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000, mtime },
      { name: 'private/file', data: 'secret', mode: 0o600 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib/through-inside-symlink', data: 'ok' },
      { name: 'attrs', data: 'x', pax: { 'SCHILY.xattr.user.berth': 'yes', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    ]);
    const tool = await lstat(join(dir, 'bin/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect([tool.uid, tool.gid]).toEqual([1000, 1001]);
    expect(tool.mtimeMs).toBe(mtime.getTime());
    expect((await lstat(join(dir, 'bin/alias'))).ino).toBe(tool.ino);
    const sh = await lstat(join(dir, 'bin/sh'));
    expect(sh.isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, 'bin/sh'))).toBe('tool');
    expect([sh.uid, sh.gid]).toEqual([7, 8]);
    const priv = await lstat(join(dir, 'private'));
    expect(priv.mode & 0o7777).toBe(0o700);
    expect(priv.mtimeMs).toBe(mtime.getTime());
    const nul = await lstat(join(dir, 'dev/null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect(nul.rdev).toBe((1 << 8) | 3);
    expect(nul.mode & 0o777).toBe(0o666);
    expect((await lstat(join(dir, 'run/fifo'))).isFIFO()).toBe(true);
    expect(await readFile(join(dir, 'usr/lib/through-inside-symlink'), 'utf8')).toBe('ok');
    expect(root.addon.getxattr(join(dir, 'attrs'), 'user.berth')?.toString()).toBe('yes');
    expect(root.addon.calls.some((c) => c.args[0] === 'trusted.overlay.opaque' && c.path.endsWith('attrs'))).toBe(false);
    const layers = root.images.store.layers.all();
    expect(layers).toHaveLength(1);
    expect(layers[0]?.size).toBe('binary'.length + 'tool'.length + 'secret'.length + 'usr/lib'.length + 'ok'.length + 1);
  });

  it('converts whiteouts to overlay form', async () => {
    const dir = await unpack([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.removed', data: '' },
      { name: 'var/', type: 'directory' },
      { name: 'var/.wh..wh..opq', data: '' },
      { name: 'var/kept', data: 'k' },
      { name: '.wh..wh.plnk/', type: 'directory' },
    ]);
    const whiteout = await lstat(join(dir, 'etc/removed'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect(existsSync(join(dir, 'etc/.wh.removed'))).toBe(false);
    expect(existsSync(join(dir, 'var/.wh..wh..opq'))).toBe(false);
    expect(existsSync(join(dir, '.wh..wh.plnk'))).toBe(false);
    expect(root.addon.getxattr(join(dir, 'var'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    const mknods = root.addon.calls.filter((c) => c.op === 'mknod');
    expect(mknods).toHaveLength(1);
    expect(mknods[0]?.path.endsWith('/diff/etc/removed')).toBe(true);
    expect(mknods[0]?.args).toEqual([0o020000, 0, 0]);
  });

  it('replaces what an earlier entry made, never writing through it', async () => {
    const dir = await unpack([
      { name: 'a', type: 'symlink', linkname: sentinel },
      { name: 'a', type: 'directory' },
      { name: 'a/passwd', data: 'inside' },
      { name: 'f', type: 'symlink', linkname: join(sentinel, 'passwd') },
      { name: 'f', data: 'replaced' },
    ]);
    expect(await readFile(join(dir, 'a/passwd'), 'utf8')).toBe('inside');
    expect((await lstat(join(dir, 'f'))).isFile()).toBe(true);
    expect(await readFile(join(sentinel, 'passwd'), 'utf8')).toBe('original\n');
  });

  it('unpacks each chain once and shares it', async () => {
    const blob = await buildTar([{ name: 'x', data: 'x' }]);
    const { digest } = await root.images.store.content.writeBytes(gzipSync(blob).length > 0 ? blob : blob);
    expect(digest).toBe(sha256Of(blob));
    const [a, b] = await Promise.all([root.images.store.layers.register(digest, ''), root.images.store.layers.register(digest, '')]);
    expect(a).toBe(b);
    expect(await readdir(root.layout.layersDir)).toHaveLength(1);
  });
});
