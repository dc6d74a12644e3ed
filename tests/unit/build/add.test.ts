import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planCopy, type CopyRequest, type CopySource } from '../../../runtime-agent/src/build/files/index.js';
import { openConfinedTree } from '../../../runtime-agent/src/files/tree.js';
import { log } from '../../../runtime-agent/src/log.js';
import { addon } from '../files/fixtures.js';
import { buildTar, failure, meta, text, workspace, type Workspace } from './fixtures.js';

log.setQuiet(true);

const T1 = new Date('2020-05-06T07:08:09Z');

function add(request: Partial<CopyRequest> & Pick<CopyRequest, 'sources' | 'dest'>): CopyRequest {
  return { add: true, workdir: '/', ...request };
}

async function archive(): Promise<Buffer> {
  return buildTar([
    { name: 'pkg/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000, mtime: T1 },
    { name: 'pkg/bin', data: 'binary', mode: 0o755, uid: 1000, gid: 1000, mtime: T1 },
    { name: 'pkg/README', data: 'read me', mode: 0o644, uid: 0, gid: 0, mtime: T1 },
  ]);
}

describe('planCopy: ADD of local archives', () => {
  let ws: Workspace;
  const at = (path: string): string => join(ws.targetDir, path);

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('extracts plain, gzip, bzip2 and xz tars into dest (made when missing), keeping the archive\'s owners', async () => {
    const tar = await archive();
    const archives: [string, Buffer][] = [
      ['plain.tar', tar],
      ['app.tgz', gzipSync(tar)],
    ];
    for (const [program, name] of [['bzip2', 'app.tar.bz2'], ['xz', 'app.tar.xz']] as const) {
      const run = spawnSync(program, ['-c'], { input: tar });
      if (run.status === 0) archives.push([name, run.stdout]);
    }
    const context = await ws.context(archives.map(([name, data]) => ({ name, data })));
    for (const [name] of archives) {
      const plan = await planCopy(add({ sources: [name], dest: `/opt/${name}-x` }), { kind: 'context', context }, ws.deps);
      await plan.apply(ws.target, { uid: 7, gid: 7 }); // --chown does not apply to extracted archives (as Docker)
      await plan.dispose();
      expect(text(at(`opt/${name}-x/pkg/bin`)), name).toBe('binary');
      expect(meta(at(`opt/${name}-x/pkg/bin`))).toEqual({ type: 'file', mode: '755', uid: 1000, gid: 1000, mtime: T1.getTime() / 1000 });
      expect(meta(at(`opt/${name}-x/pkg`))).toMatchObject({ mode: '750', uid: 1000 });
      expect(meta(at(`opt/${name}-x`))).toMatchObject({ type: 'dir', mode: '755', uid: 0 });
    }
    expect(archives.length).toBeGreaterThanOrEqual(2);
  });

  it('extracts into an existing directory, merging; COPY of the same archive copies the file', async () => {
    mkdirSync(at('srv'));
    writeFileSync(at('srv/keep'), 'keep');
    const context = await ws.context([{ name: 'a.tar.gz', data: gzipSync(await archive()) }]);
    const from: CopySource = { kind: 'context', context };
    const added = await planCopy(add({ sources: ['a.tar.gz'], dest: '/srv/' }), from, ws.deps);
    await added.apply(ws.target);
    expect(readdirSync(at('srv')).sort()).toEqual(['keep', 'pkg']);
    const copied = await planCopy(add({ add: false, sources: ['a.tar.gz'], dest: '/copied/' }), from, ws.deps);
    await copied.apply(ws.target);
    expect(readdirSync(at('copied'))).toEqual(['a.tar.gz']);
    expect(copied.cacheKey).toBe(added.cacheKey); // the same bytes either way
  });

  it('a file that only looks like an archive by name is copied; an archive from --from is copied', async () => {
    const context = await ws.context([
      { name: 'fake.tar.gz', data: 'not an archive at all, just text that is long enough to fill a tar block? no.' },
      { name: 'empty.tar', data: Buffer.alloc(1024) },
    ]);
    const plan = await planCopy(add({ sources: ['fake.tar.gz', 'empty.tar'], dest: '/f/' }), { kind: 'context', context }, ws.deps);
    await plan.apply(ws.target);
    expect(readdirSync(at('f')).sort()).toEqual(['empty.tar', 'fake.tar.gz']);
    const stage = join(ws.dir, 'stage');
    mkdirSync(stage);
    writeFileSync(join(stage, 'x.tar'), await archive());
    const tree = openConfinedTree(addon, stage, 'in-root');
    try {
      const fromStage = await planCopy(add({ sources: ['x.tar'], dest: '/g/' }), { kind: 'tree', tree, name: 'stage' }, ws.deps);
      await fromStage.apply(ws.target);
      expect(readdirSync(at('g'))).toEqual(['x.tar']);
    } finally {
      tree.close();
    }
  });

  it('a hostile archive is refused with a 400 and writes nothing outside the target', async () => {
    const hostile = await buildTar([
      { name: 'ok.txt', data: 'ok' },
      { name: 'out', type: 'symlink', linkname: '../../../..' },
      { name: 'out/escaped.txt', data: 'pwned' },
      { name: '../../escaped2.txt', data: 'pwned' },
    ]);
    const context = await ws.context([{ name: 'evil.tar', data: hostile }]);
    const plan = await planCopy(add({ sources: ['evil.tar'], dest: '/x/' }), { kind: 'context', context }, ws.deps);
    const refused = await failure(plan.apply(ws.target));
    // in-root: the link's `..` stops at the target's root, so out/escaped.txt lands inside it; `../..` is refused.
    expect(refused.code).toBe('invalid-parameter');
    expect(refused.message).toMatch(/^ADD failed: cannot extract evil.tar: refusing tar entry "..\/..\/escaped2.txt"/);
    expect(existsSync(join(ws.dir, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(ws.dir, 'escaped2.txt'))).toBe(false);
    expect(readdirSync(ws.dir).sort()).toEqual(['target', 'tmp']);
  });
});

describe('planCopy: ADD <url>', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  let body = 'downloaded bytes\n';
  const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      const url = req.url ?? '/';
      if (url === '/files/tool.sh') {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Last-Modified': LAST_MODIFIED });
        res.end(body);
      } else if (url === '/redirect') {
        res.writeHead(302, { Location: '/files/tool.sh' });
        res.end();
      } else if (url === '/dir/') {
        res.writeHead(200, { 'Content-Disposition': 'attachment; filename="named.bin"' });
        res.end('named');
      } else if (url === '/bare/') {
        res.writeHead(200);
        res.end('bare');
      } else if (url === '/archive.tar') {
        void archive().then((tar) => {
          res.writeHead(200);
          res.end(tar);
        });
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no such file');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  let ws: Workspace;
  let from: CopySource;
  const at = (path: string): string => join(ws.targetDir, path);

  beforeEach(async () => {
    ws = await workspace({ downloadTimeoutMs: 5000 });
    from = { kind: 'context', context: await ws.context([]) };
    body = 'downloaded bytes\n';
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('saves the URL as its last path segment in a dest directory: mode 0600, mtime from Last-Modified; dispose removes the download', async () => {
    const plan = await planCopy(add({ sources: [`${base}/files/tool.sh`], dest: '/usr/bin/' }), from, ws.deps);
    expect(plan.cacheKey).toMatch(/^file:[0-9a-f]{64}$/);
    expect((await ws.leftovers()).some((name) => name.startsWith('build-download-'))).toBe(true);
    await plan.apply(ws.target);
    await plan.dispose();
    expect(text(at('usr/bin/tool.sh'))).toBe('downloaded bytes\n');
    expect(meta(at('usr/bin/tool.sh'))).toEqual({ type: 'file', mode: '600', uid: 0, gid: 0, mtime: Date.parse(LAST_MODIFIED) / 1000 });
    expect((await ws.leftovers()).filter((name) => name.startsWith('build-download-'))).toEqual([]);
  });

  it('a dest without / is the file itself; redirects are followed; --chmod and --chown apply', async () => {
    const plan = await planCopy(add({ sources: [`${base}/redirect`], dest: 'tool', workdir: '/w', chmod: 0o755 }), from, ws.deps);
    await plan.apply(ws.target, { uid: 10, gid: 20 });
    await plan.dispose();
    expect(text(at('w/tool'))).toBe('downloaded bytes\n');
    expect(meta(at('w/tool'))).toMatchObject({ mode: '755', uid: 10, gid: 20 });
  });

  it('names from Content-Disposition; no name at all with a dest directory is a 400', async () => {
    const plan = await planCopy(add({ sources: [`${base}/dir/`], dest: '/d/' }), from, ws.deps);
    await plan.apply(ws.target);
    await plan.dispose();
    expect(text(at('d/named.bin'))).toBe('named');
    expect(await failure(planCopy(add({ sources: [`${base}/bare/`], dest: '/d/' }), from, ws.deps))).toEqual({
      code: 'invalid-parameter',
      message: `ADD failed: cannot determine filename for source ${base}/bare/`,
    });
    const unnamed = await planCopy(add({ sources: [`${base}/bare/`], dest: '/bare.txt' }), from, ws.deps);
    await unnamed.apply(ws.target);
    await unnamed.dispose();
    expect(text(at('bare.txt'))).toBe('bare');
  });

  it('a 404 is a 400 naming the status; an unreachable host too; nothing is left in tmp/', async () => {
    expect(await failure(planCopy(add({ sources: [`${base}/missing.txt`], dest: '/x/' }), from, ws.deps))).toEqual({
      code: 'invalid-parameter',
      message: `ADD failed: failed to GET ${base}/missing.txt with status 404 Not Found: no such file`,
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await failure(planCopy(add({ sources: [`http://127.0.0.1:${port}/x`], dest: '/x/' }), from, ws.deps));
    expect(refused.code).toBe('invalid-parameter');
    expect(refused.message).toMatch(new RegExp(`^ADD failed: failed to GET http://127.0.0.1:${port}/x: .*ECONNREFUSED`));
    expect((await ws.leftovers()).filter((name) => name.startsWith('build-download-'))).toEqual([]);
  });

  it('a downloaded archive is not extracted; the key follows the bytes', async () => {
    const plan = await planCopy(add({ sources: [`${base}/archive.tar`], dest: '/a/' }), from, ws.deps);
    await plan.apply(ws.target);
    await plan.dispose();
    expect(readdirSync(at('a'))).toEqual(['archive.tar']);
    const key = async (): Promise<string> => {
      const p = await planCopy(add({ sources: [`${base}/files/tool.sh`], dest: '/k/' }), from, ws.deps);
      await p.dispose();
      return p.cacheKey;
    };
    const first = await key();
    const before = hits;
    expect(await key()).toBe(first);
    expect(hits).toBe(before + 1); // fetched again each time, as Docker's classic builder does
    body = 'changed\n';
    expect(await key()).not.toBe(first);
  });

  it('a download larger than the limit is refused', async () => {
    const small = await workspace({ maxDownloadBytes: 4 });
    try {
      const ctx: CopySource = { kind: 'context', context: await small.context([]) };
      const refused = await failure(planCopy(add({ sources: [`${base}/files/tool.sh`], dest: '/x/' }), ctx, small.deps));
      expect(refused.message).toMatch(/larger than the 4 bytes/);
      expect((await small.leftovers()).filter((name) => name.startsWith('build-download-'))).toEqual([]);
    } finally {
      await small.cleanup();
    }
  });
});
