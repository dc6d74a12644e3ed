import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { receiveBuildContext } from '../../../runtime-agent/src/build/files/index.js';
import { log } from '../../../runtime-agent/src/log.js';
import { collect } from '../files/fixtures.js';
import { buildTar, failure, workspace, type Workspace } from './fixtures.js';

log.setQuiet(true);

const DOCKERFILE = 'FROM scratch\nCOPY . /\n';

describe('receiveBuildContext', () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.cleanup();
  });

  it('unpacks a plain tar under tmp/ and reads it through the tree; dispose removes it', async () => {
    const context = await ws.context([
      { name: 'Dockerfile', data: DOCKERFILE },
      { name: 'src/', type: 'directory' },
      { name: 'src/app.txt', data: 'app\n', mode: 0o640 },
    ]);
    expect(await context.readDockerfile('')).toBe(DOCKERFILE);
    expect((await collect((await context.tree.read('src/app.txt')).stream)).toString()).toBe('app\n');
    expect((await context.tree.stat('src/app.txt')).mode).toBe(0o640);
    const [dir] = await ws.leftovers();
    expect(dir).toMatch(/^build-context-/);
    await context.dispose();
    await context.dispose(); // idempotent
    expect(await ws.leftovers()).toEqual([]);
  });

  it('accepts gzip, bzip2 and xz compressed contexts (by their magic bytes)', async () => {
    const tar = await buildTar([{ name: 'Dockerfile', data: DOCKERFILE }]);
    const bodies: [string, Buffer][] = [['gzip', gzipSync(tar)]];
    for (const program of ['bzip2', 'xz']) {
      const run = spawnSync(program, ['-c'], { input: tar });
      if (run.status === 0) bodies.push([program, run.stdout]);
    }
    expect(bodies.length).toBeGreaterThanOrEqual(1);
    for (const [kind, body] of bodies) {
      const context = await receiveBuildContext(Readable.from([body]), ws.deps);
      expect(await context.readDockerfile('Dockerfile'), kind).toBe(DOCKERFILE);
      await context.dispose();
    }
    expect(await ws.leftovers()).toEqual([]);
  });

  it('refuses a body that is not a tar, or is corrupt gzip, with a 400 and leaves nothing', async () => {
    const notTar = await failure(receiveBuildContext(Readable.from([Buffer.from('x'.repeat(2000))]), ws.deps));
    expect(notTar.code).toBe('invalid-parameter');
    expect(notTar.message).toMatch(/^invalid build context: .*tar/);
    const badGzip = Buffer.concat([gzipSync(Buffer.alloc(4096)).subarray(0, 20), Buffer.alloc(100, 7)]);
    expect((await failure(receiveBuildContext(Readable.from([badGzip]), ws.deps))).code).toBe('invalid-parameter');
    expect(await ws.leftovers()).toEqual([]);
  });

  it('refuses hostile context tars: nothing lands outside the context directory', async () => {
    const hostile = [
      [{ name: '../escape.txt', data: 'pwned' }],
      [{ name: 'up', type: 'symlink' as const, linkname: '../..' }, { name: 'up/escape.txt', data: 'pwned' }],
      [{ name: 'abs', type: 'symlink' as const, linkname: ws.dir }, { name: 'abs/escape.txt', data: 'pwned' }],
      [{ name: 'hard', type: 'link' as const, linkname: '../../escape.txt' }],
    ];
    for (const entries of hostile) {
      const refused = await failure(ws.context(entries));
      expect(refused.code, JSON.stringify(entries)).toBe('invalid-parameter');
      expect(refused.message).toMatch(/^invalid build context: refusing/);
    }
    expect(readdirSync(ws.dir).sort()).toEqual(['target', 'tmp']);
    expect(existsSync(join(ws.dir, 'escape.txt'))).toBe(false);
    expect(await ws.leftovers()).toEqual([]);
  });

  it('readDockerfile: -f names a file in the context; Dockerfile falls back to dockerfile; missing or outside is a 400', async () => {
    const context = await ws.context([
      { name: 'dockerfile', data: 'FROM lower\n' },
      { name: 'build/', type: 'directory' },
      { name: 'build/Dockerfile.dev', data: 'FROM dev\n' },
    ]);
    expect(await context.readDockerfile('')).toBe('FROM lower\n');
    expect(await context.readDockerfile('Dockerfile')).toBe('FROM lower\n');
    expect(await context.readDockerfile('build/Dockerfile.dev')).toBe('FROM dev\n');
    expect(await context.readDockerfile('/build/Dockerfile.dev')).toBe('FROM dev\n');
    expect(await failure(context.readDockerfile('Containerfile'))).toEqual({
      code: 'invalid-parameter',
      message: 'Cannot locate specified Dockerfile: Containerfile',
    });
    expect((await failure(context.readDockerfile('build'))).code).toBe('invalid-parameter');
    const outside = await failure(context.readDockerfile('../tmp/x'));
    expect(outside.code).toBe('invalid-parameter');
    expect(outside.message).toMatch(/^Cannot locate specified Dockerfile: \.\.\/tmp\/x/);
  });

  it('the lower-case fallback is for the default name only', async () => {
    const context = await ws.context([{ name: 'dockerfile.dev', data: 'FROM x\n' }]);
    expect((await failure(context.readDockerfile('Dockerfile.dev'))).message).toBe('Cannot locate specified Dockerfile: Dockerfile.dev');
    expect((await failure(context.readDockerfile(''))).message).toBe('Cannot locate specified Dockerfile: Dockerfile');
  });

  it('.dockerignore: the Dockerfile and .dockerignore may be excluded from COPY yet the builder reads them', async () => {
    const context = await ws.context([
      { name: 'Dockerfile', data: DOCKERFILE },
      { name: '.dockerignore', data: '# build files\nDockerfile\n.dockerignore\n*.log\n!keep.log\n' },
      { name: 'a.log', data: '' },
      { name: 'keep.log', data: '' },
    ]);
    expect(context.isIgnored('Dockerfile')).toBe(true);
    expect(context.isIgnored('.dockerignore')).toBe(true);
    expect(context.isIgnored('a.log')).toBe(true);
    expect(context.isIgnored('keep.log')).toBe(false);
    expect(context.isIgnored('/a.log')).toBe(true);
    expect(await context.readDockerfile('')).toBe(DOCKERFILE);
  });

  it('a malformed .dockerignore pattern is a 400 naming it', async () => {
    const refused = await failure(ws.context([{ name: '.dockerignore', data: 'ok\n[z\n' }]));
    expect(refused.code).toBe('invalid-parameter');
    expect(refused.message).toContain('"[z"');
    expect(await ws.leftovers()).toEqual([]);
  });
});
