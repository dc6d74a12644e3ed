import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browseUrl, httpCall, httpStream, makeTar, readTar, type HttpOptions } from '../support/berth-http.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// The browse API (/berth/volumes/{name}/… and /berth/containers/{id}/…, docs/berth-api.md):
// every operation on a volume, checked against what a container mounting it sees, and the
// read-only view of a container's filesystem, running and stopped.

interface Entry {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
  linkTarget?: string;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('browse API', () => {
  const daemon = useDaemon({ image: 'oci' });
  const VOL = 'browse-data';
  const call = (method: string, op: string, params: Record<string, string>, opts?: HttpOptions) =>
    httpCall(daemon().socket, method, browseUrl('volumes', VOL, op, params), opts);
  /** Runs a script in a container with the volume at /data; returns its stdout. */
  const inVolume = async (script: string): Promise<string> => {
    const r = await daemon().docker(['run', '--rm', '--network', 'none', '-v', `${VOL}:/data`, TEST_IMAGE, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    const r = await daemon().docker(['volume', 'create', VOL]);
    expect(r.code, r.stderr).toBe(0);
    await inVolume(
      'mkdir -p /data/docs/sub && printf hello-world > /data/docs/hello.txt && ' +
        'chown 1000:1001 /data/docs/hello.txt && chmod 640 /data/docs/hello.txt && ' +
        "touch -d '2024-05-01 10:20:30' /data/docs/hello.txt && ln -s hello.txt /data/docs/current && " +
        'seq 1 2000 > /data/numbers.txt && : > /data/empty',
    );
  });

  afterAll(async () => {
    await daemon().docker(['volume', 'rm', '-f', VOL]);
  });

  describe('a volume', () => {
    it('lists a folder: name, type, size, mode, owner, mtime and link target', async () => {
      const r = await call('GET', 'directory', { path: '/docs' });
      expect(r.status, r.text).toBe(200);
      const { path, entries } = r.json<{ path: string; entries: Entry[] }>();
      expect(path).toBe('/docs');
      expect(entries.map((e) => e.name)).toEqual(['current', 'hello.txt', 'sub']);
      const [link, file, dir] = entries as [Entry, Entry, Entry];
      expect(file).toEqual({ name: 'hello.txt', type: 'file', size: 11, mode: 0o640, uid: 1000, gid: 1001, mtime: '2024-05-01T10:20:30.000Z' });
      expect(link).toMatchObject({ name: 'current', type: 'symlink', linkTarget: 'hello.txt', size: 9 });
      expect(dir).toMatchObject({ name: 'sub', type: 'directory', mode: 0o755, uid: 0, gid: 0 });
      expect(dir.mtime).toMatch(RFC3339);

      const root = await call('GET', 'directory', { path: '/' });
      expect(root.json<{ entries: Entry[] }>().entries.map((e) => e.name)).toEqual(['docs', 'empty', 'numbers.txt']);
      // Relative paths are relative to the root as well.
      expect((await call('GET', 'directory', { path: 'docs/sub' })).json<{ entries: Entry[] }>().entries).toEqual([]);
    });

    it('describes one entry: a link itself, or with follow=1 what it points to', async () => {
      const link = await call('GET', 'entry', { path: '/docs/current' });
      expect(link.status).toBe(200);
      expect(link.json<Entry>()).toMatchObject({ name: 'current', type: 'symlink', linkTarget: 'hello.txt' });
      const followed = await call('GET', 'entry', { path: '/docs/current', follow: '1' });
      expect(followed.json<Entry>()).toMatchObject({ type: 'file', size: 11, uid: 1000 });
      const root = await call('GET', 'entry', { path: '/' });
      expect(root.json<Entry>()).toMatchObject({ name: '/', type: 'directory' });
    });

    it('streams a file whole or one byte range (206, Content-Range), and 416 for a range outside it', async () => {
      const numbers = (await inVolume('cat /data/numbers.txt'));
      const size = Buffer.byteLength(numbers);
      const whole = await call('GET', 'content', { path: '/numbers.txt' });
      expect(whole.status).toBe(200);
      expect(whole.text).toBe(numbers);
      expect(whole.headers['content-length']).toBe(String(size));
      expect(whole.headers['accept-ranges']).toBe('bytes');
      expect(whole.headers['content-type']).toBe('application/octet-stream');
      expect(whole.headers['content-disposition']).toBe(`attachment; filename="numbers.txt"; filename*=UTF-8''numbers.txt`);

      const range = async (spec: string) => call('GET', 'content', { path: '/numbers.txt' }, { headers: { Range: spec } });
      const first = await range('bytes=0-9');
      expect(first.status).toBe(206);
      expect(first.text).toBe(numbers.slice(0, 10));
      expect(first.headers['content-range']).toBe(`bytes 0-9/${size}`);
      expect(first.headers['content-length']).toBe('10');
      const middle = await range('bytes=100-199');
      expect(middle.text).toBe(numbers.slice(100, 200));
      const tail = await range('bytes=-6');
      expect(tail.text).toBe(numbers.slice(-6));
      expect(tail.headers['content-range']).toBe(`bytes ${size - 6}-${size - 1}/${size}`);
      const open = await range(`bytes=${size - 5}-`);
      expect(open.text).toBe(numbers.slice(-5));
      const clipped = await range(`bytes=${size - 3}-99999999`);
      expect(clipped.status).toBe(206);
      expect(clipped.headers['content-range']).toBe(`bytes ${size - 3}-${size - 1}/${size}`);

      const outside = await range(`bytes=${size}-`);
      expect(outside.status).toBe(416);
      expect(outside.headers['content-range']).toBe(`bytes */${size}`);
      expect(outside.message).toMatch(/outside the file/);
      for (const bad of ['bytes=0-1,5-6', 'bytes=9-3', 'lines=1-2', 'bytes=abc']) {
        const r = await range(bad);
        expect(r.status, bad).toBe(416);
        expect(r.message, bad).toMatch(/range|Range/);
      }
      const emptyFile = await call('GET', 'content', { path: '/empty' }, { headers: { Range: 'bytes=-5' } });
      expect(emptyFile.status).toBe(416);
      const empty = await call('GET', 'content', { path: '/empty' });
      expect([empty.status, empty.body.length]).toEqual([200, 0]);

      // HEAD: the same headers, no body.
      const head = await call('HEAD', 'content', { path: '/numbers.txt' }, { headers: { Range: 'bytes=0-9' } });
      expect([head.status, head.headers['content-range'], head.body.length]).toEqual([206, `bytes 0-9/${size}`, 0]);
      // A final link inside the volume is followed.
      expect((await call('GET', 'content', { path: '/docs/current' })).text).toBe('hello-world');
    });

    it('downloads a file or a folder as a tar, with a safe file name', async () => {
      const res = await httpStream(daemon().socket, 'GET', browseUrl('volumes', VOL, 'archive', { path: '/docs' }));
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-tar');
      expect(res.headers['content-disposition']).toBe(`attachment; filename="docs.tar"; filename*=UTF-8''docs.tar`);
      const entries = await readTar(res);
      const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
      expect([...byName.keys()].sort()).toEqual(['docs', 'docs/current', 'docs/hello.txt', 'docs/sub']);
      expect(byName.get('docs/hello.txt')?.content.toString()).toBe('hello-world');
      expect(byName.get('docs/current')).toMatchObject({ type: 'symlink', linkname: 'hello.txt' });

      const whole = await httpStream(daemon().socket, 'GET', browseUrl('volumes', VOL, 'archive', { path: '/' }));
      expect(whole.headers['content-disposition']).toContain(`filename="${VOL}.tar"`);
      // The root's top entry is named after the volume.
      const wholeNames = (await readTar(whole)).map((e) => e.name.replace(/\/$/, ''));
      expect(wholeNames).toEqual(expect.arrayContaining([VOL, `${VOL}/numbers.txt`, `${VOL}/docs/hello.txt`]));
      expect(wholeNames.every((n) => n === VOL || n.startsWith(`${VOL}/`))).toBe(true);

      // A name with quotes, a newline and non-ASCII characters: the header stays one safe line.
      const odd = 'we"ird\nname é.txt';
      expect((await call('PUT', 'content', { path: `/${odd}` }, { body: 'x' })).status).toBe(201);
      const r = await call('GET', 'content', { path: `/${odd}` });
      expect(r.headers['content-disposition']).toBe(`attachment; filename="we_ird_name _.txt"; filename*=UTF-8''we%22ird%0Aname%20%C3%A9.txt`);
      expect((await call('DELETE', 'entry', { path: `/${odd}` })).status).toBe(204);
    });

    it('uploads a file (streamed body) that a container then reads; overwrites only when asked', async () => {
      const body = Readable.from([Buffer.from('first '), Buffer.from('upload\n')]); // chunked
      const created = await call('PUT', 'content', { path: '/docs/up.txt' }, { body });
      expect(created.status, created.text).toBe(201);
      expect(created.json<Entry>()).toMatchObject({ name: 'up.txt', type: 'file', size: 13, mode: 0o644, uid: 0 });
      expect(await inVolume('cat /data/docs/up.txt; stat -c %a /data/docs/up.txt')).toBe('first upload\n644\n');

      const again = await call('PUT', 'content', { path: '/docs/up.txt' }, { body: 'second\n' });
      expect(again.status).toBe(409);
      expect(again.message).toMatch(/overwrite/);
      expect(await inVolume('cat /data/docs/up.txt')).toBe('first upload\n');

      const replaced = await call('PUT', 'content', { path: '/docs/up.txt', overwrite: '1', mode: '0600' }, { body: 'second\n' });
      expect(replaced.status, replaced.text).toBe(200);
      expect(await inVolume('cat /data/docs/up.txt; stat -c %a /data/docs/up.txt')).toBe('second\n600\n');
      // Nothing else was left in the folder (no temporary names).
      expect(await inVolume('ls -A /data/docs')).toBe('current\nhello.txt\nsub\nup.txt\n');
    });

    it('creates a folder, renames and deletes, as a container sees it', async () => {
      const made = await call('POST', 'directory', { path: '/work', mode: '0750' });
      expect(made.status, made.text).toBe(201);
      expect(made.json<Entry>()).toMatchObject({ name: 'work', type: 'directory', mode: 0o750 });
      expect((await call('POST', 'directory', { path: '/work' })).status).toBe(409);
      expect((await call('POST', 'directory', { path: '/no/such/parent' })).status).toBe(404);
      expect((await call('PUT', 'content', { path: '/work/a.txt' }, { body: 'A' })).status).toBe(201);
      expect((await call('PUT', 'content', { path: '/work/b.txt' }, { body: 'B' })).status).toBe(201);

      expect((await call('POST', 'rename', { from: '/work/a.txt', to: '/work/c.txt' })).status).toBe(204);
      const clash = await call('POST', 'rename', { from: '/work/b.txt', to: '/work/c.txt' });
      expect(clash.status).toBe(409);
      expect((await call('POST', 'rename', { from: '/work', to: '/moved' })).status).toBe(204);
      expect(await inVolume('stat -c %a /data/moved; ls /data/moved; cat /data/moved/c.txt')).toBe('750\nb.txt\nc.txt\nA');

      expect((await call('DELETE', 'entry', { path: '/moved/b.txt' })).status).toBe(204);
      expect((await call('DELETE', 'entry', { path: '/moved' })).status).toBe(204); // with its contents
      expect((await call('DELETE', 'entry', { path: '/moved' })).status).toBe(404);
      expect(await inVolume('ls -A /data')).toBe('docs\nempty\nnumbers.txt\n');
    });

    it('extracts an uploaded tar into a folder', async () => {
      const archive = await makeTar([
        { name: 'pkg/', type: 'directory' },
        { name: 'pkg/bin/', type: 'directory' },
        { name: 'pkg/bin/run', content: '#!/bin/sh\necho ran\n', mode: 0o755 },
        { name: 'pkg/README', content: 'read me' },
        { name: 'pkg/latest', type: 'symlink', linkname: 'README' },
      ]);
      const r = await call('PUT', 'archive', { path: '/docs/sub' }, { body: archive });
      expect(r.status, r.text).toBe(200);
      expect(r.json<{ files: number; bytes: number }>()).toEqual({ files: 5, bytes: 26 });
      expect(await inVolume('/data/docs/sub/pkg/bin/run && cat /data/docs/sub/pkg/latest')).toBe('ran\nread me');
      expect((await call('DELETE', 'entry', { path: '/docs/sub/pkg' })).status).toBe(204);
    });

    it('answers mistakes with a 4xx that says what to fix', async () => {
      const expectError = async (p: Promise<{ status: number; message: string }>, status: number, message: RegExp) => {
        const r = await p;
        expect(r.status).toBe(status);
        expect(r.message).toMatch(message);
      };
      await expectError(call('GET', 'directory', {}), 400, /missing query parameter "path"/);
      await expectError(call('POST', 'rename', { from: '/docs' }), 400, /missing query parameter "to"/);
      await expectError(call('GET', 'directory', { path: '/nope' }), 404, /nope/);
      await expectError(call('GET', 'directory', { path: '/numbers.txt' }), 400, /numbers\.txt/);
      await expectError(call('GET', 'content', { path: '/docs' }), 400, /directory/);
      await expectError(call('POST', 'directory', { path: '/x', mode: 'rwx' }), 400, /mode/);
      await expectError(call('PUT', 'content', { path: '/x', overwrite: 'maybe' }, { body: 'x' }), 400, /overwrite/);
      await expectError(call('PUT', 'content', { path: '/docs' }, { body: 'x', }), 409, /docs/);
      await expectError(call('PUT', 'content', { path: '/docs', overwrite: '1' }, { body: 'x' }), 400, /directory/);
      await expectError(call('DELETE', 'entry', { path: '/' }), 400, /root/);
      await expectError(
        httpCall(daemon().socket, 'GET', browseUrl('volumes', 'no-such-volume', 'directory', { path: '/' })),
        404,
        /no-such-volume/,
      );
      expect(await inVolume('ls -A /data')).toBe('docs\nempty\nnumbers.txt\n');
    });
  });

  describe("a container's filesystem", () => {
    const get = (ref: string, op: string, params: Record<string, string>) =>
      httpCall(daemon().socket, 'GET', browseUrl('containers', ref, op, params));
    const names = async (ref: string, path: string): Promise<string[]> => {
      const r = await get(ref, 'directory', { path });
      expect(r.status, r.text).toBe(200);
      return r.json<{ entries: Entry[] }>().entries.map((e) => e.name);
    };

    it('lists / and /etc of a running container and reads what its processes wrote', async () => {
      const run = await daemon().docker(['run', '-d', '--name', 'browse-live', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo live > /tmp/made-here; sleep 300']);
      expect(run.code, run.stderr).toBe(0);
      try {
        expect(await names('browse-live', '/')).toEqual(expect.arrayContaining(['bin', 'etc', 'proc', 'tmp']));
        expect(await names('browse-live', '/etc')).toEqual(expect.arrayContaining(['hostname', 'hosts', 'passwd']));
        const passwd = await daemon().docker(['exec', 'browse-live', 'cat', '/etc/passwd']);
        expect((await get('browse-live', 'content', { path: '/etc/passwd' })).text).toBe(passwd.stdout);
        for (let i = 0; i < 50 && (await get('browse-live', 'entry', { path: '/tmp/made-here' })).status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        expect((await get('browse-live', 'content', { path: '/tmp/made-here' })).text).toBe('live\n');
        // /bin/sh -> /bin/busybox (absolute) resolves inside the container.
        const sh = await get('browse-live', 'entry', { path: '/bin/sh' });
        expect(sh.json<Entry>()).toMatchObject({ type: 'symlink' });
        expect((await get('browse-live', 'entry', { path: '/bin/sh', follow: '1' })).json<Entry>()).toMatchObject({ type: 'file' });
        const tarRes = await httpStream(daemon().socket, 'GET', browseUrl('containers', 'browse-live', 'archive', { path: '/etc/hostname' }));
        expect(tarRes.headers['content-disposition']).toContain('filename="hostname.tar"');
        expect((await readTar(tarRes)).map((e) => e.name)).toEqual(['hostname']);
      } finally {
        await daemon().docker(['rm', '-f', 'browse-live']);
      }
    });

    it('lists and reads a stopped container: its image and its own layer', async () => {
      const run = await daemon().docker(['run', '--name', 'browse-stopped', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo kept > /etc/written']);
      expect(run.code, run.stderr).toBe(0);
      try {
        expect(await names('browse-stopped', '/')).toEqual(expect.arrayContaining(['bin', 'etc', 'tmp']));
        expect(await names('browse-stopped', '/etc')).toEqual(expect.arrayContaining(['passwd', 'written']));
        expect((await get('browse-stopped', 'content', { path: '/etc/written' })).text).toBe('kept\n');
        // By ID prefix as well as by name.
        const id = (await daemon().docker(['inspect', '-f', '{{.Id}}', 'browse-stopped'])).stdout.trim();
        expect(await names(id.slice(0, 12), '/etc')).toContain('written');
        expect((await get('no-such-container', 'directory', { path: '/' })).status).toBe(404);
      } finally {
        await daemon().docker(['rm', '-f', 'browse-stopped']);
      }
    });

    it('refuses every change with 403 and a message, and changes nothing', async () => {
      const run = await daemon().docker(['run', '-d', '--name', 'browse-ro', '--network', 'none', TEST_IMAGE, 'sleep', '300']);
      expect(run.code, run.stderr).toBe(0);
      try {
        const url = (op: string, params: Record<string, string>) => browseUrl('containers', 'browse-ro', op, params);
        const attempts: [string, string][] = [
          ['PUT', url('content', { path: '/etc/evil' })],
          ['PUT', url('archive', { path: '/etc' })],
          ['POST', url('directory', { path: '/evil' })],
          ['POST', url('rename', { from: '/etc/passwd', to: '/etc/moved' })],
          ['DELETE', url('entry', { path: '/etc/passwd' })],
        ];
        for (const [method, path] of attempts) {
          const r = await httpCall(daemon().socket, method, path, { body: 'data' });
          expect(r.status, `${method} ${path}`).toBe(403);
          expect(r.message).toMatch(/read-only/);
          expect(r.message).toMatch(/docker cp/);
        }
        const check = await daemon().docker(['exec', 'browse-ro', 'sh', '-c', 'ls /etc/evil /evil /etc/moved 2>&1; cat /etc/passwd | head -1']);
        expect(check.stdout).not.toMatch(/^\/etc\/evil$|^\/evil$/m);
        expect(check.stdout).toMatch(/^root:/m);
        const missing = await httpCall(daemon().socket, 'DELETE', browseUrl('containers', 'nope', 'entry', { path: '/x' }));
        expect(missing.status).toBe(404);
      } finally {
        await daemon().docker(['rm', '-f', 'browse-ro']);
      }
    });
  });
});
