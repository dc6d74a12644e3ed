import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerImageRoutes } from '../../runtime-agent/src/api/routes/images.js';
import { Router } from '../../runtime-agent/src/api/router.js';
import { listenApi, type ApiServer } from '../../runtime-agent/src/api/server.js';
import { sha256Of } from '../../runtime-agent/src/images/digest.js';
import { createImageService, type ImageService } from '../../runtime-agent/src/images/index.js';
import { log } from '../../runtime-agent/src/log.js';
import { loadAddon } from '../../runtime-agent/src/native/addon.js';
import { DataLayout } from '../../runtime-agent/src/store/layout.js';
import { runCommand, type CommandResult } from '../support/command.js';
import { DOCKER_CLI } from '../support/paths.js';

/**
 * The image routes served in-process (no daemon wiring needed) and driven by the real
 * docker CLI and by dockerode. /_ping and /version are test-only stand-ins for the system
 * routes. Inputs are built here from Debian's busybox-static.
 */
log.setQuiet(true);

interface Engine {
  readonly socket: string;
  readonly images: ImageService;
  readonly users: Map<string, string[]>;
  readonly server: ApiServer;
  docker(args: readonly string[], input?: Buffer): Promise<CommandResult>;
}

let work: string;
let rootfsTar: string;
const engines: Engine[] = [];

async function startEngine(name: string): Promise<Engine> {
  const dir = join(work, name);
  const layout = new DataLayout(join(dir, 'data'), join(dir, 'exec'));
  const users = new Map<string, string[]>();
  const images = createImageService({ layout, addon: loadAddon(), users: { containersUsing: (id) => users.get(id) ?? [] } });
  await images.init();
  const router = new Router();
  router.get('/_ping', async ({ res }) => void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK'));
  router.get('/version', async ({ res }) => {
    const body = JSON.stringify({ Version: '0.1.0-test', ApiVersion: '1.43', MinAPIVersion: '1.40', Os: 'linux', Arch: 'amd64' });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  registerImageRoutes(router, images);
  const socket = join(dir, 'api.sock');
  const server = await listenApi(router, socket);
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') };
  await mkdir(env.DOCKER_CONFIG, { recursive: true });
  const engine: Engine = {
    socket,
    images,
    users,
    server,
    docker: (args, input) => runCommand(DOCKER_CLI, args, { env, cwd: work, ...(input !== undefined ? { input } : {}) }),
  };
  engines.push(engine);
  return engine;
}

async function ok(engine: Engine, args: readonly string[]): Promise<string> {
  const result = await engine.docker(args);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A busybox root filesystem (bin/busybox, applet links, passwd with root and berth) as a tar. */
async function buildRootfs(): Promise<string> {
  const dir = join(work, 'rootfs');
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'));
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  for (const applet of ['sh', 'ls', 'cat', 'echo', 'id']) await symlink('busybox', join(dir, 'bin', applet));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000:berth:/home/berth:/bin/sh\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nberth:x:1000:\n');
  const out = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', out, '.']);
  return out;
}

/** A `docker save`-format archive (manifest.json, config, one layer) around the rootfs tar. */
async function buildDockerSave(layer: Buffer, tags: string[], created: string): Promise<Buffer> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: { Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { origin: 'docker-save' } },
      rootfs: { type: 'layers', diff_ids: [sha256Of(layer)] },
      history: [{ created, created_by: '/bin/sh -c #(nop) ADD file:rootfs in /' }],
    }),
  );
  const hex = sha256Of(config).slice(7);
  return packTar([
    [`${hex}.json`, config],
    ['layer1/layer.tar', layer],
    ['manifest.json', Buffer.from(JSON.stringify([{ Config: `${hex}.json`, RepoTags: tags, Layers: ['layer1/layer.tar'] }]))],
  ]);
}

async function packTar(files: [string, Buffer][]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const [name, data] of files) pack.entry({ name, mode: 0o644 }, data);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let a: Engine;
let b: Engine;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-images-api-'));
  rootfsTar = await buildRootfs();
  [a, b] = [await startEngine('a'), await startEngine('b')];
});

afterAll(async () => {
  for (const e of engines) await e.server.close();
  await rm(work, { recursive: true, force: true });
});

describe('the docker CLI against the image routes', () => {
  it('loads a docker save archive and lists it', async () => {
    const layer = await readFile(rootfsTar);
    await writeFile(join(work, 'saved.tar'), await buildDockerSave(layer, ['berth/busybox:latest', 'berth/busybox:1'], '2024-01-01T00:00:00Z'));
    const load = await ok(a, ['load', '-i', join(work, 'saved.tar')]);
    expect(load).toContain('Loaded image: berth/busybox:latest');
    expect(load).toContain('Loaded image: berth/busybox:1');
    const list = await ok(a, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}']);
    expect(list.trim().split('\n').sort()).toEqual([expect.stringMatching(/^berth\/busybox:1 \d/), expect.stringMatching(/^berth\/busybox:latest \d/)]);
  });

  it('imports a rootfs with --change and inspects it', async () => {
    const out = await ok(a, ['import', '--change', 'CMD ["sh"]', '--change', 'ENV GREETING=hi', '--change', 'WORKDIR /srv', '-m', 'test import', rootfsTar, 'imported:v1']);
    expect(out.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    const inspect = JSON.parse(await ok(a, ['image', 'inspect', 'imported:v1'])) as Record<string, unknown>[];
    expect(inspect[0]).toMatchObject({
      Id: out.trim(),
      RepoTags: ['imported:v1'],
      Comment: 'test import',
      Os: 'linux',
      Config: { Cmd: ['sh'], Env: ['GREETING=hi'], WorkingDir: '/srv' },
      RootFS: { Type: 'layers', Layers: [sha256Of(await readFile(rootfsTar))] },
      GraphDriver: { Name: 'overlay2' },
    });
    const layerDir = (inspect[0]?.GraphDriver as { Data: { UpperDir: string } }).Data.UpperDir;
    expect(existsSync(join(layerDir, 'bin/busybox'))).toBe(true);
    expect(await readFile(join(layerDir, 'etc/passwd'), 'utf8')).toContain('berth:x:1000');
    const format = await ok(a, ['image', 'inspect', '--format', '{{json .Config.Cmd}} {{.Config.WorkingDir}}', 'imported:v1']);
    expect(format.trim()).toBe('["sh"] /srv');
  });

  it('lists with -a, -q, --digests and filters', async () => {
    const ids = (await ok(a, ['images', '-q', '--no-trunc'])).trim().split('\n');
    expect(new Set(ids).size).toBe(2);
    expect(await ok(a, ['images', '-a', '-q'])).toMatch(/^[a-f0-9]{12}\n/);
    const refs = await ok(a, ['images', '--filter', 'reference=berth/*', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(refs.trim().split('\n').sort()).toEqual(['berth/busybox:1', 'berth/busybox:latest']);
    const digests = await ok(a, ['images', '--digests', '--format', '{{.Repository}} {{.Digest}}', 'imported']);
    expect(digests.trim()).toBe('imported <none>');
    expect((await ok(a, ['images', '--filter', 'dangling=true', '-q'])).trim()).toBe('');
    expect((await ok(a, ['images', '--filter', 'label=origin=docker-save', '--format', '{{.Tag}}'])).trim().split('\n').sort()).toEqual(['1', 'latest']);
    const bad = await a.docker(['images', '--filter', 'bogus=1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("invalid filter 'bogus'");
  });

  it('shows history and tags', async () => {
    const history = await ok(a, ['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', 'berth/busybox']);
    expect(history.trim()).toMatch(/^sha256:[a-f0-9]{64}\|\/bin\/sh -c #\(nop\) ADD file:rootfs in \/\|\d/);
    await ok(a, ['tag', 'imported:v1', 'localhost:5000/team/imported:copy']);
    const tags = JSON.parse(await ok(a, ['image', 'inspect', '--format', '{{json .RepoTags}}', 'imported:v1'])) as string[];
    expect(tags).toEqual(['imported:v1', 'localhost:5000/team/imported:copy']);
  });

  it('removes tags and images as docker rmi does', async () => {
    const id = (await ok(a, ['images', '-q', '--no-trunc', 'imported:v1'])).trim();
    const conflict = await a.docker(['rmi', id.slice(7, 19)]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(`conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    expect(await ok(a, ['rmi', 'localhost:5000/team/imported:copy'])).toBe('Untagged: localhost:5000/team/imported:copy\n');
    a.users.set(id, ['0123456789abcdef']);
    const inUse = await a.docker(['rmi', 'imported:v1']);
    expect(inUse.stderr).toContain(`conflict: unable to remove repository reference "imported:v1" (must force) - container 0123456789ab is using its referenced image ${id.slice(7, 19)}`);
    a.users.delete(id);
    const removed = await ok(a, ['rmi', 'imported:v1']);
    expect(removed).toContain('Untagged: imported:v1');
    expect(removed).toContain(`Deleted: ${id}`);
    const missing = await a.docker(['rmi', 'imported:v1']);
    expect(missing.stderr).toContain('No such image: imported:v1');
  });

  it('prunes dangling images', async () => {
    await ok(a, ['import', rootfsTar]); // untagged, shares its layer with nothing else named
    expect((await ok(a, ['images', '--filter', 'dangling=true', '-q'])).trim()).toMatch(/^[a-f0-9]{12}$/);
    const pruned = await ok(a, ['image', 'prune', '-f']);
    expect(pruned).toContain('Deleted Images:');
    expect(pruned).toMatch(/Total reclaimed space: \d/);
    expect((await ok(a, ['images', '--filter', 'dangling=true', '-q'])).trim()).toBe('');
  });

  it('saves with docker save -o and loads the archive into a fresh root with the same IDs', async () => {
    const out = join(work, 'roundtrip.tar');
    await ok(a, ['save', '-o', out, 'berth/busybox:latest']);
    const listing = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout', 'repositories', 'blobs/sha256/']));
    expect(await ok(b, ['load', '-i', out])).toBe('Loaded image: berth/busybox:latest\n');
    const idA = (await ok(a, ['images', '-q', '--no-trunc', 'berth/busybox:latest'])).trim();
    const idB = (await ok(b, ['images', '-q', '--no-trunc', 'berth/busybox:latest'])).trim();
    expect(idB).toBe(idA);
  });

  it('gives clear errors for hostile archives and unknown images (pulls: pull.test.ts)', async () => {
    const evil = await buildDockerSave(await packTar([['../../../../tmp/berth-evil', Buffer.from('x')]]), ['evil:1'], '2024-01-01T00:00:00Z');
    const load = await a.docker(['load'], evil);
    expect(load.code).toBe(1);
    expect(load.stderr).toContain('refusing tar entry "../../../../tmp/berth-evil"');
    expect(existsSync('/tmp/berth-evil')).toBe(false);
    const inspect = await a.docker(['image', 'inspect', 'nope']);
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toContain('No such image: nope');
    const bad = await a.docker(['image', 'inspect', 'UPPER']);
    expect(bad.stderr).toContain('must be lowercase');
  });
});

describe('dockerode against the image routes', () => {
  it('lists, inspects, tags, saves, loads, imports and removes', async () => {
    const docker = new Dockerode({ socketPath: b.socket });
    const list = await docker.listImages();
    expect(list.map((i) => i.RepoTags)).toEqual([['berth/busybox:latest']]);
    const image = docker.getImage('berth/busybox');
    expect((await image.inspect()).Config.Cmd).toEqual(['sh']);
    expect((await image.history()) as unknown[]).toHaveLength(1);
    await image.tag({ repo: 'copy', tag: 'x' });
    const saved = await docker.getImage('copy:x').get();
    const chunks: Buffer[] = [];
    for await (const chunk of saved as AsyncIterable<Buffer>) chunks.push(chunk);
    await docker.getImage('copy:x').remove();
    const loadStream = await docker.loadImage(Readable.from([Buffer.concat(chunks)]));
    const messages = await new Promise<{ stream?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(loadStream, (err: Error | null, out: { stream?: string }[]) => (err ? reject(err) : resolve(out))),
    );
    expect(messages.map((m) => m.stream)).toContain('Loaded image: copy:x\n');
    const importStream = await docker.importImage(rootfsTar, { repo: 'dockerode', tag: 'imported', changes: ['CMD ["sh"]'] });
    const imported = await new Promise<{ status?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(importStream, (err: Error | null, out: { status?: string }[]) => (err ? reject(err) : resolve(out))),
    );
    expect(imported[0]?.status).toMatch(/^sha256:/);
    const removed = (await docker.getImage('dockerode:imported').remove()) as { Untagged?: string; Deleted?: string }[];
    expect(removed[0]).toEqual({ Untagged: 'dockerode:imported' });
    const pruned = await docker.pruneImages({ filters: { dangling: ['false'] } });
    expect(pruned.ImagesDeleted?.some((d) => d.Untagged === 'copy:x')).toBe(true);
    expect(await docker.listImages()).toEqual([]);
  });
});
