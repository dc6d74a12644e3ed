import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChanges } from '../../../runtime-agent/src/images/changes.js';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, gzipSync, sha256Of, testRoot, type TestRoot } from './fixtures.js';

log.setQuiet(true);

describe('--change instructions', () => {
  it('applies the JSON and shell forms like a Dockerfile', () => {
    const config = applyChanges({}, [
      'ENV PATH=/usr/bin:/bin HOME=/root',
      'ENV GREETING hello world',
      'ENV MSG="$GREETING from ${HOME}" EMPTY=${UNSET:-fallback}',
      'CMD ["sh", "-c", "echo hi"]',
      'ENTRYPOINT /bin/entry --flag',
      'WORKDIR /srv',
      'WORKDIR app',
      'USER berth:1000',
      'EXPOSE 80 53/udp 8000-8001',
      'LABEL a=1 "b c"="two words" d=$HOME',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'STOPSIGNAL SIGQUIT',
      'onbuild run echo x',
      'HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/',
    ]);
    expect(config).toEqual({
      Env: ['PATH=/usr/bin:/bin', 'HOME=/root', 'GREETING=hello world', 'MSG=hello world from /root', 'EMPTY=fallback'],
      Cmd: ['sh', '-c', 'echo hi'],
      Entrypoint: ['/bin/sh', '-c', '/bin/entry --flag'],
      WorkingDir: '/srv/app',
      User: 'berth:1000',
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Labels: { a: '1', 'b c': 'two words', d: '/root' },
      Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
      StopSignal: 'SIGQUIT',
      OnBuild: ['RUN echo x'],
      Healthcheck: { Interval: 30e9, Retries: 3, Test: ['CMD-SHELL', 'curl -f http://localhost/'] },
    });
  });

  it('clears an inherited CMD when ENTRYPOINT is set without one', () => {
    expect(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["run"]'])).toEqual({ Cmd: null, Entrypoint: ['run'] });
    expect(applyChanges({}, ['CMD sh'])).toEqual({ Cmd: ['/bin/sh', '-c', 'sh'] });
  });

  it.each([
    ['RUN echo', 'run is not a valid change command'],
    ['FROM busybox', 'from is not a valid change command'],
    ['EXPOSE 99999', 'invalid containerPort: 99999'],
    ['EXPOSE 80/xyz', 'invalid proto: xyz'],
    ['STOPSIGNAL SIGNOPE', 'Invalid signal: SIGNOPE'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV a=1 b', `Syntax error - can't find = in "b"`],
    ['USER', 'USER requires exactly one argument'],
  ])('refuses %s', (change, message) => {
    expect(() => applyChanges({}, [change])).toThrow(message);
  });
});

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n';

describe('docker import', () => {
  let root: TestRoot;
  beforeEach(async () => {
    root = await testRoot();
  });
  afterEach(() => root.cleanup());

  const rootfs = (): Promise<Buffer> =>
    buildTar([
      { name: './', type: 'directory' },
      { name: './bin/', type: 'directory' },
      { name: './bin/busybox', data: 'ELF', mode: 0o755 },
      { name: './bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: './etc/', type: 'directory' },
      { name: './etc/passwd', data: PASSWD },
    ]);

  it('imports a gzip rootfs with changes, a message and a tag', async () => {
    const tarball = await rootfs();
    const id = await root.images.import(Readable.from([gzipSync(tarball)]), {
      src: '-',
      repo: 'imported',
      tag: 'v1',
      message: 'from the test',
      changes: ['CMD ["sh"]', 'ENV A=1', 'WORKDIR /tmp'],
      platform: '',
    });
    const image = await root.images.resolve('imported:v1');
    expect(image.id).toBe(id);
    expect(image.config).toEqual({ Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/tmp' });
    expect(image.layers).toHaveLength(1);
    expect(image.layers[0]?.diffId).toBe(sha256Of(tarball));
    expect(await readFile(join(image.layers[0]?.dir ?? '', 'etc/passwd'), 'utf8')).toContain('berth:x:1000');
    const inspect = root.images.inspect('imported:v1');
    expect(inspect).toMatchObject({ Comment: 'from the test', Os: 'linux', RootFS: { Type: 'layers', Layers: [sha256Of(tarball)] } });
    expect((inspect.Metadata as { LastTagTime: string }).LastTagTime).not.toBe('0001-01-01T00:00:00Z');
    expect(root.images.history('imported:v1')).toEqual([
      { Id: id, Created: expect.any(Number), CreatedBy: '', Tags: ['imported:v1'], Size: 'ELF'.length + 'busybox'.length + PASSWD.length, Comment: 'from the test' },
    ]);
  });

  it('imports untagged with the default comment, and refuses bad input cleanly', async () => {
    const id = await root.images.import(Readable.from([await rootfs()]), { src: '-', repo: '', tag: '', message: '', changes: [], platform: '' });
    expect(root.images.inspect(id).Comment).toBe('Imported from -');
    expect(root.images.inspect(id).RepoTags).toEqual([]);
    const before = (await readdir(root.layout.blobsDir)).sort();
    const opts = { src: '-', repo: 'x', tag: '', message: '', changes: [], platform: '' };
    await expect(root.images.import(Readable.from([Buffer.from('not a tar'.repeat(100))]), opts)).rejects.toMatchObject({ code: 'invalid-parameter' });
    await expect(root.images.import(Readable.from([await buildTar([{ name: '/abs', data: 'x' }])]), opts)).rejects.toThrow(/absolute paths/);
    await expect(root.images.import(Readable.from([await rootfs()]), { ...opts, changes: ['RUN x'] })).rejects.toThrow('run is not a valid change command');
    await expect(root.images.import(Readable.from([await rootfs()]), { ...opts, repo: 'Bad' })).rejects.toThrow('must be lowercase');
    expect((await readdir(root.layout.blobsDir)).sort()).toEqual(before);
    expect(await readdir(root.layout.layersDir)).toHaveLength(1);
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
    expect(root.images.count()).toBe(1);
  });
});
