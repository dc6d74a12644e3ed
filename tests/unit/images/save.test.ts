import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, imageConfig, sha256Of, testRoot, type TestRoot } from './fixtures.js';

log.setQuiet(true);

let a: TestRoot;
let b: TestRoot;
beforeEach(async () => {
  [a, b] = await Promise.all([testRoot(), testRoot()]);
});
afterEach(async () => {
  await Promise.all([a.cleanup(), b.cleanup()]);
});

const noOutput = { line: () => undefined, progress: () => undefined };

async function save(root: TestRoot, names: string[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await root.images.writeSave(root.images.planSave(names), out);
  return Buffer.concat(chunks);
}

async function entries(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header: tar.Headers, stream: Readable, next: () => void) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await new Promise<void>((ok, fail) => {
    extract.on('finish', ok);
    extract.on('error', fail);
    extract.end(archive);
  });
  return files;
}

async function seed(root: TestRoot): Promise<{ id: string; layers: Buffer[] }> {
  const base = await buildTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', data: 'sh', mode: 0o755 }]);
  const top = await buildTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh.gone', data: '' }, { name: 'etc/hostname', data: 'x' }]);
  const config = imageConfig([base, top]);
  const hex = sha256Of(config).slice(7);
  await root.images.load(
    Readable.from([
      await buildTar([
        { name: `${hex}.json`, data: config },
        { name: 'a/layer.tar', data: base },
        { name: 'b/layer.tar', data: top },
        { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['busybox:latest', 'busybox:1', 'other:x'], Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
      ]),
    ]),
    true,
    noOutput,
  );
  return { id: sha256Of(config), layers: [base, top] };
}

describe('docker save', () => {
  it('writes manifest.json, an OCI layout and repositories over exact blobs, deterministically', async () => {
    const { id, layers } = await seed(a);
    const archive = await save(a, ['busybox:latest']);
    expect(await save(a, ['busybox:latest'])).toEqual(archive);
    const files = await entries(archive);
    expect([...files.keys()].filter((n) => !n.startsWith('blobs/sha256/') || n.endsWith('/'))).toEqual([
      'blobs/',
      'blobs/sha256/',
      'index.json',
      'manifest.json',
      'oci-layout',
      'repositories',
    ]);
    const manifest = JSON.parse(files.get('manifest.json')?.toString() ?? '') as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]?.Config).toBe(`blobs/sha256/${id.slice(7)}`);
    expect(manifest[0]?.RepoTags).toEqual(['busybox:latest']);
    expect(manifest[0]?.Layers.map((l) => files.get(l))).toEqual(layers);
    const index = JSON.parse(files.get('index.json')?.toString() ?? '') as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]?.annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' });
    const ociManifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0]?.digest.slice(7) ?? ''}`)?.toString() ?? '') as { config: { digest: string } };
    expect(ociManifest.config.digest).toBe(id);
    expect(JSON.parse(files.get('repositories')?.toString() ?? '')).toEqual({ busybox: { latest: sha256Of(layers[1] as Buffer).slice(7) } });
  });

  it('round-trips through load into a fresh root with identical IDs and tags', async () => {
    const { id } = await seed(a);
    await b.images.load(Readable.from([await save(a, ['busybox'])]), true, noOutput);
    const image = await b.images.resolve('busybox:1');
    expect(image.id).toBe(id);
    expect(image.repoTags).toEqual(['busybox:1', 'busybox:latest']);
    expect(image.layers.map((l) => l.chainId)).toEqual((await a.images.resolve('busybox')).layers.map((l) => l.chainId));
  });

  it('is loadable through its OCI layout alone', async () => {
    const { id } = await seed(a);
    const files = await entries(await save(a, ['other:x']));
    files.delete('manifest.json');
    const oci = await buildTar([...files.entries()].filter(([n]) => !n.endsWith('/')).map(([name, data]) => ({ name, data })));
    await b.images.load(Readable.from([oci]), true, noOutput);
    expect((await b.images.resolve('other:x')).id).toBe(id);
  });

  it('saves an image named by ID untagged', async () => {
    const { id } = await seed(a);
    const files = await entries(await save(a, [id.slice(7, 19)]));
    expect(files.has('repositories')).toBe(false);
    expect(JSON.parse(files.get('manifest.json')?.toString() ?? '')).toMatchObject([{ RepoTags: null }]);
  });

  it('refuses unknown names before writing anything', async () => {
    await seed(a);
    expect(() => a.images.planSave(['nope:1'])).toThrow('No such image: nope:1');
    expect(() => a.images.planSave(['Bad'])).toThrow('must be lowercase');
  });
});
