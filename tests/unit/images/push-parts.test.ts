import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Of, type Digest } from '../../../runtime-agent/src/images/digest.js';
import { DistributionMetadata, type LayerSource } from '../../../runtime-agent/src/images/distribution-metadata.js';
import { gzipLayer } from '../../../runtime-agent/src/images/layer-compression.js';
import { manifestBytes } from '../../../runtime-agent/src/images/push.js';
import { DOCKER_LAYER_TYPE, mountCandidates } from '../../../runtime-agent/src/images/push-layer.js';
import { Slots } from '../../../runtime-agent/src/images/slots.js';

// The pieces of `docker push` that need no registry: the distribution metadata (which blob
// a layer is in which repository), the streaming gzip, the manifest bytes, the upload slots.

const diff = (n: number): Digest => sha256Of(`layer ${n}`);
const source = (n: number, repository: string): LayerSource => ({ digest: sha256Of(`blob ${n}`), size: 100 + n, mediaType: DOCKER_LAYER_TYPE, repository });

describe('distribution metadata', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dist-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps sources per layer, newest first, and persists them', async () => {
    const path = join(dir, 'distribution.json');
    const meta = new DistributionMetadata(path);
    await meta.init();
    await meta.add(diff(1), source(1, 'r.test/a'));
    await meta.add(diff(1), source(2, 'r.test/b'));
    await meta.add(diff(1), source(1, 'r.test/a')); // refreshed: now the newest
    await meta.add(diff(2), source(3, 'r.test/a'));
    expect(meta.sources(diff(1)).map((s) => s.repository)).toEqual(['r.test/a', 'r.test/b']);

    const again = new DistributionMetadata(path);
    await again.init();
    expect(again.sources(diff(1))).toEqual(meta.sources(diff(1)));
    await again.remove(diff(1), source(1, 'r.test/a'));
    expect(again.sources(diff(1))).toEqual([source(2, 'r.test/b')]);
    expect(again.sources(sha256Of('unknown'))).toEqual([]);
  });

  it('drops malformed entries and survives a corrupt file', async () => {
    const path = join(dir, 'distribution.json');
    await writeFile(path, JSON.stringify({ [diff(1)]: [source(1, 'r.test/a'), { digest: 'nope', size: 1, mediaType: 'x', repository: 'r' }], bogus: [] }));
    const meta = new DistributionMetadata(path);
    await meta.init();
    expect(meta.sources(diff(1))).toEqual([source(1, 'r.test/a')]);

    await writeFile(path, '{not json');
    const corrupt = new DistributionMetadata(path);
    await corrupt.init();
    expect(corrupt.sources(diff(1))).toEqual([]);
    await corrupt.add(diff(1), source(1, 'r.test/a'));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ [diff(1)]: [source(1, 'r.test/a')] });
  });

  it('offers other repositories of the same registry as mount sources', async () => {
    const meta = new DistributionMetadata(join(dir, 'distribution.json'));
    await meta.init();
    await meta.add(diff(1), source(1, 'r.test:5000/team/a'));
    await meta.add(diff(1), source(1, 'r.test:5000/team/b'));
    await meta.add(diff(2), source(2, 'other.test/team/c'));
    expect(mountCandidates(meta, [diff(1), diff(2)], 'r.test:5000', 'team/b')).toEqual(['team/a']);
  });
});

describe('layer compression', () => {
  it('gzips a stream, counting the uncompressed bytes it read', async () => {
    const tar = Buffer.alloc(300_000, 'berth ');
    let read = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of gzipLayer(Readable.from([tar.subarray(0, 100_000), tar.subarray(100_000)]), (n) => (read += n))) chunks.push(chunk as Buffer);
    const gz = Buffer.concat(chunks);
    expect(read).toBe(tar.length);
    expect(gunzipSync(gz).equals(tar)).toBe(true);
    expect(gz.length).toBeLessThan(tar.length / 10);
  });

  it('surfaces a read error on the compressed stream', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const consume = async (): Promise<void> => {
      for await (const _ of gzipLayer(failing, () => undefined)) void _;
    };
    await expect(consume()).rejects.toThrow('disk on fire');
  });
});

describe('schema 2 manifest', () => {
  it('lists the config and layers in Docker’s field order, hashed as sent', () => {
    const config = { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256Of('config'), size: 10 };
    const layer = { mediaType: DOCKER_LAYER_TYPE, digest: sha256Of('layer'), size: 20 };
    const bytes = manifestBytes(config, [layer]);
    const parsed = JSON.parse(bytes.toString()) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['schemaVersion', 'mediaType', 'config', 'layers']);
    expect(parsed.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(Object.keys(parsed.config as object)).toEqual(['mediaType', 'size', 'digest']);
    expect(parsed.layers).toEqual([{ mediaType: DOCKER_LAYER_TYPE, size: 20, digest: layer.digest }]);
    expect(createHash('sha256').update(bytes).digest('hex')).toHaveLength(64);
  });
});

describe('upload slots', () => {
  it('runs at most the limit at once, in order, and tells the queued', async () => {
    const slots = new Slots(2);
    let running = 0;
    let peak = 0;
    const queued: number[] = [];
    const started: number[] = [];
    const task = (n: number) => async (): Promise<number> => {
      started.push(n);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return n;
    };
    const results = await Promise.all([1, 2, 3, 4].map((n) => slots.run(task(n), () => queued.push(n))));
    expect(results).toEqual([1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(queued).toEqual([3, 4]);
    expect(started).toEqual([1, 2, 3, 4]);
  });
});
