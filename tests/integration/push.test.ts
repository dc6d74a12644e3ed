import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { imageOf, randomLayer, RegistrySeeder } from '../support/registry-seed.js';
import { useRegistry, type TestRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

// `docker push` from berthd to Debian's docker-registry on loopback, with the real CLI and
// dockerode; what arrived is checked through the registry's own HTTP API, digest by digest.

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const USER = { username: 'pusher', password: 'push-secret' };

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** GET from the registry over plain HTTP, with basic auth when given. */
function registryGet(registry: TestRegistry, path: string, opts: { accept?: string; auth?: typeof USER } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (opts.accept !== undefined) headers.Accept = opts.accept;
  if (opts.auth !== undefined) headers.Authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = request(`${registry.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
}
interface ManifestJson {
  schemaVersion: number;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

describe('docker push', () => {
  const daemon = useDaemon({ image: 'oci' });
  const open = useRegistry(() => ({ netns: daemon().netns }));
  const secured = useRegistry(() => ({ netns: daemon().netns, auth: USER }));
  const containers: string[] = [];

  afterAll(async () => {
    if (containers.length > 0) await daemon().docker(['rm', '-f', ...containers]);
  });

  const docker = async (args: string[], input?: string): Promise<string> => {
    const r = await daemon().docker(args, input !== undefined ? { input } : {});
    expect(r.code, `docker ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const inspect = async (image: string): Promise<{ Id: string; RepoDigests: string[]; RootFS: { Layers: string[] } }> =>
    JSON.parse(await docker(['image', 'inspect', '--format', '{{json .}}', image])) as { Id: string; RepoDigests: string[]; RootFS: { Layers: string[] } };
  /** The `<tag>: digest: sha256:... size: N` line of a push's output. */
  const pushedDigest = (output: string, tag: string): { digest: string; size: number } => {
    const m = new RegExp(`^${tag}: digest: (sha256:[0-9a-f]{64}) size: (\\d+)$`, 'm').exec(output);
    if (!m) throw new Error(`no "${tag}: digest:" line in:\n${output}`);
    return { digest: m[1] as string, size: Number(m[2]) };
  };

  /**
   * Fetches `repo:tag`'s manifest and every blob it names from the registry and checks each
   * against its digest and size, the config against the image ID and each layer, gunzipped,
   * against the image's diff IDs. Returns the manifest.
   */
  const verifyInRegistry = async (registry: TestRegistry, repo: string, tag: string, image: string, auth?: typeof USER): Promise<{ manifest: ManifestJson; digest: string }> => {
    const opts = auth !== undefined ? { auth } : {};
    const got = await registryGet(registry, `/v2/${repo}/manifests/${tag}`, { accept: MANIFEST_V2, ...opts });
    expect(got.status, got.body.toString()).toBe(200);
    expect(got.headers['content-type']).toBe(MANIFEST_V2);
    const digest = sha256(got.body);
    expect(got.headers['docker-content-digest']).toBe(digest);
    const manifest = JSON.parse(got.body.toString()) as ManifestJson;
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe(MANIFEST_V2);
    const local = await inspect(image);
    expect(manifest.config.digest).toBe(local.Id);
    const config = await registryGet(registry, `/v2/${repo}/blobs/${manifest.config.digest}`, opts);
    expect(sha256(config.body)).toBe(manifest.config.digest);
    expect(config.body.length).toBe(manifest.config.size);
    expect(manifest.layers).toHaveLength(local.RootFS.Layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.mediaType).toBe(LAYER_GZIP);
      const blob = await registryGet(registry, `/v2/${repo}/blobs/${layer.digest}`, opts);
      expect(blob.status).toBe(200);
      expect(sha256(blob.body)).toBe(layer.digest);
      expect(blob.body.length).toBe(layer.size);
      expect(sha256(gunzipSync(blob.body))).toBe(local.RootFS.Layers[i]);
    }
    return { manifest, digest };
  };

  it('pushes the test image: manifest, config and layer verify in the registry; RepoDigests and a push event', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const ref = `${open().host}/test/busybox:1`;
    await docker(['tag', TEST_IMAGE, ref]);
    const out = await docker(['push', ref]);
    expect(out).toContain(`The push refers to repository [${open().host}/test/busybox]`);
    expect(out).toMatch(/^[0-9a-f]{12}: Pushed$/m);
    expect(out).not.toContain('Layer already exists');
    const printed = pushedDigest(out, '1');

    const { digest } = await verifyInRegistry(open(), 'test/busybox', '1', ref);
    expect(digest).toBe(printed.digest);
    const manifest = await registryGet(open(), '/v2/test/busybox/manifests/1', { accept: MANIFEST_V2 });
    expect(manifest.body.length).toBe(printed.size);

    expect((await inspect(ref)).RepoDigests).toContain(`${open().host}/test/busybox@${printed.digest}`);
    const events = await docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'event=push', '--format', '{{.Actor.ID}} {{.Actor.Attributes.name}}']);
    expect(events.trim().split('\n')).toContain(`${ref} ${open().host}/test/busybox`);
  });

  it('pushes again without uploading: "Layer already exists", the same digest', async () => {
    const ref = `${open().host}/test/busybox:1`;
    const first = await registryGet(open(), '/v2/test/busybox/manifests/1', { accept: MANIFEST_V2 });
    const out = await docker(['push', ref]);
    expect(out).toMatch(/^[0-9a-f]{12}: Layer already exists$/m);
    expect(out).not.toContain('Pushed');
    expect(pushedDigest(out, '1').digest).toBe(sha256(first.body));
  });

  it('mounts the layer into another repository of the same registry: "Mounted from"', async () => {
    const ref = `${open().host}/team/other:1`;
    await docker(['tag', TEST_IMAGE, ref]);
    const out = await docker(['push', ref]);
    expect(out).toMatch(/^[0-9a-f]{12}: Mounted from test\/busybox$/m);
    expect(out).not.toContain('Pushed');
    await verifyInRegistry(open(), 'team/other', '1', ref);
  });

  it('pushes only the new layer of an image committed on top of a pushed one', async () => {
    const create = await daemon().docker(['create', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo made-by-push-test > /pushed.txt']);
    expect(create.code, create.stderr).toBe(0);
    const id = create.stdout.trim();
    containers.push(id);
    await docker(['start', '-a', id]);
    const ref = `${open().host}/test/busybox:2`;
    await docker(['commit', id, ref]);
    const out = await docker(['push', ref]);
    expect(out.match(/^[0-9a-f]{12}: Pushed$/gm)).toHaveLength(1);
    expect(out.match(/^[0-9a-f]{12}: Layer already exists$/gm)).toHaveLength(1);
    const { manifest } = await verifyInRegistry(open(), 'test/busybox', '2', ref);
    const base = JSON.parse((await registryGet(open(), '/v2/test/busybox/manifests/1', { accept: MANIFEST_V2 })).body.toString()) as ManifestJson;
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.layers[0]).toEqual(base.layers[0]);
    const top = await registryGet(open(), `/v2/test/busybox/blobs/${(manifest.layers[1] as Descriptor).digest}`);
    expect(gunzipSync(top.body).includes('made-by-push-test')).toBe(true);
  });

  it('reuses what a pull fetched: the pulled blob is found in its repository and mounted into another', async () => {
    const seeded = imageOf([await randomLayer('seeded.bin', 200_000)]);
    await new RegistrySeeder(open().url).pushImage('seeded/base', '1', seeded);
    const source = `${open().host}/seeded/base:1`;
    await docker(['pull', source]);

    const back = await docker(['push', source]);
    expect(back).toMatch(/^[0-9a-f]{12}: Layer already exists$/m);
    expect(back).not.toContain('Pushed');

    const copy = `${open().host}/team/copy:1`;
    await docker(['tag', source, copy]);
    const out = await docker(['push', copy]);
    expect(out).toMatch(/^[0-9a-f]{12}: Mounted from seeded\/base$/m);
    expect(out).not.toContain('Pushed');
    const { manifest } = await verifyInRegistry(open(), 'team/copy', '1', copy);
    // The very blob the registry served to the pull, not a recompression of it.
    expect(manifest.layers[0]?.digest).toBe(seeded.layers[0]?.digest);
  });

  it('uploads five layers at a time, the rest "Waiting", and lists them in order', async () => {
    const layers = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => randomLayer(`layer-${n}.bin`, 50_000)));
    await new RegistrySeeder(open().url).pushImage('seeded/many', '1', imageOf(layers));
    await docker(['pull', `${open().host}/seeded/many:1`]);
    const ref = `${secured().host}/test/many`;
    await docker(['tag', `${open().host}/seeded/many:1`, `${ref}:1`]);
    const stream = await daemon()
      .dockerode.getImage(ref)
      .push({ tag: '1', authconfig: { ...USER, serveraddress: secured().host } });
    const messages = await new Promise<{ status?: string; id?: string; error?: string }[]>((resolve, reject) => {
      daemon().dockerode.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output as never)));
    });
    expect(messages.filter((m) => m.error !== undefined)).toEqual([]);
    const ids = (status: string): string[] => messages.filter((m) => m.status === status).map((m) => m.id as string);
    expect(ids('Preparing')).toHaveLength(7);
    expect(ids('Pushed')).toHaveLength(7);
    // Preparing lists the top layer first; the two bottom ones wait for a slot.
    expect(ids('Waiting')).toEqual(ids('Preparing').slice(5));
    await verifyInRegistry(secured(), 'test/many', '1', `${ref}:1`, USER);
  });

  it('pushes every tag of a repository with -a', async () => {
    const repo = `${open().host}/test/multi`;
    await docker(['tag', TEST_IMAGE, `${repo}:a`]);
    await docker(['tag', TEST_IMAGE, `${repo}:b`]);
    const out = await docker(['push', '-a', repo]);
    expect(pushedDigest(out, 'a').digest).toBe(pushedDigest(out, 'b').digest);
    for (const tag of ['a', 'b']) expect((await registryGet(open(), `/v2/test/multi/manifests/${tag}`, { accept: MANIFEST_V2 })).status).toBe(200);
  });

  it('answers 404 with Docker\'s text for a name or tag it does not have', async () => {
    const missing = await daemon().docker(['push', `${open().host}/test/nothere:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`An image does not exist locally with the tag: ${open().host}/test/nothere`);

    const noTag = await daemon().docker(['push', `${open().host}/test/busybox:nope`]);
    expect(noTag.code).toBe(1);
    expect(noTag.stderr).toContain(`tag does not exist: ${open().host}/test/busybox:nope`);

    const viaApi = await daemon()
      .dockerode.getImage(`${open().host}/test/nothere`)
      .push({ tag: '1' })
      .then(
        () => undefined,
        (err: { statusCode?: number; message?: string }) => err,
      );
    expect(viaApi?.statusCode).toBe(404);
    // docker-modem puts a streamed endpoint's error body in the message.
    expect(viaApi?.message).toContain(`An image does not exist locally with the tag: ${open().host}/test/nothere`);
    expect((await registryGet(open(), '/v2/test/nothere/tags/list')).status).toBe(404);
  });

  it('pushes with dockerode and authconfig to a registry that requires a login', async () => {
    const ref = `${secured().host}/test/secret`;
    await docker(['tag', TEST_IMAGE, `${ref}:v1`]);
    const stream = await daemon()
      .dockerode.getImage(ref)
      .push({ tag: 'v1', authconfig: { ...USER, serveraddress: secured().host } });
    const messages = await new Promise<{ status?: string; error?: string; aux?: { Tag?: string; Digest?: string; Size?: number } }[]>((resolve, reject) => {
      daemon().dockerode.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output as never)));
    });
    expect(messages.filter((m) => m.error !== undefined)).toEqual([]);
    const aux = messages.find((m) => m.aux !== undefined)?.aux;
    expect(aux?.Tag).toBe('v1');
    const { digest } = await verifyInRegistry(secured(), 'test/secret', 'v1', `${ref}:v1`, USER);
    expect(aux?.Digest).toBe(digest);
    expect((await registryGet(secured(), '/v2/test/secret/manifests/v1', { accept: MANIFEST_V2 })).status).toBe(401);
  });

  it('pushes after docker login; after docker logout the push fails unauthorized and records nothing', async () => {
    const login = await daemon().docker(['login', secured().host, '-u', USER.username, '--password-stdin'], { input: USER.password });
    expect(login.code, login.stderr).toBe(0);
    const ref = `${secured().host}/team/app`;
    await docker(['tag', TEST_IMAGE, `${ref}:1`]);
    expect(pushedDigest(await docker(['push', `${ref}:1`]), '1').digest).toMatch(/^sha256:/);

    await docker(['logout', secured().host]);
    const config = JSON.parse(await readFile(join(daemon().env.DOCKER_CONFIG as string, 'config.json'), 'utf8')) as { auths?: Record<string, unknown> };
    expect(config.auths?.[secured().host]).toBeUndefined();

    // A new image (its own config, so its own manifest digest) that must not get anywhere.
    const create = await daemon().docker(['create', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo denied > /denied.txt']);
    expect(create.code, create.stderr).toBe(0);
    containers.push(create.stdout.trim());
    await docker(['start', '-a', create.stdout.trim()]);
    await docker(['commit', create.stdout.trim(), `${ref}:2`]);
    const denied = await daemon().docker(['push', `${ref}:2`]);
    expect(denied.code).toBe(1);
    expect(`${denied.stdout}\n${denied.stderr}`).toMatch(/unauthorized|no basic auth credentials/);
    expect(denied.stdout).not.toContain('2: digest:');
    expect((await inspect(`${ref}:2`)).RepoDigests).toEqual([]);
    expect((await registryGet(secured(), '/v2/team/app/manifests/2', { accept: MANIFEST_V2, auth: USER })).status).toBe(404);
  });
});
