import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonMessage } from '../../../runtime-agent/src/images/progress-types.js';
import { log } from '../../../runtime-agent/src/log.js';
import { pullImage, pullReference, type PullOptions } from '../../../runtime-agent/src/images/pull.js';
import type { FetchedManifest, RegistryClient, RepositorySession } from '../../../runtime-agent/src/registry/types.js';
import { buildTar, gzipSync, imageConfig, sha256Of, testRoot, type Digest, type TestRoot } from './fixtures.js';

/**
 * The pull engine (images/pull.ts) against an in-memory registry whose blob downloads can be
 * cut off or stalled on purpose: what a real registry cannot be made to do on demand. The
 * store, layers and files are real (a temp data root). The integration suite
 * (tests/integration/pull.test.ts) covers the rest against Debian's registry.
 */
log.setQuiet(true);

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const GZIP_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

interface Faults {
  /** Downloads of this blob to cut off half-way before one goes through (Infinity: all). */
  cuts: number;
  /** Serve half the blob, then never end (until destroyed). */
  stall?: boolean;
}

class MemoryRegistry implements RegistryClient {
  readonly manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  readonly blobs = new Map<string, Buffer>();
  readonly faults = new Map<string, Faults>();
  fetches = 0;

  open(location: { domain: string; path: string }): RepositorySession {
    return {
      location,
      getManifest: async (reference: string): Promise<FetchedManifest> => {
        const m = this.manifests.get(reference);
        if (!m) throw new Error(`manifest for ${reference} not found`);
        return { digest: sha256Of(m.bytes), mediaType: m.mediaType, bytes: m.bytes };
      },
      fetchBlob: async (digest: Digest): Promise<Readable> => {
        this.fetches++;
        const bytes = this.blobs.get(digest);
        if (!bytes) throw new Error(`blob ${digest} unknown`);
        const fault = this.faults.get(digest);
        if (fault !== undefined && (fault.stall === true || fault.cuts > 0)) {
          fault.cuts--;
          const stream = new Readable({ read: () => undefined });
          stream.push(bytes.subarray(0, bytes.length >> 1));
          if (fault.stall !== true) setImmediate(() => stream.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
          return stream;
        }
        return Readable.from([bytes]);
      },
      putManifest: () => Promise.reject(new Error('read-only')),
      statBlob: () => Promise.resolve(undefined),
      mountBlob: () => Promise.resolve(false),
      uploadBlob: () => Promise.reject(new Error('read-only')),
    };
  }

  login(): Promise<{ identityToken?: string }> {
    return Promise.resolve({});
  }

  /** One image: a gzip layer of one file, its config, its manifest under `tag`. */
  async add(tag: string, layerMediaType = GZIP_LAYER): Promise<{ layer: Digest; config: Digest }> {
    const tar = await buildTar([{ name: 'hello.txt', data: `hello from ${tag}\n`.repeat(2000) }]);
    const layer = gzipSync(tar);
    const config = imageConfig([tar]);
    this.blobs.set(sha256Of(layer), layer);
    this.blobs.set(sha256Of(config), config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256Of(config), size: config.length },
        layers: [{ mediaType: layerMediaType, digest: sha256Of(layer), size: layer.length }],
      }),
    );
    this.manifests.set(tag, { mediaType: MANIFEST, bytes: manifest });
    return { layer: sha256Of(layer), config: sha256Of(config) };
  }
}

let root: TestRoot;
let registry: MemoryRegistry;
let messages: JsonMessage[];

function pull(reference: string, extra: Partial<PullOptions> = {}): ReturnType<typeof pullImage> {
  const store = root.images.store;
  const ctx = { store, registry, distribution: root.images.distribution, tmpDir: root.layout.tmpDir };
  return pullImage(ctx, pullReference(reference), { sink: { send: (m) => messages.push(m) }, ...extra });
}

/** Nothing of a failed pull may remain: no image, layer, blob or scratch file. */
async function expectEmptyStore(): Promise<void> {
  expect(root.images.store.all()).toEqual([]);
  expect(await readdir(root.layout.layersDir)).toEqual([]);
  expect(await readdir(root.layout.blobsDir)).toEqual([]);
  expect(await readdir(root.layout.tmpDir)).toEqual([]);
}

beforeEach(async () => {
  root = await testRoot();
  registry = new MemoryRegistry();
  messages = [];
});

afterEach(async () => {
  await root.cleanup();
});

describe('pull engine', () => {
  it('retries a download cut off half-way and then succeeds', async () => {
    const { layer, config } = await registry.add('v1');
    registry.faults.set(layer, { cuts: 1 });
    const outcome = await pull('reg.test/app:v1');
    expect(outcome.id).toBe(config);
    expect(messages.some((m) => m.status === 'Retrying in 1 second')).toBe(true);
    expect(messages.at(-1)?.status).toBe('Status: Downloaded newer image for reg.test/app:v1');
    expect(root.images.store.get(config)).toBeDefined();
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
  });

  it('gives up after three attempts and leaves nothing', { timeout: 20_000 }, async () => {
    const { layer } = await registry.add('v1');
    registry.faults.set(layer, { cuts: Infinity });
    await expect(pull('reg.test/app:v1')).rejects.toThrow(new RegExp(`downloading layer ${layer} failed after 3 attempts: socket hang up`));
    expect(messages.filter((m) => m.status?.startsWith('Retrying in') === true).map((m) => m.status)).toEqual([
      'Retrying in 1 second',
      'Retrying in 2 seconds',
      'Retrying in 1 second',
    ]);
    await expectEmptyStore();
  });

  it('stops when its signal aborts mid-download, leaving nothing', async () => {
    const { layer } = await registry.add('v1');
    registry.faults.set(layer, { cuts: 0, stall: true });
    const abort = new AbortController();
    const pulling = pull('reg.test/app:v1', { signal: abort.signal });
    while (!messages.some((m) => m.status === 'Downloading')) await new Promise((r) => setTimeout(r, 5));
    abort.abort(new Error('the client closed the connection'));
    await expect(pulling).rejects.toThrow('the client closed the connection');
    await expectEmptyStore();
  });

  it('refuses zstd layers before downloading anything', async () => {
    await registry.add('z', 'application/vnd.oci.image.layer.v1.tar+zstd');
    await expect(pull('reg.test/app:z')).rejects.toThrow(/compressed with zstd .* which berthd cannot read yet/);
    expect(registry.fetches).toBe(0);
    await expectEmptyStore();
  });

  it('refuses schema 1 manifests with Docker\'s message, before any output', async () => {
    registry.manifests.set('old', { mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', bytes: Buffer.from('{"schemaVersion":1}') });
    await expect(pull('reg.test/app:old')).rejects.toThrow(/Docker Image manifest version 2, schema 1 support has been removed/);
    expect(messages).toEqual([]);
  });

  it('checks a manifest fetched by digest against that digest', async () => {
    await registry.add('v1');
    const wrong = sha256Of('something else');
    const real = registry.manifests.get('v1');
    if (real === undefined) throw new Error('no manifest');
    registry.manifests.set(wrong, real);
    await expect(pull(`reg.test/app@${wrong}`)).rejects.toThrow(`manifest verification failed for digest ${wrong}`);
    await expectEmptyStore();
  });
});
