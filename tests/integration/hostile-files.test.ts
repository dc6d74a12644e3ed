import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browseUrl, httpCall, httpStream, makeTar, readTar, type HttpOptions, type TarEntrySpec } from '../support/berth-http.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// The hostile-input suite, at the API level, for the archive API (`docker cp`:
// PUT/GET/HEAD /containers/{id}/archive through dockerode) and the browse API
// (/berth/volumes/…, /berth/containers/…): traversal, symlink escapes, hardlinks, device
// files, huge names, tars with `../` names. Each answer must be a clear 4xx (or land inside
// the root), and a canary folder on the host, next to the data root, must keep its exact
// contents, modes, link counts and mtimes. Last, 1 GiB streamed up and down with berthd's
// memory sampled every 100 ms: it must stay flat.

/** Everything about a tree that a write, a link or a touch would change. */
async function snapshotTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, rel: string): Promise<void> => {
    const st = await lstat(path);
    let digest = '';
    if (st.isFile()) digest = createHash('sha256').update(await readFile(path)).digest('hex');
    out.push(`${rel} mode=${st.mode.toString(8)} size=${st.size} nlink=${st.nlink} mtime=${st.mtimeMs} uid=${st.uid} ${digest}`);
    if (st.isDirectory()) for (const name of (await readdir(path)).sort()) await walk(join(path, name), `${rel}/${name}`);
  };
  await walk(dir, '.');
  return out;
}

/** A host file's identity and state: a hardlink or a write through a link would show here. */
async function fileState(path: string): Promise<string> {
  const st = await lstat(path);
  return `${st.ino} nlink=${st.nlink} size=${st.size} mtime=${st.mtimeMs}`;
}

const GiB = 1024 * 1024 * 1024;
const MB = 1_000_000;

describe('hostile input: archive and browse APIs', () => {
  const daemon = useDaemon({ image: 'oci' });
  const VOL = 'hostile-vol';
  let canary = '';
  let canaryBefore: string[] = [];
  let hostPasswdBefore = '';
  /** From a volume's `_data` (<data-root>/volumes/<name>/_data) up to the canary. */
  const REL_CANARY = '../../../../canary';
  /** From anywhere (a container's root included) up to the host's / and down to the canary. */
  const deepCanary = (): string => '../'.repeat(16) + canary.slice(1);

  const vcall = (method: string, op: string, params: Record<string, string>, opts?: HttpOptions) =>
    httpCall(daemon().socket, method, browseUrl('volumes', VOL, op, params), opts);
  const inVolume = async (script: string): Promise<string> => {
    const r = await daemon().docker(['run', '--rm', '--network', 'none', '-v', `${VOL}:/data`, TEST_IMAGE, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  const expect4xx = (r: { status: number; message: string }, status: number | number[], what: string): void => {
    const allowed = Array.isArray(status) ? status : [status];
    expect(allowed, `${what}: ${r.status} ${r.message}`).toContain(r.status);
    expect(r.message.length, `${what}: an error message`).toBeGreaterThan(10);
  };

  beforeAll(async () => {
    canary = join(daemon().root, 'canary');
    await mkdir(join(canary, 'sub'), { recursive: true });
    await writeFile(join(canary, 'secret.txt'), 'canary secret\n', { mode: 0o600 });
    await writeFile(join(canary, 'sub', 'nested.txt'), 'nested\n');
    const past = new Date('2020-02-02T02:02:02Z');
    for (const p of [join(canary, 'sub', 'nested.txt'), join(canary, 'secret.txt'), join(canary, 'sub'), canary]) await utimes(p, past, past);
    canaryBefore = await snapshotTree(canary);
    hostPasswdBefore = await fileState('/etc/passwd');

    expect((await daemon().docker(['volume', 'create', VOL])).code).toBe(0);
    await inVolume(
      'echo inside > /data/inside.txt && mkdir /data/dir && ' +
        `ln -s /etc /data/etc-link && ln -s ../../.. /data/up && ln -s ${canary} /data/canary-abs && ` +
        `ln -s ${REL_CANARY} /data/canary-rel && ln -s ${REL_CANARY}/secret.txt /data/secret-rel`,
    );
  });

  afterEach(async () => {
    expect(await snapshotTree(canary), 'the canary next to the data root is untouched').toEqual(canaryBefore);
    expect(await fileState('/etc/passwd'), "the host's /etc/passwd is untouched").toBe(hostPasswdBefore);
  });

  afterAll(async () => {
    await daemon().docker(['volume', 'rm', '-f', VOL]);
    if (canary !== '') await rm(canary, { recursive: true, force: true });
  });

  describe('browse API on a volume', () => {
    it('refuses traversal with ../ and %2e%2e (403); absolute paths mean the volume', async () => {
      for (const path of [`${REL_CANARY}/secret.txt`, `dir/../${REL_CANARY}/secret.txt`, `/../../../../canary/secret.txt`, '..']) {
        expect4xx(await vcall('GET', 'content', { path }), [403], `content ${path}`);
        expect4xx(await vcall('GET', 'entry', { path }), [403], `entry ${path}`);
      }
      // %2e%2e in the query is `..` once decoded: refused the same.
      const encoded = await httpCall(daemon().socket, 'GET', `/berth/volumes/${VOL}/content?path=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fcanary%2fsecret.txt`);
      expect4xx(encoded, 403, 'percent-encoded ..');
      // Double-encoded, it is a name that does not exist here.
      expect4xx(await httpCall(daemon().socket, 'GET', `/berth/volumes/${VOL}/content?path=%252e%252e%2fsecret.txt`), 404, 'double-encoded');
      // `..` in the URL path is normalised away before routing; it never reaches a file.
      const urlDots = await httpCall(daemon().socket, 'GET', `/berth/volumes/${VOL}/../../../../../etc/passwd`);
      expect(urlDots.status).toBe(404);
      expect(urlDots.text).not.toMatch(/root:x:0:0/);
      // An absolute path names the volume's own /etc/passwd, which does not exist: never the host's.
      expect4xx(await vcall('GET', 'content', { path: '/etc/passwd' }), 404, 'absolute path');

      expect4xx(await vcall('PUT', 'content', { path: `${REL_CANARY}/new.txt` }, { body: 'x' }), 403, 'upload');
      expect4xx(await vcall('PUT', 'content', { path: `${REL_CANARY}/secret.txt`, overwrite: '1' }, { body: 'x' }), 403, 'overwrite');
      expect4xx(await vcall('POST', 'directory', { path: `${REL_CANARY}/newdir` }), 403, 'mkdir');
      expect4xx(await vcall('POST', 'rename', { from: 'inside.txt', to: `${REL_CANARY}/moved.txt` }), 403, 'rename out');
      expect4xx(await vcall('POST', 'rename', { from: `${REL_CANARY}/secret.txt`, to: 'stolen.txt' }), 403, 'rename in');
      expect4xx(await vcall('DELETE', 'entry', { path: `${REL_CANARY}/secret.txt` }), 403, 'delete');
      expect4xx(await vcall('DELETE', 'entry', { path: '..' }), [400, 403], 'delete ..');
      expect4xx(await vcall('GET', 'archive', { path: REL_CANARY }), 403, 'archive');
      expect4xx(await vcall('PUT', 'archive', { path: REL_CANARY }, { body: await makeTar([{ name: 'x', content: 'x' }]) }), 403, 'extract');
      expect(await inVolume('ls /data')).toBe('canary-abs\ncanary-rel\ndir\netc-link\ninside.txt\nsecret-rel\nup\n');
    });

    it('refuses symlinks that leave the volume (to /etc, to ../../.., to the canary), reading and writing', async () => {
      for (const path of ['etc-link/passwd', 'up/etc/passwd', 'canary-abs/secret.txt', 'canary-rel/secret.txt', 'secret-rel']) {
        expect4xx(await vcall('GET', 'content', { path }), 403, `read ${path}`);
      }
      for (const path of ['etc-link', 'up', 'canary-abs', 'canary-rel']) {
        expect4xx(await vcall('GET', 'directory', { path }), 403, `list ${path}`);
        expect4xx(await vcall('GET', 'entry', { path, follow: '1' }), 403, `follow ${path}`);
      }
      // The link itself is described, not followed.
      const link = await vcall('GET', 'entry', { path: 'etc-link' });
      expect(link.json<{ type: string; linkTarget: string }>()).toMatchObject({ type: 'symlink', linkTarget: '/etc' });

      expect4xx(await vcall('PUT', 'content', { path: 'canary-rel/pwned' }, { body: 'x' }), 403, 'upload through a link');
      expect4xx(await vcall('PUT', 'content', { path: 'canary-abs/secret.txt', overwrite: '1' }, { body: 'x' }), 403, 'overwrite through a link');
      expect4xx(await vcall('POST', 'directory', { path: 'canary-abs/newdir' }), 403, 'mkdir through a link');
      expect4xx(await vcall('POST', 'rename', { from: 'inside.txt', to: 'canary-rel/inside.txt' }), 403, 'rename through a link');
      expect4xx(await vcall('DELETE', 'entry', { path: 'canary-rel/secret.txt' }), 403, 'delete through a link');
      expect4xx(await vcall('PUT', 'archive', { path: 'canary-rel' }, { body: await makeTar([{ name: 'x', content: 'x' }]) }), 403, 'extract into a link');

      // A tar of the volume keeps the links as links: nothing of /etc or the canary inside.
      const res = await httpStream(daemon().socket, 'GET', browseUrl('volumes', VOL, 'archive', { path: '/' }));
      expect(res.statusCode).toBe(200);
      const entries = await readTar(res);
      const names = entries.map((e) => e.name.replace(/\/$/, ''));
      expect(names.filter((n) => /etc-link\/|canary-(abs|rel)\/|up\//.test(n))).toEqual([]);
      expect(entries.find((e) => e.name.endsWith('canary-abs'))).toMatchObject({ type: 'symlink', linkname: canary });
      expect(Buffer.concat(entries.map((e) => e.content)).toString()).not.toContain('canary secret');

      // Deleting a link deletes the link, never what it points to.
      expect((await vcall('DELETE', 'entry', { path: 'canary-abs' })).status).toBe(204);
      expect((await vcall('DELETE', 'entry', { path: 'up' })).status).toBe(204);
      await inVolume(`ln -s ${canary} /data/canary-abs && ln -s ../../.. /data/up`);
    });

    it('refuses hostile tars: ../ names, a symlink then a file through it, hardlinks out (400)', async () => {
      const put = async (entries: TarEntrySpec[]) => vcall('PUT', 'archive', { path: '/dir' }, { body: await makeTar(entries) });
      expect4xx(await put([{ name: `../../../../../canary/evil.txt`, content: 'evil' }]), 400, '../ name');
      expect4xx(await put([{ name: `ok/../../${REL_CANARY}/evil.txt`, content: 'evil' }]), 400, 'ok/../ name');
      expect4xx(await put([{ name: 'esc', type: 'symlink', linkname: canary }, { name: 'esc/pwned', content: 'evil' }]), 400, 'file through an absolute link');
      expect4xx(await put([{ name: 'esc2', type: 'symlink', linkname: `../${REL_CANARY}` }, { name: 'esc2/pwned', content: 'evil' }]), 400, 'file through a relative link');
      expect4xx(await put([{ name: 'hl', type: 'link', linkname: `../${REL_CANARY}/secret.txt` }]), 400, 'hardlink by ..');
      expect4xx(await put([{ name: 'hl', type: 'link', linkname: `${canary}/secret.txt` }]), 400, 'hardlink by absolute path');
      expect4xx(await put([{ name: 'hl', type: 'link', linkname: '../canary-abs/secret.txt' }]), 400, 'hardlink through a link');
      // An absolute entry name is taken relative to the target folder (as docker cp): inside.
      expect((await put([{ name: `${canary}/abs.txt`, content: 'abs' }])).status).toBe(200);
      expect(await inVolume(`cat /data/dir${canary}/abs.txt`)).toBe('abs');
      await inVolume('rm -rf /data/dir/* /data/dir/.[!.]* 2>/dev/null; true');
    });

    it('device files in a tar are made inside the volume (as docker cp makes them), never outside', async () => {
      const r = await vcall('PUT', 'archive', { path: '/dir' }, {
        body: await makeTar([
          { name: 'null2', type: 'character-device', devmajor: 1, devminor: 3 },
          { name: 'fifo', type: 'fifo' },
        ]),
      });
      expect(r.status, r.message).toBe(200);
      expect(await inVolume('stat -c "%F %t:%T" /data/dir/null2; stat -c %F /data/dir/fifo')).toBe('character special file 1:3\nfifo\n');
      const listed = await vcall('GET', 'directory', { path: '/dir' });
      expect(listed.json<{ entries: { name: string; type: string }[] }>().entries.map((e) => `${e.name}:${e.type}`)).toEqual(['fifo:fifo', 'null2:char-device']);
      // Reading a device or a fifo through the API is refused: only regular files have content.
      expect4xx(await vcall('GET', 'content', { path: '/dir/null2' }), 400, 'content of a device');
      expect4xx(await vcall('GET', 'content', { path: '/dir/fifo' }), 400, 'content of a fifo');
      await inVolume('rm -rf /data/dir/*');
    });

    it('refuses huge names (300 bytes) and paths (5000 bytes) with 400', async () => {
      const long = 'n'.repeat(300);
      const deep = Array.from({ length: 25 }, () => 'd'.repeat(200)).join('/');
      expect4xx(await vcall('PUT', 'content', { path: `/dir/${long}` }, { body: 'x' }), 400, 'upload a 300-byte name');
      expect4xx(await vcall('POST', 'directory', { path: `/dir/${long}` }), 400, 'mkdir a 300-byte name');
      expect4xx(await vcall('GET', 'content', { path: `/${deep}` }), 400, 'read a 5000-byte path');
      expect4xx(await vcall('POST', 'rename', { from: '/inside.txt', to: `/${deep}` }), 400, 'rename to a 5000-byte path');
      expect4xx(await vcall('PUT', 'archive', { path: '/dir' }, { body: await makeTar([{ name: long, content: 'x' }]) }), 400, 'a tar entry of 300 bytes');
      expect4xx(await vcall('PUT', 'archive', { path: '/dir' }, { body: await makeTar([{ name: deep, content: 'x' }]) }), [400, 404], 'a tar entry of 5000 bytes');
      expect(await inVolume('ls -A /data/dir | head -c 300')).not.toContain('nnnnnnnnnn');
    });
  });

  describe('archive API (docker cp) on a container', () => {
    let container: Dockerode.Container;
    const cexec = async (script: string): Promise<string> => {
      const r = await daemon().docker(['exec', 'hostile-c', 'sh', '-c', script]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const getTar = async (path: string) => readTar(Readable.from(await container.getArchive({ path }) as AsyncIterable<Buffer>));
    const putTar = async (path: string, entries: TarEntrySpec[]): Promise<{ status: number; message: string }> => {
      try {
        await container.putArchive(await makeTar(entries), { path });
        return { status: 200, message: '' };
      } catch (err) {
        const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
        return { status: e.statusCode ?? 0, message: e.json?.message ?? e.message ?? '' };
      }
    };
    const failure = async (p: Promise<unknown>): Promise<{ status: number; message: string }> => {
      try {
        await p;
        return { status: 200, message: '' };
      } catch (err) {
        const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
        return { status: e.statusCode ?? 0, message: e.json?.message ?? e.message ?? '' };
      }
    };

    beforeAll(async () => {
      const r = await daemon().docker(['run', '-d', '--name', 'hostile-c', '--network', 'none', TEST_IMAGE, 'sleep', '600']);
      expect(r.code, r.stderr).toBe(0);
      container = daemon().dockerode.getContainer('hostile-c');
      await cexec(`ln -s / /rootlink && ln -s ../../../../../../.. /up && ln -s ${canary} /canlink && mkdir -p /drop`);
    });

    afterAll(async () => {
      await daemon().docker(['rm', '-f', 'hostile-c']);
    });

    it("resolves ../ and absolute paths inside the container, never on the host", async () => {
      const passwd = await cexec('cat /etc/passwd');
      expect(passwd).not.toBe(await readFile('/etc/passwd', 'utf8'));
      for (const path of ['../../../../../../../../etc/passwd', '/up/etc/passwd', '/rootlink/../etc/passwd']) {
        const entries = await getTar(path);
        expect(entries.map((e) => e.content.toString()), path).toEqual([passwd]);
      }
      expect4xx(await failure(container.getArchive({ path: `${deepCanary()}/secret.txt` })), 404, 'GET the canary by ../');
      expect4xx(await failure(container.getArchive({ path: '/canlink/secret.txt' })), 404, 'GET the canary through a link');
      // HEAD (stat) of the link answers about the link inside the container, never a 500.
      expect([200, 404]).toContain((await failure(container.infoArchive({ path: '/canlink' }))).status);
      expect4xx(await putTar('/canlink', [{ name: 'x', content: 'x' }]), 404, 'PUT into a link to the canary');
      // A tar put at ../../.. lands at the container's root.
      expect((await putTar('../../../../../../..', [{ name: 'dropped-at-root', content: 'root' }])).status).toBe(200);
      expect(await cexec('cat /dropped-at-root')).toBe('root');
    });

    it('refuses ../ entry names and links out of the tar (400), keeps hardlinks inside', async () => {
      expect4xx(await putTar('/drop', [{ name: `${deepCanary()}/evil.txt`, content: 'evil' }]), 400, '../ entry');
      expect4xx(await putTar('/drop', [{ name: 'a/../../../../../../../../../../evil.txt', content: 'evil' }]), 400, 'a/../ entry');
      expect4xx(await putTar('/drop', [{ name: 'hl', type: 'link', linkname: `${deepCanary()}/secret.txt` }]), [400, 404], 'hardlink to the canary by ../');
      expect4xx(await putTar('/drop', [{ name: 'hl', type: 'link', linkname: `${canary}/secret.txt` }]), [400, 404], 'hardlink to the canary by absolute path');
      // A hardlink target is a name in the tar's target folder (as Docker's untar): /etc/passwd
      // means /drop/etc/passwd, which is not there; never the host's file, nor the container's.
      expect4xx(await putTar('/drop', [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]), 400, 'hardlink to /etc/passwd');
      // A hardlink to a file of the same tar is made (two names, one inode).
      expect((await putTar('/drop', [{ name: 'orig', content: 'shared' }, { name: 'twin', type: 'link', linkname: 'orig' }])).status).toBe(200);
      expect(await cexec('cat /drop/twin; stat -c %h /drop/orig')).toBe('shared2\n');
      // A symlink then a file through it: in-root, the link can only point into the container,
      // where the canary's path does not exist.
      expect4xx(await putTar('/drop', [{ name: 'esc', type: 'symlink', linkname: canary }, { name: 'esc/pwned', content: 'evil' }]), 400, 'file through a link');
      // Through a link climbing ../../..: the container's own root, as in the container.
      const upThrough = await putTar('/drop', [{ name: 'esc3', type: 'symlink', linkname: '../../../../../../..' }, { name: 'esc3/tmp/up-pwned', content: 'evil' }]);
      expect(upThrough.status, upThrough.message).toBe(200);
      expect(await cexec('cat /tmp/up-pwned')).toBe('evil');
      expect(await cexec('ls /drop')).not.toMatch(/evil/);
    });

    it('makes device files inside the container (as Docker does), never outside', async () => {
      const r = await putTar('/drop', [{ name: 'devnull2', type: 'character-device', devmajor: 1, devminor: 3 }]);
      expect(r.status, r.message).toBe(200);
      expect(await cexec('stat -c "%F %t:%T" /drop/devnull2')).toBe('character special file 1:3\n');
    });

    it('refuses huge names and paths with a 4xx', async () => {
      const long = 'n'.repeat(300);
      const deep = Array.from({ length: 25 }, () => 'd'.repeat(200)).join('/');
      expect4xx(await putTar('/drop', [{ name: long, content: 'x' }]), 400, 'a 300-byte entry name');
      expect4xx(await putTar('/drop', [{ name: deep, content: 'x' }]), [400, 404], 'a 5000-byte entry path');
      expect4xx(await failure(container.getArchive({ path: `/${long}` })), [400, 404], 'GET a 300-byte name');
      expect4xx(await failure(container.getArchive({ path: `/${deep}` })), [400, 404], 'GET a 5000-byte path');
      expect4xx(await putTar(`/${deep}`, [{ name: 'x', content: 'x' }]), [400, 404], 'PUT at a 5000-byte path');
    });
  });

  describe('a 1 GiB file, streamed', () => {
    /** Samples berthd's VmRSS every 100 ms; peak growth over the first sample, in bytes. */
    function sampleRss(pid: number): { stop(): Promise<{ baseline: number; peak: number; samples: number }> } {
      const read = async (): Promise<number> => {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        return Number(kb) * 1024;
      };
      const values: number[] = [];
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          values.push(await read());
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      return {
        stop: async () => {
          stopped = true;
          await loop;
          return { baseline: values[0] ?? 0, peak: Math.max(...values), samples: values.length };
        },
      };
    }

    /** 1 GiB of non-zero bytes, each MiB different, hashed as it is produced. */
    function gibibyte(hash: ReturnType<typeof createHash>): Readable {
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
      return Readable.from((function* () {
        for (let n = 0; n < GiB / block.length; n++) {
          const chunk = Buffer.from(block);
          chunk.writeUInt32BE(n, 0);
          hash.update(chunk);
          yield chunk;
        }
      })());
    }

    it('streams up and down through the browse API (content and tar) with berthd\'s memory flat', async () => {
      const pid = daemon().pid;
      expect(pid).toBeDefined();
      const sent = createHash('sha256');
      const rss = sampleRss(pid as number);
      try {
        const up = await vcall('PUT', 'content', { path: '/big.bin' }, { body: gibibyte(sent) });
        expect(up.status, up.text).toBe(201);
        expect(up.json<{ size: number }>().size).toBe(GiB);
        const want = sent.digest('hex');

        const down = await httpStream(daemon().socket, 'GET', browseUrl('volumes', VOL, 'content', { path: '/big.bin' }));
        expect(down.statusCode).toBe(200);
        expect(down.headers['content-length']).toBe(String(GiB));
        const got = createHash('sha256');
        let bytes = 0;
        for await (const chunk of down) {
          got.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
        expect(bytes).toBe(GiB);
        expect(got.digest('hex')).toBe(want);

        // Out again as a tar (the path docker cp takes), hashed as it is parsed.
        const tarRes = await httpStream(daemon().socket, 'GET', browseUrl('volumes', VOL, 'archive', { path: '/big.bin' }));
        const tarHash = createHash('sha256');
        const extract = tar.extract();
        extract.on('entry', (_header, stream, next) => {
          stream.on('data', (c: Buffer) => tarHash.update(c));
          stream.on('end', next);
        });
        await new Promise<void>((resolve, reject) => {
          extract.on('finish', resolve);
          extract.on('error', reject);
          tarRes.on('error', reject);
          tarRes.pipe(extract);
        });
        expect(tarHash.digest('hex')).toBe(want);
      } finally {
        const { baseline, peak, samples } = await rss.stop();
        await vcall('DELETE', 'entry', { path: '/big.bin' });
        process.stderr.write(`berthd RSS over the 1 GiB transfers: ${(baseline / MB).toFixed(1)} MB at the start, peak ${(peak / MB).toFixed(1)} MB (${samples} samples)\n`);
        expect(samples).toBeGreaterThan(10);
        expect(peak - baseline, `berthd's RSS grew from ${(baseline / MB).toFixed(0)} MB to ${(peak / MB).toFixed(0)} MB`).toBeLessThan(100 * MB);
      }
    }, 300_000);

    it('streams in and out through the archive API (docker cp, a stopped container) with berthd\'s memory flat', async () => {
      const pid = daemon().pid as number;
      const create = await daemon().docker(['create', '--name', 'big-cp', '--network', 'none', '-v', `${VOL}:/data`, TEST_IMAGE, 'true']);
      expect(create.code, create.stderr).toBe(0);
      const c = daemon().dockerode.getContainer('big-cp');
      const sent = createHash('sha256');
      const rss = sampleRss(pid);
      try {
        // A tar made while it is sent: one 1 GiB entry, streamed into PUT /containers/{id}/archive.
        const pack = tar.pack();
        const entry = pack.entry({ name: 'big-cp.bin', size: GiB, mode: 0o644 }, (err) => {
          if (err) pack.destroy(err);
          else pack.finalize();
        });
        gibibyte(sent).pipe(entry);
        await c.putArchive(pack, { path: '/data' });
        const want = sent.digest('hex');
        expect(await inVolume('stat -c %s /data/big-cp.bin')).toBe(`${GiB}\n`);

        const out = (await c.getArchive({ path: '/data/big-cp.bin' })) as NodeJS.ReadableStream & Readable;
        const got = createHash('sha256');
        let bytes = 0;
        const extract = tar.extract();
        extract.on('entry', (_header, stream, next) => {
          stream.on('data', (chunk: Buffer) => {
            got.update(chunk);
            bytes += chunk.length;
          });
          stream.on('end', next);
        });
        await new Promise<void>((resolve, reject) => {
          extract.on('finish', resolve);
          extract.on('error', reject);
          out.on('error', reject);
          out.pipe(extract);
        });
        expect(bytes).toBe(GiB);
        expect(got.digest('hex')).toBe(want);
      } finally {
        const { baseline, peak, samples } = await rss.stop();
        await daemon().docker(['rm', '-f', 'big-cp']);
        await vcall('DELETE', 'entry', { path: '/big-cp.bin' });
        process.stderr.write(`berthd RSS over the 1 GiB docker cp: ${(baseline / MB).toFixed(1)} MB at the start, peak ${(peak / MB).toFixed(1)} MB (${samples} samples)\n`);
        expect(samples).toBeGreaterThan(10);
        expect(peak - baseline, `berthd's RSS grew from ${(baseline / MB).toFixed(0)} MB to ${(peak / MB).toFixed(0)} MB`).toBeLessThan(100 * MB);
      }
    }, 300_000);
  });
});
