import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, gzipSync, imageConfig, sha256Of, testRoot, type TarEntry, type TestRoot } from './fixtures.js';

log.setQuiet(true);

let root: TestRoot;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(() => root.cleanup());

const hex = (b: Buffer): string => sha256Of(b).slice(7);

async function layers(): Promise<[Buffer, Buffer]> {
  const base = await buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/sh', data: '#!sh', mode: 0o755 },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' },
  ]);
  const top = await buildTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.passwd', data: '' },
    { name: 'hello', data: 'world' },
  ]);
  return [base, top];
}

async function load(archive: Buffer, quiet = false): Promise<{ lines: string[]; progress: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const progress: Record<string, unknown>[] = [];
  await root.images.load(Readable.from([archive]), quiet, { line: (t) => lines.push(t), progress: (m) => progress.push(m) });
  return { lines, progress };
}

async function assertEmptyStore(): Promise<void> {
  expect(root.images.count()).toBe(0);
  expect(await readdir(root.layout.layersDir)).toEqual([]);
  expect(await readdir(root.layout.blobsDir)).toEqual([]);
  expect(await readdir(root.layout.tmpDir)).toEqual([]);
}

describe('docker load of a docker save archive', () => {
  it('loads the legacy layout: <id>/layer.tar (plain and gzip), symlinked duplicates', async () => {
    const [base, top] = await layers();
    const config = imageConfig([base, top, base]);
    const archive = await buildTar([
      { name: `${hex(config)}.json`, data: config },
      { name: 'l1/', type: 'directory' },
      { name: 'l1/layer.tar', data: base },
      { name: 'l2/layer.tar', data: gzipSync(top) },
      { name: 'l3/layer.tar', type: 'symlink', linkname: '../l1/layer.tar' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ['busybox:latest', 'localhost:5000/bb:1'], Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3/layer.tar'] }]) },
      { name: 'repositories', data: '{}' },
    ]);
    const { lines, progress } = await load(archive);
    expect(lines).toEqual(['Loaded image: busybox:latest', 'Loaded image: localhost:5000/bb:1']);
    expect(progress.filter((p) => p.status === 'Loading layer')).toHaveLength(4);
    const image = await root.images.resolve('busybox');
    expect(image.id).toBe(sha256Of(config));
    expect(image.repoTags).toEqual(['busybox:latest', 'localhost:5000/bb:1']);
    expect(image.layers).toHaveLength(3);
    expect(await readFile(join(image.layers[0]?.dir ?? '', 'bin/sh'), 'utf8')).toBe('#!sh');
    expect(await readFile(join(image.layers[1]?.dir ?? '', 'hello'), 'utf8')).toBe('world');
    // The layer tar is kept uncompressed, keyed by diff ID, for a byte-exact save.
    expect(await root.images.store.content.read(sha256Of(top))).toEqual(top);
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
  });

  it('loads the modern layout (blobs/sha256 + manifest.json) and reports retags', async () => {
    const [base] = await layers();
    const config = imageConfig([base]);
    const entries: TarEntry[] = [
      { name: 'blobs/sha256/', type: 'directory' },
      { name: `blobs/sha256/${hex(config)}`, data: config },
      { name: `blobs/sha256/${hex(base)}`, data: base },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${hex(config)}`, RepoTags: ['app:1'], Layers: [`blobs/sha256/${hex(base)}`] }]) },
    ];
    await load(await buildTar(entries), true);
    const other = imageConfig([base], { comment: 'other' });
    const second = await buildTar([
      { name: `blobs/sha256/${hex(other)}`, data: other },
      { name: `blobs/sha256/${hex(base)}`, data: base },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${hex(other)}`, RepoTags: ['app:1'], Layers: [`blobs/sha256/${hex(base)}`] }]) },
    ]);
    const { lines, progress } = await load(second, true);
    expect(progress).toEqual([]);
    expect(lines).toEqual([`The image app:1 already exists, renaming the old one with ID ${sha256Of(config)} to empty string`, 'Loaded image: app:1']);
    expect(root.images.count()).toBe(2);
    expect(await readdir(root.layout.layersDir)).toHaveLength(1); // shared
  });

  it('loads an untagged image and says its ID', async () => {
    const [base] = await layers();
    const config = imageConfig([base]);
    const { lines } = await load(
      await buildTar([
        { name: `${hex(config)}.json`, data: config },
        { name: 'x/layer.tar', data: base },
        { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: null, Layers: ['x/layer.tar'] }]) },
      ]),
    );
    expect(lines).toEqual([`Loaded image ID: ${sha256Of(config)}`]);
  });
});

describe('docker load of an OCI layout', () => {
  it('verifies every blob and names images from the annotations', async () => {
    const [base, top] = await layers();
    const gzTop = gzipSync(top);
    const config = imageConfig([base, top]);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Of(config), size: config.length },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Of(base), size: base.length },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256Of(gzTop), size: gzTop.length },
        ],
      }),
    );
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(Buffer.from('x')), size: 1, platform: { os: 'linux', architecture: 'riscv64' } },
        ],
      }),
    );
    const index = {
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256Of(nested), size: nested.length, annotations: { 'io.containerd.image.name': 'docker.io/library/alpine:3', 'org.opencontainers.image.ref.name': '3' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'mirror.local/alpine:edge' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
      ],
    };
    const blobs = [config, base, gzTop, manifest, nested].map((b) => ({ name: `blobs/sha256/${hex(b)}`, data: b }));
    const archive = await buildTar([{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: JSON.stringify(index) }, ...blobs]);
    const { lines } = await load(gzipSync(archive));
    expect(lines).toEqual(['Loaded image: alpine:3', 'Loaded image: mirror.local/alpine:edge']);
    const image = await root.images.resolve('alpine:3');
    expect(image.id).toBe(sha256Of(config));
    expect([...image.repoDigests].sort()).toEqual([`alpine@${sha256Of(manifest)}`, `mirror.local/alpine@${sha256Of(manifest)}`]);
    expect((await root.images.resolve(`alpine@${sha256Of(manifest)}`)).id).toBe(image.id);
  });
});

describe('corrupt and hostile archives', () => {
  it('refuses a layer whose diff ID does not match, leaving nothing', async () => {
    const [base, top] = await layers();
    const config = imageConfig([base, base]);
    const archive = await buildTar([
      { name: `${hex(config)}.json`, data: config },
      { name: 'a/layer.tar', data: base },
      { name: 'b/layer.tar', data: top },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ['x:1'], Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
    ]);
    // b/layer.tar is not the second diff ID (the archive claims base twice, so b differs)
    await expect(load(archive)).rejects.toThrow(/digest mismatch/);
    await assertEmptyStore();
  });

  it('refuses an archive whose second image has a hostile layer; the first is not kept either', async () => {
    const [base] = await layers();
    const evil = await buildTar([{ name: '../../escape', data: 'x' }]);
    const good = imageConfig([base]);
    const bad = imageConfig([base, evil]);
    const archive = await buildTar([
      { name: `${hex(good)}.json`, data: good },
      { name: `${hex(bad)}.json`, data: bad },
      { name: 'base.tar', data: base },
      { name: 'evil.tar', data: evil },
      {
        name: 'manifest.json',
        data: JSON.stringify([
          { Config: `${hex(good)}.json`, RepoTags: ['good:1'], Layers: ['base.tar'] },
          { Config: `${hex(bad)}.json`, RepoTags: ['bad:1'], Layers: ['base.tar', 'evil.tar'] },
        ]),
      },
    ]);
    await expect(load(archive)).rejects.toMatchObject({ code: 'invalid-parameter', message: expect.stringMatching(/refusing tar entry "\.\.\/\.\.\/escape"/) });
    await assertEmptyStore();
  });

  it.each([
    ['no manifest', async () => buildTar([{ name: 'x', data: 'y' }]), /does not contain a manifest.json/],
    ['not a tar', async () => Buffer.from('garbage'.repeat(100)), /invalid archive/],
    ['a config that lies about its digest', async () => {
      const [base] = await layers();
      const config = imageConfig([base]);
      return buildTar([
        { name: `blobs/sha256/${'0'.repeat(64)}`, data: config },
        { name: 'l', data: base },
        { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${'0'.repeat(64)}`, RepoTags: [], Layers: ['l'] }]) },
      ]);
    }, /does not match its digest/],
    ['a manifest path escaping the archive', async () => buildTar([{ name: 'manifest.json', data: JSON.stringify([{ Config: '../../etc/passwd', RepoTags: [], Layers: [] }]) }]), /"\.\." is not allowed/],
    ['a layer count mismatch', async () => {
      const [base] = await layers();
      const config = imageConfig([base]);
      return buildTar([
        { name: 'c.json', data: config },
        { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: [] }]) },
      ]);
    }, /layers length mismatch: expected 0, got 1/],
    ['an invalid tag', async () => {
      const [base] = await layers();
      const config = imageConfig([base]);
      return buildTar([
        { name: 'c.json', data: config },
        { name: 'l', data: base },
        { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['Bad:Tag'], Layers: ['l'] }]) },
      ]);
    }, /must be lowercase/],
  ])('refuses %s with a 400', async (_name, archive, message) => {
    await expect(load(await archive())).rejects.toMatchObject({ code: 'invalid-parameter', message: expect.stringMatching(message) });
    await assertEmptyStore();
  });
});
