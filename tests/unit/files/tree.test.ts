import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { openConfinedTree } from '../../../runtime-agent/src/files/tree.js';
import type { Confinement } from '../../../runtime-agent/src/files/types.js';
import { log } from '../../../runtime-agent/src/log.js';
import { addon, chunks, collect, fdCountSettles, openFds, sandbox, type Sandbox } from './fixtures.js';

log.setQuiet(true);

/** Asserts a promise rejects with a BerthError of `code` whose message matches. */
async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isBerthError(err), `expected a BerthError, got ${String(err)}`).toBe(true);
  expect(err).toMatchObject({ code });
  if (message) expect((err as Error).message).toMatch(message);
}

describe.each<Confinement>(['in-root', 'beneath'])('ConfinedTree (%s)', (confinement) => {
  let box: Sandbox;
  let fdsBefore: number;
  let outsideBefore: string[];

  beforeEach(async () => {
    box = await sandbox(confinement);
    mkdirSync(join(box.root, 'dir/sub'), { recursive: true });
    writeFileSync(join(box.root, 'dir/file.txt'), 'hello world\n');
    chmodSync(join(box.root, 'dir/file.txt'), 0o4750);
    utimesSync(join(box.root, 'dir/file.txt'), 1_600_000_000, 1_600_000_000);
    symlinkSync('file.txt', join(box.root, 'dir/link'));
    outsideBefore = box.outsideSnapshot();
    fdsBefore = openFds();
  });

  afterEach(async () => {
    expect(await fdCountSettles(fdsBefore)).toBe(fdsBefore);
    expect(box.outsideSnapshot()).toEqual(outsideBefore);
    await box.cleanup();
  });

  it('stat gives lstat facts, follows a final link only when asked, and names the root "/"', async () => {
    const file = await box.tree.stat('/dir/file.txt');
    expect(file).toMatchObject({ name: 'file.txt', type: 'file', size: 12, mode: 0o4750, uid: 0, gid: 0 });
    expect(file.mtime.getTime()).toBe(1_600_000_000_000);
    expect(await box.tree.stat('dir/link')).toMatchObject({ name: 'link', type: 'symlink', size: 8, linkTarget: 'file.txt' });
    expect(await box.tree.stat('dir/link', { follow: true })).toMatchObject({ name: 'link', type: 'file', size: 12 });
    expect(await box.tree.stat('/')).toMatchObject({ name: '/', type: 'directory', size: 0 });
    expect(await box.tree.stat('dir/sub/..')).toMatchObject({ type: 'directory' });
    await rejects(box.tree.stat('dir/missing'), 'not-found', /"dir\/missing": no such file/);
    await rejects(box.tree.stat('dir/file.txt/x'), 'invalid-parameter', /not a directory/);
  });

  it('list sorts entries and describes each one', async () => {
    writeFileSync(join(box.root, 'dir/B'), '');
    const names = (await box.tree.list('dir')).map((i) => `${i.name}:${i.type}`);
    expect(names).toEqual(['B:file', 'file.txt:file', 'link:symlink', 'sub:directory']);
    expect((await box.tree.list('/')).map((i) => i.name)).toEqual(['dir']);
    await rejects(box.tree.list('dir/file.txt'), 'invalid-parameter', /not a directory/);
    await rejects(box.tree.list('nope'), 'not-found');
  });

  it('read streams a file (through a final link), with byte ranges', async () => {
    const whole = await box.tree.read('dir/link');
    expect(whole.info).toMatchObject({ type: 'file', size: 12 });
    expect((await collect(whole.stream)).toString()).toBe('hello world\n');
    expect((await collect((await box.tree.read('dir/file.txt', { start: 6 })).stream)).toString()).toBe('world\n');
    expect((await collect((await box.tree.read('dir/file.txt', { start: 0, end: 4 })).stream)).toString()).toBe('hello');
    expect((await collect((await box.tree.read('dir/file.txt', { start: 6, end: 999 })).stream)).toString()).toBe('world\n');
    await rejects(box.tree.read('dir/file.txt', { start: 12 }), 'invalid-parameter', /not satisfiable/);
    await rejects(box.tree.read('dir/file.txt', { start: 5, end: 2 }), 'invalid-parameter');
    await rejects(box.tree.read('dir'), 'invalid-parameter', /is a directory/);
  });

  it('read closes the file when its reader stops early', async () => {
    writeFileSync(join(box.root, 'dir/big'), Buffer.alloc(4 * 1024 * 1024, 1));
    const { stream } = await box.tree.read('dir/big');
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
  });

  it('read refuses a fifo without opening it (which would block)', async () => {
    addon.mknod(join(box.root, 'dir/fifo'), 0o010644, 0, 0);
    await rejects(box.tree.read('dir/fifo'), 'invalid-parameter', /not a regular file \(it is a fifo\)/);
  });

  it('write replaces atomically, honours mode and overwrite:false, and leaves nothing on failure', async () => {
    const info = await box.tree.write('dir/new.bin', Readable.from(chunks(Buffer.alloc(300_000, 7))), { mode: 0o600 });
    expect(info).toMatchObject({ name: 'new.bin', type: 'file', size: 300_000, mode: 0o600 });
    expect(readFileSync(join(box.root, 'dir/new.bin')).equals(Buffer.alloc(300_000, 7))).toBe(true);
    await box.tree.write('dir/file.txt', Readable.from([Buffer.from('replaced')]));
    expect(readFileSync(join(box.root, 'dir/file.txt'), 'utf8')).toBe('replaced');
    expect(lstatSync(join(box.root, 'dir/file.txt')).mode & 0o7777).toBe(0o644);
    await rejects(box.tree.write('dir/file.txt', Readable.from([Buffer.from('x')]), { overwrite: false }), 'conflict', /already exists/);
    await rejects(box.tree.write('dir/sub', Readable.from([Buffer.from('x')])), 'invalid-parameter', /is a directory/);
    await rejects(box.tree.write('missing/x', Readable.from([Buffer.from('x')])), 'not-found');
    await rejects(box.tree.write('/', Readable.from([Buffer.from('x')])), 'invalid-parameter', /root/);
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('client went away'));
      },
    });
    await rejects(box.tree.write('dir/aborted', failing), 'invalid-parameter', /interrupted/);
    expect((await box.tree.list('dir')).map((i) => i.name)).toEqual(['file.txt', 'link', 'new.bin', 'sub']);
  });

  it('write through a final symlink replaces the link, not its target', async () => {
    symlinkSync(join(box.outside, 'secret.txt'), join(box.root, 'dir/to-secret'));
    await box.tree.write('dir/to-secret', Readable.from([Buffer.from('mine')]));
    expect(lstatSync(join(box.root, 'dir/to-secret')).isFile()).toBe(true);
    expect(readFileSync(join(box.outside, 'secret.txt'), 'utf8')).toBe('secret\n');
  });

  it('mkdir creates with the mode asked (no umask), 409 on an existing name', async () => {
    expect(await box.tree.mkdir('dir/made', 0o1777)).toMatchObject({ name: 'made', type: 'directory', mode: 0o1777 });
    expect(await box.tree.mkdir('dir/made2')).toMatchObject({ mode: 0o755 });
    await rejects(box.tree.mkdir('dir/made'), 'conflict', /already exists/);
    await rejects(box.tree.mkdir('dir/link'), 'conflict');
    await rejects(box.tree.mkdir('no/such/parent'), 'not-found');
    await rejects(box.tree.mkdir('/'), 'conflict');
  });

  it('rename moves within the tree, 409 if the target exists, never the root', async () => {
    await box.tree.rename('dir/file.txt', 'dir/sub/moved.txt');
    expect(readFileSync(join(box.root, 'dir/sub/moved.txt'), 'utf8')).toBe('hello world\n');
    await rejects(box.tree.rename('dir/sub', 'dir/link'), 'conflict', /already exists/);
    await rejects(box.tree.rename('/', 'x'), 'invalid-parameter', /root/);
    await rejects(box.tree.rename('dir', '/'), 'invalid-parameter', /root/);
    await rejects(box.tree.rename('dir', 'dir/sub/inside'), 'invalid-parameter');
    await rejects(box.tree.rename('gone', 'x'), 'not-found');
  });

  it('remove deletes files, links (not their targets) and whole directories', async () => {
    await box.tree.remove('dir/link');
    expect(existsSync(join(box.root, 'dir/file.txt'))).toBe(true);
    mkdirSync(join(box.root, 'dir/sub/a/b/c'), { recursive: true });
    writeFileSync(join(box.root, 'dir/sub/a/b/c/f'), 'x');
    writeFileSync(join(box.root, Buffer.concat([Buffer.from('dir/sub/a/'), Buffer.from([0xff, 0xfe])]).toString('latin1')), 'x');
    writeFileSync(Buffer.concat([Buffer.from(join(box.root, 'dir/sub/a/')), Buffer.from([0xff, 0xfe])]), 'not utf-8');
    symlinkSync(box.outside, join(box.root, 'dir/sub/a/out'));
    await box.tree.remove('dir');
    expect(existsSync(join(box.root, 'dir'))).toBe(false);
    await rejects(box.tree.remove('dir'), 'not-found');
    await rejects(box.tree.remove('/'), 'invalid-parameter', /root/);
  });

  it('leaves a failed upload or archive source undestroyed, so an HTTP server can still answer', async () => {
    const upload = new PassThrough();
    upload.end('body');
    await rejects(box.tree.write('dir/file.txt', upload, { overwrite: false }), 'conflict');
    expect(upload.destroyed).toBe(false);
    const archive = new PassThrough();
    archive.end(Buffer.alloc(1024, 0x41));
    await rejects(box.tree.extract('/', archive), 'invalid-parameter', /checksum/);
    expect(archive.destroyed).toBe(false);
  });

  it('refuses every call once closed', async () => {
    const tree = openConfinedTree(addon, box.root, confinement);
    tree.close();
    await rejects(tree.stat('dir'), 'system', /closed/);
  });
});

describe('openConfinedTree', () => {
  it('is not-found for a root that does not exist', () => {
    expect(() => openConfinedTree(addon, '/nonexistent/berth-test', 'beneath')).toThrow(/no longer exists/);
  });
});
