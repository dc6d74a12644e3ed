import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { httpCall } from '../support/berth-http.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// `docker commit` (a container's writable layer becomes an image layer) and `docker export`
// (its whole root filesystem as a tar), with the real CLI and dockerode.

interface TarEntry {
  readonly name: string;
  readonly type: string;
  readonly content: Buffer;
}

/** Every entry of a tar stream (contents of files up to 1 MiB kept). */
async function entriesOf(source: Readable | IncomingMessage): Promise<TarEntry[]> {
  const extract = tar.extract();
  const out: TarEntry[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      if ((header.size ?? 0) <= 1 << 20) chunks.push(c);
    });
    stream.on('end', () => {
      out.push({ name: header.name.replace(/\/$/, ''), type: header.type ?? 'file', content: Buffer.concat(chunks) });
      next();
    });
  });
  await pipeline(source, extract);
  return out;
}

describe('docker commit and docker export', () => {
  const daemon = useDaemon({ image: 'oci' });
  const containers: string[] = [];
  const images: string[] = [];

  const docker = async (args: string[]): Promise<string> => {
    const r = await daemon().docker(args);
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  const run = async (args: string[]): Promise<string> => {
    const id = await docker(['run', '-d', '--network', 'none', ...args]);
    containers.push(id);
    return id;
  };
  /** Runs a container to completion (kept, for commit/export). */
  const ran = async (args: string[]): Promise<string> => {
    const id = await docker(['create', '--network', 'none', ...args]);
    containers.push(id);
    await docker(['start', '-a', id]);
    return id;
  };
  /** The entries of an image's top layer, read back through `docker save`. */
  const topLayer = async (image: string): Promise<TarEntry[]> => {
    const diffIds = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', image])) as string[];
    const top = (diffIds[diffIds.length - 1] as string).slice('sha256:'.length);
    const save = await daemon().dockerode.getImage(image).get();
    const files = await entriesOf(save as unknown as Readable);
    const blob = files.find((f) => f.name === `blobs/sha256/${top}`);
    if (!blob) throw new Error(`layer ${top} is not in the saved image`);
    return entriesOf(Readable.from([blob.content]));
  };

  afterAll(async () => {
    if (containers.length > 0) await daemon().docker(['rm', '-f', '-v', ...containers]);
    if (images.length > 0) await daemon().docker(['rmi', '-f', ...images]);
    await daemon().docker(['volume', 'rm', '-f', 'ce-vol']);
  });

  it('commits a written file and a deleted one, with --change, -m and -a', async () => {
    const c = await ran(['-v', 'ce-vol:/data/vol', TEST_IMAGE, 'sh', '-c', 'echo committed > /x && rm /etc/os-release && echo in-volume > /data/vol/v']);
    const id = await docker(['commit', '--change', 'CMD ["cat","/x"]', '-m', 'a message', '-a', 'Ann Author <ann@example.com>', c, 'berth.test/committed:v1']);
    images.push('berth.test/committed:v1');
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The new image runs its CMD, sees the file and not the deleted one, nor the volume's content.
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/committed:v1'])).toBe('committed');
    const check = await daemon().docker(['run', '--rm', '--network', 'none', 'berth.test/committed:v1', 'sh', '-c', 'ls /etc; ls /data/vol 2>&1; test -e /etc/os-release || echo gone']);
    expect(check.stdout).not.toContain('os-release\n');
    expect(check.stdout).toContain('gone');
    expect(check.stdout).not.toContain('\nv\n');

    const inspect = JSON.parse(await docker(['image', 'inspect', 'berth.test/committed:v1'])) as [Record<string, unknown>];
    const image = inspect[0];
    expect(image.Author).toBe('Ann Author <ann@example.com>');
    expect(image.Comment).toBe('a message');
    expect(image.Container).toBe(c);
    expect((image.Config as { Cmd: string[] }).Cmd).toEqual(['cat', '/x']);
    expect((image.ContainerConfig as { Cmd: string[] }).Cmd).toEqual(['sh', '-c', 'echo committed > /x && rm /etc/os-release && echo in-volume > /data/vol/v']);
    const parent = JSON.parse(await docker(['image', 'inspect', TEST_IMAGE])) as [{ Id: string; RootFS: { Layers: string[] } }];
    expect(image.Parent).toBe(parent[0].Id);
    expect((image.RootFS as { Layers: string[] }).Layers.slice(0, -1)).toEqual(parent[0].RootFS.Layers);
    const history = await docker(['history', '--no-trunc', '--format', '{{.Comment}}|{{.CreatedBy}}', 'berth.test/committed:v1']);
    expect(history.split('\n')[0]).toBe('a message|sh -c echo committed > /x && rm /etc/os-release && echo in-volume > /data/vol/v');

    // The layer in Docker's form: the file, a whiteout for the deleted one; none of berthd's
    // mount points (/etc/hosts, the volume's /data/vol) and nothing of the volume.
    const layer = (await topLayer('berth.test/committed:v1')).map((e) => e.name).sort();
    expect(layer).toEqual(['etc', 'etc/.wh.os-release', 'x']);
  });

  it('turns a directory deleted and made again into an opaque one', async () => {
    const first = await ran([TEST_IMAGE, 'sh', '-c', 'mkdir -p /stuff/old && echo a > /stuff/a && ln /stuff/a /stuff/hard && ln -s a /stuff/soft']);
    await docker(['commit', first, 'berth.test/stuff:1']);
    images.push('berth.test/stuff:1');
    const second = await ran(['berth.test/stuff:1', 'sh', '-c', 'rm -rf /stuff && mkdir /stuff && echo c > /stuff/c']);
    await docker(['commit', second, 'berth.test/stuff:2']);
    images.push('berth.test/stuff:2');
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/stuff:1', 'sh', '-c', 'ls /stuff | tr "\\n" " "; stat -c %h /stuff/a; readlink /stuff/soft'])).toBe(
      'a hard old soft 2\na',
    );
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/stuff:2', 'ls', '/stuff'])).toBe('c');
    const layer = (await topLayer('berth.test/stuff:2')).map((e) => e.name).sort();
    expect(layer).toEqual(['stuff', 'stuff/.wh..wh..opq', 'stuff/c']);
  });

  it('commits a running container, pausing it meanwhile, and it keeps running', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const c = await run([TEST_IMAGE, 'sh', '-c', 'echo live > /live; sleep 300']);
    await expect.poll(async () => (await daemon().docker(['exec', c, 'cat', '/live'])).stdout, { timeout: 5000 }).toBe('live\n');
    const id = await docker(['commit', c]);
    images.push(id);
    expect(await docker(['inspect', '--format', '{{.State.Status}}', c])).toBe('running');
    expect(await docker(['run', '--rm', '--network', 'none', id, 'cat', '/live'])).toBe('live');
    const events = await docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${c}`, '--format', '{{.Action}}']);
    const actions = events.split('\n');
    expect(actions.indexOf('pause')).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf('pause')).toBeLessThan(actions.indexOf('unpause'));
    expect(actions.indexOf('unpause')).toBeLessThan(actions.indexOf('commit'));
    // --pause=false leaves it running throughout.
    const before = actions.filter((a) => a === 'pause').length;
    images.push(await docker(['commit', '--pause=false', c]));
    const after = (await docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${c}`, '--format', '{{.Action}}'])).split('\n');
    expect(after.filter((a) => a === 'pause').length).toBe(before);
  });

  it('adds no layer for an empty diff, and refuses a bad change or name leaving nothing behind', async () => {
    const c = await docker(['create', '--network', 'none', TEST_IMAGE, 'true']);
    containers.push(c);
    const id = await docker(['commit', c]);
    images.push(id);
    const layers = (image: string): Promise<string> => docker(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', image]);
    expect(await layers(id)).toBe(await layers(TEST_IMAGE));
    const history = (await daemon().dockerode.getImage(id).history()) as { CreatedBy: string; Size: number }[];
    expect(history[0]).toMatchObject({ CreatedBy: 'true', Size: 0 });
    expect(history).toHaveLength(((await daemon().dockerode.getImage(TEST_IMAGE).history()) as unknown[]).length + 1);
    // A container that ran but changed nothing: its mount points are not a change either.
    const quiet = await ran([TEST_IMAGE, 'true']);
    const quietId = await docker(['commit', quiet]);
    images.push(quietId);
    expect(await layers(quietId)).toBe(await layers(TEST_IMAGE));

    const count = (await docker(['images', '-aq'])).split('\n').length;
    const bad = await daemon().docker(['commit', '--change', 'RUN echo no', c]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('run is not a valid change command');
    const badName = await daemon().docker(['commit', c, 'UPPER/Case']);
    expect(badName.code).not.toBe(0);
    const missing = await httpCall(daemon().socket, 'POST', '/commit?container=no-such-container');
    expect(missing.status).toBe(404);
    expect((await docker(['images', '-aq'])).split('\n').length).toBe(count);
  });

  it('exports the image files and the container\'s own, never a volume\'s', async () => {
    const c = await run(['-v', 'ce-vol:/data', TEST_IMAGE, 'sh', '-c', 'echo mine > /written && rm /etc/group && echo vol > /data/in-volume && sleep 300']);
    await expect.poll(async () => (await daemon().docker(['cp', `${c}:/data/in-volume`, '-'])).code, { timeout: 5000 }).toBe(0);
    const res = (await daemon().dockerode.getContainer(c).export()) as unknown as IncomingMessage;
    const entries = await entriesOf(res);
    const names = new Set(entries.map((e) => e.name));
    expect(names.has('bin/busybox')).toBe(true);
    expect(names.has('etc/passwd')).toBe(true);
    expect(entries.find((e) => e.name === 'written')?.content.toString()).toBe('mine\n');
    expect(names.has('etc/group')).toBe(false);
    expect([...names].some((n) => n.startsWith('data/'))).toBe(false); // the volume's mount point only
    expect([...names].some((n) => n.startsWith('proc/') || n.startsWith('sys/'))).toBe(false);
    expect([...names].some((n) => n.startsWith('./') || n.startsWith('/'))).toBe(false);

    // The CLI, of the stopped container, to a file.
    await docker(['stop', '-t', '0', c]);
    const out = await daemon().docker(['export', c]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('mine');
    const gone = await daemon().docker(['export', 'no-such-container']);
    expect(gone.stderr).toContain('No such container: no-such-container');
  });
});
