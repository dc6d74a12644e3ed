import { chownSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStream, makeTar, readTar } from '../support/berth-http.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// `docker cp` (the archive API: HEAD/GET/PUT /containers/{id}/archive) with the real CLI and
// dockerode, into and out of running, paused, created and exited containers, volumes included.

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

describe('docker cp (archive API)', () => {
  const daemon = useDaemon({ image: 'oci' });
  let host: string;
  const made: string[] = [];

  const docker = async (args: string[], input?: string): Promise<string> => {
    const r = await daemon().docker(args, input === undefined ? {} : { input });
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** A container (removed after the file); `run` starts it with a long sleep. */
  const container = async (how: 'run' | 'create' | 'exited', extra: string[] = []): Promise<string> => {
    const cmd = how === 'exited' ? ['true'] : ['sleep', '300'];
    const id = (await docker([how === 'run' ? 'run' : 'create', ...(how === 'run' ? ['-d'] : []), '--network', 'none', ...extra, TEST_IMAGE, ...cmd])).trim();
    made.push(id);
    if (how === 'exited') await docker(['start', '-a', id]);
    return id;
  };
  /** What `sh -c script` prints inside the running container `id` (as root, whatever its user). */
  const inside = (id: string, script: string): Promise<string> => docker(['exec', '-u', '0', id, 'sh', '-c', script]);
  const ownerOf = (id: string, path: string): Promise<string> => ownerOfIn(daemon().dockerode, id, path);
  const stat = async (id: string, path: string): Promise<{ status: number; stat?: PathStat; res: IncomingMessage }> => {
    const res = (await daemon().dockerode.getContainer(id).infoArchive({ path }).catch((err: { statusCode?: number }) => err)) as IncomingMessage & { statusCode?: number };
    const header = res.headers?.['x-docker-container-path-stat'];
    const parsed = typeof header === 'string' ? (JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat) : undefined;
    return { status: res.statusCode ?? 0, ...(parsed ? { stat: parsed } : {}), res };
  };

  beforeAll(async () => {
    host = await mkdtemp(join(tmpdir(), 'berth-cp-'));
    await mkdir(join(host, 'tree', 'sub'), { recursive: true });
    await writeFile(join(host, 'file.txt'), 'hello from the host\n');
    await writeFile(join(host, 'tree', 'a.txt'), 'a\n');
    await writeFile(join(host, 'tree', 'sub', 'b.txt'), 'b\n');
  });

  afterAll(async () => {
    if (made.length > 0) await daemon().docker(['rm', '-f', '-v', ...made]);
    await rm(host, { recursive: true, force: true });
  });

  it('copies a file, a directory and dir/. into a running container and back out', async () => {
    const id = await container('run');
    await docker(['cp', join(host, 'file.txt'), `${id}:/tmp/`]);
    await docker(['cp', join(host, 'file.txt'), `${id}:/tmp/renamed.txt`]);
    await docker(['cp', join(host, 'tree'), `${id}:/opt`]); // /opt does not exist: becomes the tree
    await docker(['exec', id, 'mkdir', '/into']);
    await docker(['cp', `${join(host, 'tree')}/.`, `${id}:/into`]); // contents only
    expect(await inside(id, 'cat /tmp/file.txt /tmp/renamed.txt /opt/a.txt /opt/sub/b.txt; ls /into | tr "\\n" " "')).toBe(
      'hello from the host\nhello from the host\na\nb\na.txt sub ',
    );

    const out = join(host, 'out-running');
    await mkdir(out);
    await docker(['exec', id, 'sh', '-c', 'mkdir -p /srv/data/deep && echo x > /srv/data/x && echo y > /srv/data/deep/y']);
    await docker(['cp', `${id}:/srv/data`, join(out, 'copy')]); // new name
    await docker(['cp', `${id}:/srv/data`, out]); // into an existing directory
    await docker(['cp', `${id}:/srv/data/.`, join(out, 'contents')]); // contents into a new directory
    await docker(['cp', `${id}:/tmp/file.txt`, join(out, 'one.txt')]);
    expect(await readFile(join(out, 'copy', 'deep', 'y'), 'utf8')).toBe('y\n');
    expect(await readFile(join(out, 'data', 'x'), 'utf8')).toBe('x\n');
    expect((await readdir(join(out, 'contents'))).sort()).toEqual(['deep', 'x']);
    expect(await readFile(join(out, 'one.txt'), 'utf8')).toBe('hello from the host\n');
    // `-` streams the tar itself.
    const r = await daemon().docker(['cp', `${id}:/tmp/file.txt`, '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello from the host');
  });

  it('copies into created and exited containers, which then see the files', async () => {
    const created = await container('create');
    const exited = await container('exited');
    for (const id of [created, exited]) {
      await docker(['cp', join(host, 'file.txt'), `${id}:/root/`]);
      await docker(['cp', join(host, 'tree'), `${id}:/tree`]);
      // and back out while it is still stopped
      const out = join(host, `out-${id.slice(0, 12)}`);
      await docker(['cp', `${id}:/tree`, out]);
      expect(await readFile(join(out, 'sub', 'b.txt'), 'utf8')).toBe('b\n');
    }
    await docker(['start', created]);
    expect(await inside(created, 'cat /root/file.txt /tree/a.txt')).toBe('hello from the host\na\n');
    const id = (await docker(['commit', exited])).trim(); // the exited one's layer holds them too
    const check = await docker(['run', '--rm', '--network', 'none', id, 'cat', '/root/file.txt', '/tree/sub/b.txt']);
    expect(check).toBe('hello from the host\nb\n');
    await docker(['rmi', id]);
  });

  it('copies into a named volume of a stopped container, which the volume keeps', async () => {
    const id = await container('create', ['-v', 'cp-vol:/data']);
    await docker(['cp', join(host, 'file.txt'), `${id}:/data/`]);
    // Not in the container's own layer: in the volume.
    const other = await docker(['run', '--rm', '--network', 'none', '-v', 'cp-vol:/v', TEST_IMAGE, 'cat', '/v/file.txt']);
    expect(other).toBe('hello from the host\n');
    const out = join(host, 'from-volume.txt');
    await docker(['cp', `${id}:/data/file.txt`, out]);
    expect(await readFile(out, 'utf8')).toBe('hello from the host\n');
    await docker(['rm', id]);
    made.splice(made.indexOf(id), 1);
    await docker(['volume', 'rm', 'cp-vol']);
  });

  it('copies a symlink as the link, and what it points at with -L', async () => {
    const id = await container('run');
    await docker(['exec', id, 'sh', '-c', 'echo target > /tmp/target.txt && ln -s target.txt /tmp/link && ln -s /tmp/link /tmp/chain']);
    const out = join(host, 'links');
    await mkdir(out);
    await docker(['cp', `${id}:/tmp/link`, join(out, 'as-link')]);
    expect((await lstat(join(out, 'as-link'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(out, 'as-link'))).toBe('target.txt');
    await docker(['cp', '-L', `${id}:/tmp/chain`, join(out, 'followed')]);
    expect((await lstat(join(out, 'followed'))).isFile()).toBe(true);
    expect(await readFile(join(out, 'followed'), 'utf8')).toBe('target\n');
    // The stat header resolves the whole chain, as Docker's does.
    const s = await stat(id, '/tmp/chain');
    expect(s.stat?.linkTarget).toBe('/tmp/target.txt');
    expect((s.stat?.mode ?? 0) >= GO_SYMLINK && ((s.stat?.mode ?? 0) & 0o777) === 0o777).toBe(true);
    // Into a link to a directory: the CLI follows it and the files land in the directory.
    await docker(['exec', id, 'sh', '-c', 'mkdir /tmp/real && ln -s /tmp/real /tmp/dirlink']);
    await docker(['cp', join(host, 'file.txt'), `${id}:/tmp/dirlink`]);
    expect(await inside(id, 'cat /tmp/real/file.txt')).toBe('hello from the host\n');
  });

  it('keeps the owners of the files copied in, and gives them the container user with -a', async () => {
    const file = join(host, 'owned.txt');
    await writeFile(file, 'owned\n');
    chownSync(file, 4321, 4322);
    const id = await container('run', ['-u', 'berth']);
    await docker(['cp', file, `${id}:/tmp/kept.txt`]);
    await docker(['cp', '-a', file, `${id}:/tmp/mine.txt`]);
    expect(await ownerOf(id, '/tmp/kept.txt')).toBe('4321:4322');
    expect(await ownerOf(id, '/tmp/mine.txt')).toBe('1000:1000');
    // A stopped container resolves its user the same way.
    const stopped = await container('create', ['-u', 'nobody']);
    await docker(['cp', '-a', file, `${stopped}:/tmp/mine.txt`]);
    expect(await ownerOf(stopped, '/tmp/mine.txt')).toBe('65534:65534');
  });

  it('stats, archives and extracts through dockerode (HEAD, GET, PUT)', async () => {
    const id = await container('create');
    const c = daemon().dockerode.getContainer(id);
    await c.putArchive(await makeTar([
      { name: 'put/', type: 'directory', mode: 0o750 },
      { name: 'put/hello.txt', content: 'hi there', mode: 0o640 },
    ]), { path: '/tmp' });
    const s = await stat(id, '/tmp/put/hello.txt');
    expect(s.status).toBe(200);
    expect(s.stat).toMatchObject({ name: 'hello.txt', size: 8, mode: 0o640, linkTarget: '' });
    expect(s.stat?.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const dir = await stat(id, '/tmp/put');
    expect(dir.stat?.mode).toBe(GO_DIR + 0o750);
    const res = (await c.getArchive({ path: '/tmp/put' })) as IncomingMessage;
    expect(res.headers['content-type']).toBe('application/x-tar');
    expect(JSON.parse(Buffer.from(String(res.headers['x-docker-container-path-stat']), 'base64').toString())).toMatchObject({ name: 'put' });
    const entries = await readTar(res);
    expect(entries.map((e) => [e.name.replace(/\/$/, ''), e.type])).toEqual([['put', 'directory'], ['put/hello.txt', 'file']]);
    expect(entries[1]?.content.toString()).toBe('hi there');
    // `dir/.` sends the contents, named `./...`, as Docker does.
    const contents = await readTar((await c.getArchive({ path: '/tmp/put/.' })) as IncomingMessage);
    expect(contents.map((e) => e.name)).toEqual(['./hello.txt']);
    // A gzip body is accepted too.
    const { gzipSync } = await import('node:zlib');
    await c.putArchive(gzipSync(await makeTar([{ name: 'zipped.txt', content: 'z' }])), { path: '/tmp/put' });
    expect((await stat(id, '/tmp/put/zipped.txt')).stat?.size).toBe(1);
  });

  it('answers as Docker does for a missing path, a file as the target, a non-directory clash and a read-only rootfs', async () => {
    const id = await container('run');
    const missing = await daemon().docker(['cp', `${id}:/no/such/file`, join(host, 'x')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`Could not find the file /no/such/file in container ${id}`);
    expect((await stat(id, '/nope')).status).toBe(404);
    const into = await daemon().docker(['cp', join(host, 'tree'), `${id}:/etc/passwd`]);
    expect(into.code).not.toBe(0);
    expect(into.stderr).toMatch(/cannot copy directory/);
    const c = daemon().dockerode.getContainer(id);
    const notDir = await c.putArchive(await makeTar([{ name: 'x', content: 'x' }]), { path: '/etc/passwd' }).catch((err: { statusCode?: number; json?: { message?: string } }) => err);
    expect((notDir as { statusCode?: number }).statusCode).toBe(400);
    expect(JSON.stringify((notDir as { json?: unknown }).json)).toContain('extraction point is not a directory');
    const gone = await c.putArchive(await makeTar([{ name: 'x', content: 'x' }]), { path: '/no/dir' }).catch((err: { statusCode?: number }) => err);
    expect((gone as { statusCode?: number }).statusCode).toBe(404);
    // noOverwriteDirNonDir (the CLI always sends it): a file may not replace a directory.
    const clash = await daemon().docker(['cp', join(host, 'file.txt'), `${id}:/tmp/file-or-dir`]);
    expect(clash.code, clash.stderr).toBe(0);
    await docker(['exec', id, 'sh', '-c', 'rm /tmp/file-or-dir && mkdir /tmp/file-or-dir']);
    const put = await c.putArchive(await makeTar([{ name: 'file-or-dir', content: 'x' }]), { path: '/tmp', noOverwriteDirNonDir: true }).catch((err: { statusCode?: number }) => err);
    expect((put as { statusCode?: number }).statusCode).toBe(400);

    const ro = await container('run', ['--read-only', '--tmpfs', '/scratch']);
    const refused = await daemon().docker(['cp', join(host, 'file.txt'), `${ro}:/tmp/`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('container rootfs is marked read-only');
    const roStopped = await container('create', ['--read-only', '-v', 'cp-ro-vol:/data']);
    expect((await daemon().docker(['cp', join(host, 'file.txt'), `${roStopped}:/`])).stderr).toContain('container rootfs is marked read-only');
    await docker(['cp', join(host, 'file.txt'), `${roStopped}:/data/`]); // its volume is writable
    await docker(['cp', join(host, 'file.txt'), `${ro}:/scratch/`]); // and a running one's tmpfs
    expect(await inside(ro, 'cat /scratch/file.txt')).toBe('hello from the host\n');
    await docker(['rm', '-f', '-v', roStopped]);
    made.splice(made.indexOf(roStopped), 1);
    await docker(['volume', 'rm', 'cp-ro-vol']);
    const roVolume = await container('create', ['-v', 'cp-rov:/ro:ro']);
    expect((await daemon().docker(['cp', join(host, 'file.txt'), `${roVolume}:/ro/`])).stderr).toContain('mounted volume is marked read-only');
    await docker(['rm', '-v', roVolume]);
    made.splice(made.indexOf(roVolume), 1);
    await docker(['volume', 'rm', 'cp-rov']);
  });

  it('copies into and out of a paused container', async () => {
    const id = await container('run');
    await docker(['pause', id]);
    try {
      await docker(['cp', join(host, 'file.txt'), `${id}:/tmp/while-paused.txt`]);
      const r = await daemon().docker(['cp', `${id}:/tmp/while-paused.txt`, '-']);
      expect(r.stdout).toContain('hello from the host');
    } finally {
      await docker(['unpause', id]);
    }
    expect(await inside(id, 'cat /tmp/while-paused.txt')).toBe('hello from the host\n');
  });

  it('lets a start wait for a copy into the stopped container, and ends the hold of a client that goes away', async () => {
    const id = await container('create');
    // A 64 MiB file in the stopped container's layer, read by a client that stops after the head.
    await daemon().dockerode.getContainer(id).putArchive(await makeTar([{ name: 'big.bin', content: Buffer.alloc(64 << 20, 7) }]), { path: '/' });
    const res = await httpStream(daemon().socket, 'GET', `/containers/${id}/archive?path=/big.bin`);
    expect(res.statusCode).toBe(200);
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    res.destroy();
    // The hold goes with the connection: the container can start (its layer is free) and be copied into.
    await expect.poll(async () => (await holdProcesses()).length, { timeout: 10_000 }).toBe(0);
    // An upload cut off mid-tar ends its (writable) hold as well.
    const { PassThrough } = await import('node:stream');
    const cut = new PassThrough();
    const cutReply = httpStream(daemon().socket, 'PUT', `/containers/${id}/archive?path=/tmp`, { body: cut }).catch(() => undefined);
    cut.write((await makeTar([{ name: 'never.txt', content: Buffer.alloc(4096, 1) }])).subarray(0, 1024));
    await expect.poll(async () => (await holdProcesses()).length, { timeout: 10_000 }).toBe(1);
    cut.destroy(new Error('the client went away'));
    await cutReply;
    await expect.poll(async () => (await holdProcesses()).length, { timeout: 10_000 }).toBe(0);
    // A start while a slow upload holds the layer waits for it, then sees the file.
    const upload = (async () => {
      const body = new PassThrough();
      const pending = httpStream(daemon().socket, 'PUT', `/containers/${id}/archive?path=/tmp`, { body, headers: { 'Content-Type': 'application/x-tar' } });
      const tar = await makeTar([{ name: 'slow.txt', content: 'slow' }]);
      body.write(tar.subarray(0, 512));
      await new Promise((r) => setTimeout(r, 800));
      body.end(tar.subarray(512));
      const res = await pending;
      return { status: res.statusCode, at: Date.now() };
    })();
    await new Promise((r) => setTimeout(r, 300));
    await docker(['start', id]);
    const started = Date.now();
    const uploaded = await upload;
    expect(uploaded.status).toBe(200);
    expect(uploaded.at).toBeLessThanOrEqual(started); // the start waited for the upload's hold
    expect(await inside(id, 'cat /tmp/slow.txt')).toBe('slow');
  });
});

/** uid:gid of a file in a container, from the tar GET /archive sends. */
async function ownerOfIn(dockerode: Dockerode, id: string, path: string): Promise<string> {
  const extract = tar.extract();
  let owner = '';
  extract.on('entry', (header, stream, next) => {
    owner ||= `${header.uid ?? -1}:${header.gid ?? -1}`;
    stream.on('end', next);
    stream.resume();
  });
  await pipeline((await dockerode.getContainer(id).getArchive({ path })) as IncomingMessage, extract);
  return owner;
}

/** `berth-hold` processes of any daemon this test process started. */
async function holdProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const comm = await readFile(`/proc/${name}/comm`, 'utf8').catch(() => '');
    if (comm.startsWith('berth-hold')) {
      const env = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
      if (env.includes(`BERTH_TEST_OWNER=${process.env.BERTH_TEST_OWNER ?? ''}`)) pids.push(Number(name));
    }
  }
  return pids;
}

