import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planCopy, type BuildContext, type CopyRequest, type CopySource } from '../../../runtime-agent/src/build/files/index.js';
import { extractWritten } from '../../../runtime-agent/src/build/files/tar-writer.js';
import { openConfinedTree } from '../../../runtime-agent/src/files/tree.js';
import { log } from '../../../runtime-agent/src/log.js';
import { addon } from '../files/fixtures.js';
import { failure, meta, text, workspace, type TarEntry, type Workspace } from './fixtures.js';

log.setQuiet(true);

const T1 = new Date('2021-03-04T05:06:07Z');
const T2 = new Date('2022-01-02T03:04:05Z');

const CONTEXT: TarEntry[] = [
  { name: 'Dockerfile', data: 'FROM scratch\n' },
  { name: 'a.txt', data: 'a\n', mode: 0o644, uid: 1000, gid: 1000, mtime: T1 },
  { name: 'b.txt', data: 'b\n', mode: 0o600, mtime: T2 },
  { name: 'run.sh', data: '#!/bin/sh\n', mode: 0o755 },
  { name: 'src/', type: 'directory', mode: 0o750, mtime: T1 },
  { name: 'src/main.c', data: 'int main;\n', mtime: T2 },
  { name: 'src/lib/', type: 'directory', mtime: T1 },
  { name: 'src/lib/util.c', data: 'util\n' },
  { name: 'src/link', type: 'symlink', linkname: 'main.c' },
  { name: 'docs/', type: 'directory' },
  { name: 'docs/x.md', data: 'x' },
  { name: 'docs/y.txt', data: 'y' },
];

function copy(request: Partial<CopyRequest> & Pick<CopyRequest, 'sources' | 'dest'>): CopyRequest {
  return { add: false, workdir: '/', ...request };
}

describe('planCopy: COPY from the context', () => {
  let ws: Workspace;
  let context: BuildContext;
  let from: CopySource;
  const at = (path: string): string => join(ws.targetDir, path);

  async function run(request: CopyRequest, owner?: { uid: number; gid: number }): Promise<string> {
    const plan = await planCopy(request, from, ws.deps);
    try {
      await plan.apply(ws.target, owner);
      return plan.cacheKey;
    } finally {
      await plan.dispose();
    }
  }

  beforeEach(async () => {
    ws = await workspace();
    context = await ws.context(CONTEXT);
    from = { kind: 'context', context };
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('copies one file to a new path, keeping its mode and mtime, owned by root', async () => {
    const key = await run(copy({ sources: ['a.txt'], dest: '/app/renamed.txt' }));
    expect(key).toMatch(/^file:[0-9a-f]{64}$/);
    expect(text(at('app/renamed.txt'))).toBe('a\n');
    expect(meta(at('app/renamed.txt'))).toEqual({ type: 'file', mode: '644', uid: 0, gid: 0, mtime: T1.getTime() / 1000 });
    expect(meta(at('app'))).toMatchObject({ type: 'dir', mode: '755', uid: 0, gid: 0 });
  });

  it('a dest ending in / is a directory; a file copied onto an existing directory goes inside it', async () => {
    await run(copy({ sources: ['a.txt'], dest: '/new/dir/' }));
    expect(text(at('new/dir/a.txt'))).toBe('a\n');
    mkdirSync(at('existing'));
    await run(copy({ sources: ['b.txt'], dest: '/existing' }));
    expect(text(at('existing/b.txt'))).toBe('b\n');
    expect(meta(at('existing/b.txt')).mode).toBe('600');
  });

  it('a relative dest is relative to the workdir; `.` is the workdir itself', async () => {
    mkdirSync(at('work'));
    await run(copy({ sources: ['a.txt'], dest: 'sub/a.txt', workdir: '/work' }));
    await run(copy({ sources: ['b.txt'], dest: '.', workdir: '/work' }));
    expect(text(at('work/sub/a.txt'))).toBe('a\n');
    expect(text(at('work/b.txt'))).toBe('b\n');
  });

  it('a directory source copies its contents (not the directory), links as links', async () => {
    const key = await run(copy({ sources: ['src'], dest: '/code' }));
    expect(key).toMatch(/^dir:[0-9a-f]{64}$/);
    expect(existsSync(at('code/src'))).toBe(false);
    expect(text(at('code/main.c'))).toBe('int main;\n');
    expect(text(at('code/lib/util.c'))).toBe('util\n');
    expect(readlinkSync(at('code/link'))).toBe('main.c');
    expect(meta(at('code/main.c')).mtime).toBe(T2.getTime() / 1000);
    expect(meta(at('code/lib'))).toMatchObject({ type: 'dir', mtime: T1.getTime() / 1000, uid: 0 });
    // The destination directory made for it is 0755, not the source directory's mode.
    expect(meta(at('code')).mode).toBe('755');
  });

  it('`.` and `/` name the whole context; a leading ./ or / is the context root', async () => {
    await run(copy({ sources: ['.'], dest: '/all/' }));
    expect(text(at('all/src/lib/util.c'))).toBe('util\n');
    expect(text(at('all/Dockerfile'))).toBe('FROM scratch\n');
    await run(copy({ sources: ['/src/main.c', './a.txt'], dest: '/two/' }));
    expect(text(at('two/main.c'))).toBe('int main;\n');
    expect(text(at('two/a.txt'))).toBe('a\n');
  });

  it('merges a directory into an existing one, keeping what is there', async () => {
    mkdirSync(at('code'), { mode: 0o700 });
    writeFileSync(at('code/old.txt'), 'old');
    await run(copy({ sources: ['src'], dest: '/code/' }));
    expect(text(at('code/old.txt'))).toBe('old');
    expect(text(at('code/main.c'))).toBe('int main;\n');
    expect(meta(at('code')).mode).toBe('700'); // an existing destination is left as it was
  });

  it('wildcards match per component with Go rules; several matches need a dest ending in /', async () => {
    await run(copy({ sources: ['*.txt'], dest: '/w/' }));
    expect(readdir(at('w'))).toEqual(['a.txt', 'b.txt']);
    await run(copy({ sources: ['docs/*.md', '[r]un.s?'], dest: '/m/' }));
    expect(readdir(at('m'))).toEqual(['run.sh', 'x.md']);
    await run(copy({ sources: ['s*'], dest: '/dirs/' })); // a matched directory: its contents
    expect(readdir(at('dirs'))).toEqual(['lib', 'link', 'main.c']);
    const several = await failure(planCopy(copy({ sources: ['*.txt'], dest: '/w' }), from, ws.deps));
    expect(several).toEqual({
      code: 'invalid-parameter',
      message: 'When using COPY with more than one source file, the destination must be a directory and end with a /',
    });
  });

  it('several sources without a trailing / on the dest is a 400; a wildcard matching nothing adds nothing', async () => {
    const refused = await failure(planCopy(copy({ sources: ['a.txt', 'b.txt'], dest: '/d' }), from, ws.deps));
    expect(refused.message).toBe('When using COPY with more than one source file, the destination must be a directory and end with a /');
    await run(copy({ sources: ['*.nothing', 'a.txt'], dest: '/one' }));
    expect(text(at('one'))).toBe('a\n');
    expect(await failure(planCopy(copy({ sources: ['*.nothing'], dest: '/x/' }), from, ws.deps))).toEqual({
      code: 'invalid-parameter',
      message: 'COPY failed: no source files were specified',
    });
  });

  it('a missing source is Docker\'s not-found error; `..` cannot leave the context; COPY refuses URLs', async () => {
    expect(await failure(planCopy(copy({ sources: ['missing.txt'], dest: '/' }), from, ws.deps))).toEqual({
      code: 'invalid-parameter',
      message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist',
    });
    const escape = await failure(planCopy(copy({ sources: ['../etc/passwd'], dest: '/' }), from, ws.deps));
    expect(escape).toEqual({ code: 'invalid-parameter', message: 'COPY failed: forbidden path outside the build context: ../etc/passwd' });
    expect((await failure(planCopy(copy({ sources: ['src/../../x'], dest: '/' }), from, ws.deps))).code).toBe('invalid-parameter');
    expect((await failure(planCopy(copy({ sources: ['http://127.0.0.1:1/x'], dest: '/' }), from, ws.deps))).message).toBe(
      "COPY failed: source can't be a URL for COPY",
    );
  });

  it('a context symlink is followed only inside the context; inside a copied directory it stays a link', async () => {
    const hostile = await ws.context([
      { name: 'out', type: 'symlink', linkname: '../../../../etc' },
      { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'in', type: 'symlink', linkname: 'real.txt' },
      { name: 'real.txt', data: 'real' },
      { name: 'tree/', type: 'directory' },
      { name: 'tree/up', type: 'symlink', linkname: '../../../..' },
    ]);
    const source: CopySource = { kind: 'context', context: hostile };
    for (const src of ['out', 'out/passwd', 'abs']) {
      const refused = await failure(planCopy(copy({ sources: [src], dest: '/x' }), source, ws.deps));
      expect(refused, src).toEqual({ code: 'invalid-parameter', message: `COPY failed: forbidden path outside the build context: ${src}` });
    }
    const plan = await planCopy(copy({ sources: ['in', 'tree'], dest: '/y/' }), source, ws.deps);
    await plan.apply(ws.target);
    expect(text(at('y/in'))).toBe('real');
    expect(readlinkSync(at('y/up'))).toBe('../../../..');
  });

  it('--chmod overrides modes of files and directories; --chown owns them and the parents it makes', async () => {
    await run(copy({ sources: ['b.txt'], dest: '/c/d/b.txt', chmod: 0o640 }), { uid: 1234, gid: 5678 });
    expect(meta(at('c/d/b.txt'))).toMatchObject({ mode: '640', uid: 1234, gid: 5678 });
    expect(meta(at('c'))).toMatchObject({ mode: '755', uid: 1234, gid: 5678 }); // moby: MkdirAllAndChownNew(identity)
    await run(copy({ sources: ['src'], dest: '/e/f', chmod: 0o700 }), { uid: 42, gid: 43 });
    expect(meta(at('e/f/main.c'))).toMatchObject({ mode: '700', uid: 42, gid: 43 });
    expect(meta(at('e/f/lib'))).toMatchObject({ mode: '700', uid: 42, gid: 43 });
    expect(meta(at('e/f/link'))).toMatchObject({ type: 'link', uid: 42, gid: 43 });
    expect(meta(at('e/f'))).toMatchObject({ uid: 42, gid: 43 }); // the directory made for the contents
    expect(meta(at('e'))).toMatchObject({ uid: 0, gid: 0 }); // its parents: root's (moby's CopyWithTar)
  });

  it('a dest through a symlink in the target stays inside the target', async () => {
    symlinkSync('/real', at('via'));
    mkdirSync(at('real'));
    symlinkSync('../../../../..', at('up'));
    await run(copy({ sources: ['a.txt'], dest: '/via/' }));
    expect(text(at('real/a.txt'))).toBe('a\n');
    await run(copy({ sources: ['b.txt'], dest: '/up/escaped/' }));
    expect(text(at('escaped/b.txt'))).toBe('b\n'); // `..` stops at the target's root
    expect(existsSync(join(ws.dir, 'escaped'))).toBe(false);
  });

  it('a file onto an existing file replaces it; a directory onto a file is a 400', async () => {
    writeFileSync(at('f'), 'old');
    await run(copy({ sources: ['a.txt'], dest: '/f' }));
    expect(text(at('f'))).toBe('a\n');
    const refused = await failure(run(copy({ sources: ['src'], dest: '/f' })));
    expect(refused.code).toBe('invalid-parameter');
    expect(refused.message).toMatch(/not a directory/);
  });
});

describe('planCopy: .dockerignore', () => {
  let ws: Workspace;
  let from: CopySource;
  const at = (path: string): string => join(ws.targetDir, path);

  beforeEach(async () => {
    ws = await workspace();
    const context = await ws.context([
      { name: '.dockerignore', data: '*.log\nsecret/\n!secret/public.txt\nnode_modules\n**/*.tmp\n' },
      { name: 'app.js', data: 'app' },
      { name: 'debug.log', data: 'log' },
      { name: 'secret/', type: 'directory' },
      { name: 'secret/key.pem', data: 'key' },
      { name: 'secret/public.txt', data: 'public' },
      { name: 'node_modules/', type: 'directory' },
      { name: 'node_modules/dep.js', data: 'dep' },
      { name: 'deep/', type: 'directory' },
      { name: 'deep/er/', type: 'directory' },
      { name: 'deep/er/x.tmp', data: 'tmp' },
      { name: 'deep/er/y.txt', data: 'y' },
    ]);
    from = { kind: 'context', context };
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('ignored files are invisible to COPY: not copied with a directory, not matched, not found by name', async () => {
    const plan = await planCopy(copy({ sources: ['.'], dest: '/app/' }), from, ws.deps);
    await plan.apply(ws.target);
    expect(walk(at('app'))).toEqual(['.dockerignore', 'app.js', 'deep', 'deep/er', 'deep/er/y.txt', 'secret', 'secret/public.txt']);
    expect((await failure(planCopy(copy({ sources: ['debug.log'], dest: '/' }), from, ws.deps))).message).toBe(
      'COPY failed: file not found in build context or excluded by .dockerignore: stat debug.log: file does not exist',
    );
    expect((await failure(planCopy(copy({ sources: ['node_modules'], dest: '/nm/' }), from, ws.deps))).code).toBe('invalid-parameter');
    expect((await failure(planCopy(copy({ sources: ['*.log'], dest: '/' }), from, ws.deps))).message).toBe(
      'COPY failed: no source files were specified',
    );
    // An excluded directory holding an exception exists with just that file.
    const secret = await planCopy(copy({ sources: ['secret'], dest: '/s/' }), from, ws.deps);
    await secret.apply(ws.target);
    expect(walk(at('s'))).toEqual(['public.txt']);
  });

  it('a file re-included by an exception can be copied by name', async () => {
    const plan = await planCopy(copy({ sources: ['secret/public.txt'], dest: '/p' }), from, ws.deps);
    await plan.apply(ws.target);
    expect(text(at('p'))).toBe('public');
  });
});

describe('planCopy: --from a stage or image tree', () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('copies from an in-root tree with the same rules, absolute links resolved inside it, .dockerignore not applied', async () => {
    const stage = join(ws.dir, 'stage');
    mkdirSync(join(stage, 'out/bin'), { recursive: true });
    writeFileSync(join(stage, 'out/bin/tool'), 'tool', { mode: 0o755 });
    writeFileSync(join(stage, 'out/build.log'), 'log');
    symlinkSync('/out/bin/tool', join(stage, 'current'));
    const tree = openConfinedTree(addon, stage, 'in-root');
    try {
      const context = await ws.context([{ name: '.dockerignore', data: '**/*.log\n' }]);
      expect(context.isIgnored('out/build.log')).toBe(true);
      const from: CopySource = { kind: 'tree', tree, name: 'builder' };
      const plan = await planCopy(copy({ sources: ['/out', 'current', '../../out/*.log'], dest: '/usr/local/' }), from, ws.deps);
      expect(plan.cacheKey).toMatch(/^multi:/);
      await plan.apply(ws.target);
      expect(text(join(ws.targetDir, 'usr/local/bin/tool'))).toBe('tool');
      expect(meta(join(ws.targetDir, 'usr/local/bin/tool')).mode).toBe('755');
      expect(text(join(ws.targetDir, 'usr/local/current'))).toBe('tool'); // the link's target, under the link's name
      expect(text(join(ws.targetDir, 'usr/local/build.log'))).toBe('log');
      expect(await failure(planCopy(copy({ sources: ['/nope'], dest: '/' }), from, ws.deps))).toEqual({
        code: 'invalid-parameter',
        message: 'COPY failed: file not found in builder: stat nope: file does not exist',
      });
    } finally {
      tree.close();
    }
  });
});

describe('planCopy: cacheKey', () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  async function keyOf(entries: TarEntry[], sources: string[], dest = '/d/'): Promise<string> {
    const context = await ws.context(entries);
    const plan = await planCopy(copy({ sources, dest }), { kind: 'context', context }, ws.deps);
    await plan.dispose();
    return plan.cacheKey;
  }

  const base: TarEntry[] = [
    { name: 'f.txt', data: 'one', mode: 0o644, mtime: T1 },
    { name: 'dir/', type: 'directory', mtime: T1 },
    { name: 'dir/g.txt', data: 'two', mtime: T1 },
    { name: 'dir/l', type: 'symlink', linkname: 'g.txt' },
  ];
  const change = (name: string, patch: Partial<TarEntry>): TarEntry[] => base.map((e) => (e.name === name ? { ...e, ...patch } : e));

  it('is stable for the same content, ignores mtimes and owners, and changes with contents, modes, names and links', async () => {
    for (const sources of [['f.txt'], ['dir'], ['f.txt', 'dir']]) {
      const key = await keyOf(base, sources);
      expect(await keyOf(base, sources)).toBe(key);
      expect(await keyOf(change('f.txt', { mtime: T2, uid: 5 }).map((e) => (e.name === 'dir/g.txt' ? { ...e, mtime: T2 } : e)), sources)).toBe(key);
    }
    const file = await keyOf(base, ['f.txt']);
    expect(await keyOf(change('f.txt', { data: 'One' }), ['f.txt'])).not.toBe(file);
    expect(await keyOf(change('f.txt', { mode: 0o755 }), ['f.txt'])).not.toBe(file);
    const dir = await keyOf(base, ['dir']);
    expect(await keyOf(change('dir/g.txt', { data: 'Two' }), ['dir'])).not.toBe(dir);
    expect(await keyOf(change('dir/g.txt', { mode: 0o600 }), ['dir'])).not.toBe(dir);
    expect(await keyOf(change('dir/l', { linkname: 'other' }), ['dir'])).not.toBe(dir);
    expect(await keyOf(change('dir/g.txt', { name: 'dir/h.txt' }), ['dir'])).not.toBe(dir);
    expect(await keyOf([...base, { name: 'dir/new', data: '' }], ['dir'])).not.toBe(dir);
    // A wildcard whose matches are renamed copies other names: another key.
    const star = await keyOf(base, ['*.txt']);
    expect(await keyOf(change('f.txt', { name: 'e.txt' }), ['*.txt'])).not.toBe(star);
  });
});

function readdir(path: string): string[] {
  return walk(path).filter((p) => !p.includes('/'));
}

function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    out.push(path);
    if (meta(join(root, path)).type === 'dir') out.push(...walk(root, path));
  }
  return out;
}

describe('extractWritten (how COPY writes into the target)', () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  const many = Array.from({ length: 300 }, (_, i) => ({ name: `f${i}`, type: 'file' as const, mode: 0o644, mtime: T1 }));

  it('a refused entry stops the writer: the extraction error, no hang', async () => {
    const refused = await failure(
      extractWritten(ws.target, '/', async (writer) => {
        await writer.add({ name: 'ok', type: 'file', mode: 0o644, mtime: T1 }, Buffer.from('ok'));
        await writer.add({ name: '../../escape', type: 'file', mode: 0o644, mtime: T1 }, Buffer.from('x'));
        for (const header of many) await writer.add(header, Buffer.alloc(4096));
      }),
    );
    expect(refused.code).toBe('invalid-parameter');
    expect(refused.message).toMatch(/escape/);
    expect(existsSync(join(ws.dir, 'escape'))).toBe(false);
  });

  it('a failing source stops the extraction: the source\'s error, no hang', async () => {
    const boom = new Error('the source failed');
    let caught: unknown;
    try {
      await extractWritten(ws.target, '/', async (writer) => {
        for (const header of many.slice(0, 50)) await writer.add(header, Buffer.alloc(4096));
        throw boom;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(boom);
  });
});
