import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BridgeFailure, OperationProgress } from '../../electron/shared/bridge.js';
import { useApp } from '../support/app.js';
import { BuildContexts } from '../support/build-context.js';
import { fixturePath, TEST_IMAGE } from '../support/fixtures.js';
import { busyboxImage, imageOf, randomLayer, registryBlobPath, RegistrySeeder, type SeedImage } from '../support/registry-seed.js';
import { useRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

/**
 * The app's image service against a real berthd through the real bridge: list with usedBy,
 * load, pull (from Debian's docker-registry on loopback) with per-layer progress, push, build
 * of a folder on this machine, tag, remove, cancel — and the errors each gives for bad input.
 */
const daemon = useDaemon({ image: 'oci' });
const registry = useRegistry(() => ({ netns: daemon().netns }));
const app = useApp(daemon);
const contexts = new BuildContexts();

/** Every operation:progress push, by operation id. */
const progress = new Map<string, OperationProgress[]>();
/** When each layer picture arrived (ms), by operation id. */
const pictureTimes = new Map<string, number[]>();
let opCount = 0;
/** An image whose second layer gets corrupted in the registry's storage. */
let broken: SeedImage;
const op = (): string => `op-${++opCount}`;

async function failure(promise: Promise<unknown>): Promise<BridgeFailure> {
  try {
    await promise;
  } catch (err) {
    return err as BridgeFailure;
  }
  throw new Error('expected the invoke to fail');
}

async function imageExists(ref: string): Promise<boolean> {
  return (await daemon().docker(['image', 'inspect', ref])).code === 0;
}

beforeAll(async () => {
  app().bridge.on('operation:progress', (p) => {
    const list = progress.get(p.operation) ?? [];
    list.push(p);
    progress.set(p.operation, list);
    if (p.layers !== undefined) pictureTimes.set(p.operation, [...(pictureTimes.get(p.operation) ?? []), performance.now()]);
  });
  const seed = new RegistrySeeder(registry().url);
  const busybox = await busyboxImage();
  // Big random layers: a download long enough to report progress more than once.
  await seed.pushImage('test/big', 'latest', imageOf([...busybox.layers, await randomLayer('big.bin', 24_000_000)]));
  broken = imageOf([...busybox.layers, await randomLayer('victim.bin', 300_000)]);
  await seed.pushImage('test/broken', 'latest', broken);
}, 120_000);

describe('images:load', () => {
  it('loads a docker-save/OCI tar on a daemon without the image and reports its tag', async () => {
    expect((await daemon().docker(['rmi', TEST_IMAGE])).code).toBe(0);
    expect(await imageExists(TEST_IMAGE)).toBe(false);
    const bytes = new Uint8Array(await readFile(fixturePath('ociTar')));
    const { loaded } = await app().bridge.invoke('images:load', { operation: op(), file: { name: 'busybox-oci.tar', bytes } });
    expect(loaded).toContain(TEST_IMAGE);
    expect(await imageExists(TEST_IMAGE)).toBe(true);
  });

  it('says a file that is not an image archive is not one', async () => {
    const err = await failure(app().bridge.invoke('images:load', { operation: op(), file: { name: 'notes.txt', bytes: new TextEncoder().encode('hello, not a tar\n'.repeat(100)) } }));
    expect(err.code).toBe('invalid-argument');
    expect(err.message).toMatch(/notes\.txt is not an image archive/);
  });
});

describe('images:list, tag and remove', () => {
  it('lists the test image with its tag and the containers made from it', async () => {
    expect((await daemon().docker(['create', '--name', 'img-user', TEST_IMAGE, 'true'])).code).toBe(0);
    const images = await app().bridge.invoke('images:list', undefined);
    const test = images.find((i) => i.tags.includes(TEST_IMAGE));
    expect(test?.usedBy).toEqual(['img-user']);
    expect(test?.sizeBytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(test?.createdAt ?? ''))).toBe(false);
  });

  it('refuses to remove an image in use, naming the container', async () => {
    const err = await failure(app().bridge.invoke('images:remove', { id: TEST_IMAGE, force: false }));
    expect(err.code).toBe('conflict');
    expect(err.status).toBe(409);
    expect(err.message).toContain('img-user');
    expect(err.message).toMatch(/force/);
    expect(await imageExists(TEST_IMAGE)).toBe(true);
  });

  it('tags an image and removes the tag', async () => {
    const [image] = (await app().bridge.invoke('images:list', undefined)).filter((i) => i.tags.includes(TEST_IMAGE));
    await app().bridge.invoke('images:tag', { id: image?.id ?? '', repo: 'berth.test/tagged', tag: 'v2' });
    expect((await app().bridge.invoke('images:list', undefined)).find((i) => i.id === image?.id)?.tags).toContain('berth.test/tagged:v2');
    await app().bridge.invoke('images:remove', { id: 'berth.test/tagged:v2', force: false });
    expect(await imageExists('berth.test/tagged:v2')).toBe(false);
    expect(await imageExists(TEST_IMAGE)).toBe(true);
    const bad = await failure(app().bridge.invoke('images:tag', { id: TEST_IMAGE, repo: 'Bad Repo', tag: 'v1' }));
    expect(bad.code).toBe('invalid-argument');
  });

  it('inspects an image', async () => {
    const inspect = (await app().bridge.invoke('images:inspect', { id: TEST_IMAGE })) as { RepoTags?: string[] };
    expect(inspect.RepoTags).toContain(TEST_IMAGE);
    expect((await failure(app().bridge.invoke('images:inspect', { id: 'no/such:image' }))).code).toBe('not-found');
  });
});

describe('images:pull and push', () => {
  it('pulls with per-layer progress that grows, and answers the image id', async () => {
    const ref = `${registry().host}/test/big:latest`;
    const operation = op();
    const { id } = await app().bridge.invoke('images:pull', { reference: `${registry().host}/test/big`, operation });
    expect(id).toBe((await daemon().dockerode.getImage(ref).inspect()).Id);
    const pushes = (progress.get(operation) ?? []).filter((p) => p.kind === 'pull' && p.layers !== undefined);
    expect(pushes.length).toBeGreaterThan(1);
    const last = pushes[pushes.length - 1]?.layers ?? [];
    expect(last.length).toBe(2);
    const big = last.find((l) => (l.total ?? 0) > 20_000_000);
    expect(big?.current).toBe(big?.total);
    // Earlier pictures showed that layer with fewer bytes.
    const earlier = pushes.slice(0, -1).map((p) => p.layers?.find((l) => l.id === big?.id)?.current ?? 0);
    expect(Math.min(...earlier)).toBeLessThan(big?.total ?? 0);
    // At most ~10 pictures a second: apart from the final flush, 100 ms between pictures.
    const times = pictureTimes.get(operation) ?? [];
    const gaps = times.slice(1, -1).map((t, i) => t - (times[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThan(80);
  });

  it('refuses bad references before the engine sees them', async () => {
    for (const reference of ['UPPER/case', 'a b', '']) {
      const err = await failure(app().bridge.invoke('images:pull', { reference, operation: op() }));
      expect(err.code).toBe('invalid-argument');
      expect(err.message).toMatch(reference === '' ? /Enter an image reference/ : /not a valid image reference/);
    }
  });

  it('says a missing tag is missing, and leaves no image', async () => {
    const ref = `${registry().host}/test/big:nope`;
    const err = await failure(app().bridge.invoke('images:pull', { reference: ref, operation: op() }));
    expect(err.message).toMatch(new RegExp(`^Pulling ${ref.replace(/[.]/g, '\\.')} failed: .*(not found|unknown)`, 'i'));
    expect(await imageExists(ref)).toBe(false);
  });

  it('rejects with the error line of the stream when a layer fails mid-pull, and leaves no image', async () => {
    const handle = await open(registryBlobPath(join(registry().root, 'storage'), broken.layers[1]?.digest ?? ''), 'r+');
    try {
      await handle.write(Buffer.from('CORRUPTED'), 0, 9, 1000);
    } finally {
      await handle.close();
    }
    const ref = `${registry().host}/test/broken:latest`;
    const operation = op();
    const err = await failure(app().bridge.invoke('images:pull', { reference: ref, operation }));
    expect(err.message).toMatch(/failed: filesystem layer verification failed for digest/);
    // The error came in-band: progress had started.
    expect((progress.get(operation) ?? []).some((p) => (p.layers?.length ?? 0) > 0)).toBe(true);
    expect(await imageExists(ref)).toBe(false);
  });

  it('cancels a pull in flight', async () => {
    const ref = `${registry().host}/test/big:latest`;
    expect((await daemon().docker(['rmi', ref])).code).toBe(0);
    const operation = op();
    const pull = failure(app().bridge.invoke('images:pull', { reference: ref, operation }));
    await app().bridge.invoke('operation:cancel', { operation });
    const err = await pull;
    expect(err.code).toBe('cancelled');
    expect(err.message).toBe('The pull was cancelled.');
  });

  it('pushes a tag to the registry with progress', async () => {
    const ref = `${registry().host}/pushed/busybox:1`;
    expect((await daemon().docker(['tag', TEST_IMAGE, ref])).code).toBe(0);
    const operation = op();
    await app().bridge.invoke('images:push', { reference: ref, operation });
    const layers = (progress.get(operation) ?? []).flatMap((p) => p.layers ?? []);
    expect(layers.some((l) => /Pushed|already exists/.test(l.status))).toBe(true);
    const head = await fetch(`${registry().url}/v2/pushed/busybox/manifests/1`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    expect(head.status).toBe(200);
  });
});

describe('images:build', () => {
  it('builds a folder with a .dockerignore, streaming the output, and tags the image', async () => {
    const dir = await contexts.dir({
      Dockerfile: `FROM ${TEST_IMAGE}\nCOPY . /ctx/\nRUN ls /ctx && test -e /ctx/kept.txt && test ! -e /ctx/ignored.txt && echo build-ran-ok\n`,
      '.dockerignore': 'ignored.txt\n',
      'kept.txt': 'kept\n',
      'ignored.txt': 'ignored\n',
    });
    const operation = op();
    const { id } = await app().bridge.invoke('images:build', { operation, contextPath: dir, tags: ['app-build:1', 'app-build:latest'] });
    const lines = (progress.get(operation) ?? []).flatMap((p) => (p.line === undefined ? [] : [p.line]));
    expect(lines).toContain(`Step 1/3 : FROM ${TEST_IMAGE}`);
    expect(lines).toContain('build-ran-ok');
    expect((await daemon().dockerode.getImage('app-build:1').inspect()).Id).toBe(id);
    expect(await imageExists('app-build:latest')).toBe(true);
  });

  it('rejects a failing RUN with its exit code', async () => {
    const dir = await contexts.dir({ 'build.Dockerfile': `FROM ${TEST_IMAGE}\nRUN echo before\nRUN exit 7\n` });
    const err = await failure(app().bridge.invoke('images:build', { operation: op(), contextPath: dir, dockerfile: 'build.Dockerfile', tags: ['app-fails:1'] }));
    expect(err.message).toMatch(/non-zero code: 7/);
    expect(await imageExists('app-fails:1')).toBe(false);
  });

  it('cancels a build in flight', async () => {
    const dir = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo started && sleep 30\n` });
    const operation = op();
    const build = failure(app().bridge.invoke('images:build', { operation, contextPath: dir, tags: ['app-cancelled:1'] }));
    await app().bridge.next('operation:progress', (p) => p.operation === operation && p.line === 'started', 20_000);
    await app().bridge.invoke('operation:cancel', { operation });
    const err = await build;
    expect(err.code).toBe('cancelled');
    expect(await imageExists('app-cancelled:1')).toBe(false);
  });

  it('says what is wrong with the folder', async () => {
    const missing = await failure(app().bridge.invoke('images:build', { operation: op(), contextPath: '/no/such/folder', tags: [] }));
    expect(missing.code).toBe('invalid-argument');
    expect(missing.message).toContain('/no/such/folder');
    const relative = await failure(app().bridge.invoke('images:build', { operation: op(), contextPath: 'app', tags: [] }));
    expect(relative.message).toMatch(/absolute path/);
    const dir = await contexts.dir({ 'README.md': 'no Dockerfile here\n' });
    const noDockerfile = await failure(app().bridge.invoke('images:build', { operation: op(), contextPath: dir, tags: [] }));
    expect(noDockerfile.message).toMatch(/no Dockerfile named Dockerfile/);
    await contexts.cleanup();
  });
});
