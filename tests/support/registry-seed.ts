import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { FIXTURES_DIR } from './fixtures.js';

/**
 * Images made in memory and uploaded straight to a test registry over the distribution API
 * (plain HTTP, optional basic auth), not through berthd: pull tests and the pull bench start
 * from content they know byte for byte, and a bug in berthd's own registry client or push
 * cannot hide one in pull.
 *
 *   const seed = new RegistrySeeder(registry().url);
 *   const image = await busyboxImage();                      // the test image's OCI layout
 *   const digest = await seed.pushImage('test/busybox', 'latest', image);
 *   const layer = gzipLayer([{ name: 'extra.txt', data: Buffer.from('x') }]);
 *   await seed.pushImage('test/layered', 'latest', imageOf([...image.layers, layer]));
 */
export interface SeedBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly bytes: Buffer;
}

export interface SeedLayer extends SeedBlob {
  /** sha256 of the uncompressed tar (the config's diff ID). */
  readonly diffId: string;
}

export interface SeedImage {
  readonly config: SeedBlob;
  readonly layers: readonly SeedLayer[];
  readonly manifest: SeedBlob;
}

export const SEED_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerGzipLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobOf(mediaType: string, bytes: Buffer): SeedBlob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

/** A layer tar of regular files, gzip-compressed (level 1: content is often random). */
export async function gzipLayer(files: readonly { name: string; data: Buffer }[]): Promise<SeedLayer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: file.name, size: file.data.length, mode: 0o644, mtime: new Date(0) }, file.data, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await ended;
  const tarBytes = Buffer.concat(chunks);
  return { ...blobOf(SEED_TYPES.dockerGzipLayer, gzipSync(tarBytes, { level: 1 })), diffId: sha256(tarBytes) };
}

/** One layer holding one file of `size` random bytes. */
export function randomLayer(name: string, size: number): Promise<SeedLayer> {
  return gzipLayer([{ name, data: randomBytes(size) }]);
}

/** A Docker v2 image of these layers; `config` adds to (or overrides) the config JSON. */
export function imageOf(layers: readonly SeedLayer[], config: Record<string, unknown> = {}): SeedImage {
  const configJson = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    ...config,
  };
  const configBlob = blobOf(SEED_TYPES.dockerConfig, Buffer.from(JSON.stringify(configJson)));
  return withConfig(layers, configBlob);
}

/** The same layers under another config blob (another platform, say): a new image. */
export function withConfig(layers: readonly SeedLayer[], config: SeedBlob): SeedImage {
  const manifest = {
    schemaVersion: 2,
    mediaType: SEED_TYPES.dockerManifest,
    config: descriptor(config),
    layers: layers.map(descriptor),
  };
  return { config, layers, manifest: blobOf(SEED_TYPES.dockerManifest, Buffer.from(JSON.stringify(manifest))) };
}

/** The config JSON of `image` with `changes` applied, as a new config blob. */
export function changedConfig(image: SeedImage, changes: Record<string, unknown>): SeedBlob {
  const json = JSON.parse(image.config.bytes.toString('utf8')) as Record<string, unknown>;
  return blobOf(image.config.mediaType, Buffer.from(JSON.stringify({ ...json, ...changes })));
}

/** An OCI index over images, each with the platform it claims. */
export function indexOf(entries: readonly { image: SeedImage; platform: { os: string; architecture: string; variant?: string } }[]): SeedBlob {
  const index = {
    schemaVersion: 2,
    mediaType: SEED_TYPES.ociIndex,
    manifests: entries.map((e) => ({ ...descriptor(e.image.manifest), platform: e.platform })),
  };
  return blobOf(SEED_TYPES.ociIndex, Buffer.from(JSON.stringify(index)));
}

function descriptor(blob: SeedBlob): { mediaType: string; digest: string; size: number } {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
}

/** The test image (berth.test/busybox, built by `npm run test-image`) from its OCI layout, as is. */
export async function busyboxImage(): Promise<SeedImage> {
  const dir = join(FIXTURES_DIR, 'busybox-oci');
  const read = (digest: string): Promise<Buffer> => readFile(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
  const top = index.manifests[0];
  if (top === undefined) throw new Error(`${dir}/index.json names no manifest`);
  const manifestBytes = await read(top.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { config: { digest: string; mediaType: string }; layers: { digest: string; mediaType: string }[] };
  const configBytes = await read(manifest.config.digest);
  const diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  const layers = await Promise.all(
    manifest.layers.map(async (l, i) => ({ ...blobOf(l.mediaType, await read(l.digest)), diffId: diffIds[i] as string })),
  );
  return { config: blobOf(manifest.config.mediaType, configBytes), layers, manifest: blobOf(top.mediaType, manifestBytes) };
}

/** Where the registry (filesystem driver) keeps a blob's bytes under its storage dir. */
export function registryBlobPath(storageDir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** Uploads blobs and manifests to one registry (`http://127.0.0.1:<port>`). */
export class RegistrySeeder {
  private readonly headers: Record<string, string>;

  constructor(
    private readonly url: string,
    auth?: { readonly username: string; readonly password: string },
  ) {
    this.headers = auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }

  /** Config, layers, then the manifest under `tag`; returns the manifest's digest. */
  async pushImage(repo: string, tag: string, image: SeedImage): Promise<string> {
    for (const blob of [image.config, ...image.layers]) await this.uploadBlob(repo, blob);
    return this.putManifest(repo, tag, image.manifest);
  }

  /** POST an upload, PUT the bytes with their digest (a monolithic upload). */
  async uploadBlob(repo: string, blob: SeedBlob): Promise<void> {
    const started = await fetch(`${this.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: this.headers });
    await started.arrayBuffer();
    const location = started.headers.get('location');
    if (started.status !== 202 || location === null) throw new Error(`starting an upload to ${repo}: HTTP ${started.status}`);
    const target = new URL(location, this.url);
    target.searchParams.set('digest', blob.digest);
    const put = await fetch(target, {
      method: 'PUT',
      headers: { ...this.headers, 'Content-Type': 'application/octet-stream' },
      body: bodyOf(blob.bytes),
    });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`uploading ${blob.digest} to ${repo}: HTTP ${put.status} ${text}`);
  }

  /** PUT a manifest (or index) under a tag or its digest; returns the registry's digest for it. */
  async putManifest(repo: string, reference: string, manifest: SeedBlob): Promise<string> {
    const res = await fetch(`${this.url}/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...this.headers, 'Content-Type': manifest.mediaType },
      body: bodyOf(manifest.bytes),
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`putting manifest ${reference} in ${repo}: HTTP ${res.status} ${text}`);
    return res.headers.get('docker-content-digest') ?? manifest.digest;
  }
}

/** fetch's body types want a plain ArrayBuffer-backed view; a Buffer may sit in a shared pool. */
function bodyOf(bytes: Buffer): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}
