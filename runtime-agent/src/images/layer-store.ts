import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import type { DataLayout } from '../store/layout.js';
import type { ContentStore } from './content-store.js';
import { hexOf, isDigest, sha256Of, type Digest } from './digest.js';
import { extractLayer } from './tar-extract.js';
import type { LayerAddon } from './whiteouts.js';

/** `layers/<chain hex>/layer.json`. */
export interface LayerRecord {
  readonly chainId: Digest;
  readonly diffId: Digest;
  /** Chain ID of the layer below, '' for a base layer. */
  readonly parent: Digest | '';
  /** Docker's layer size: regular file bytes (hardlinks once) plus symlink targets. */
  readonly size: number;
  readonly created: string;
}

/**
 * Unpacked layers, one directory per chain ID, shared by every image (and so every
 * container) whose layer stack has that chain:
 *
 *   layers/<chain hex>/diff/         the layer's own files, whiteouts in overlay form
 *   layers/<chain hex>/layer.json    LayerRecord
 *
 * A layer is unpacked from its uncompressed tar, the content-store blob named by its diff
 * ID, into tmp/layer-<random>/ and renamed into place only when complete, so a failed or
 * hostile unpack leaves nothing behind and a layer dir is always whole. The store does not
 * count references itself: the image store computes which chains its records use and
 * removes the rest (see ImageStore.collect).
 */
export class LayerStore {
  private readonly layers = new Map<Digest, LayerRecord>();
  private readonly unpacking = new Map<Digest, Promise<LayerRecord>>();

  constructor(
    private readonly layout: DataLayout,
    private readonly content: ContentStore,
    private readonly addon: LayerAddon,
  ) {}

  /** Loads every complete layer; removes dirs a crash left without their layer.json. */
  async init(): Promise<void> {
    await mkdir(this.layout.layersDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.layout.layersDir)) {
      const record = await readJson<LayerRecord>(join(this.layout.layer(name), 'layer.json'));
      if (record && isDigest(record.chainId) && hexOf(record.chainId) === name) {
        this.layers.set(record.chainId, record);
      } else {
        log.warn('image.layer.discard', { layer: name, reason: 'incomplete' });
        await rm(this.layout.layer(name), { recursive: true, force: true });
      }
    }
  }

  get(chainId: Digest): LayerRecord | undefined {
    return this.layers.get(chainId);
  }

  all(): LayerRecord[] {
    return [...this.layers.values()];
  }

  /** The layer's files: an overlay lower dir. */
  dir(chainId: Digest): string {
    return join(this.layout.layer(hexOf(chainId)), 'diff');
  }

  static chainOf(parent: Digest | '', diffId: Digest): Digest {
    return parent === '' ? diffId : sha256Of(`${parent} ${diffId}`);
  }

  /**
   * Unpacks the layer whose uncompressed tar is the blob `diffId`, on top of `parent`,
   * unless that chain is unpacked already (or being unpacked: callers share the work).
   */
  register(diffId: Digest, parent: Digest | ''): Promise<LayerRecord> {
    const chainId = LayerStore.chainOf(parent, diffId);
    const existing = this.layers.get(chainId);
    if (existing) return Promise.resolve(existing);
    let pending = this.unpacking.get(chainId);
    if (!pending) {
      pending = this.unpack(chainId, diffId, parent).finally(() => this.unpacking.delete(chainId));
      this.unpacking.set(chainId, pending);
    }
    return pending;
  }

  private async unpack(chainId: Digest, diffId: Digest, parent: Digest | ''): Promise<LayerRecord> {
    const started = Date.now();
    const staging = join(this.layout.tmpDir, `layer-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(staging, 'diff'), { recursive: true, mode: 0o755 });
      const { size, entries } = await extractLayer(this.content.stream(diffId), join(staging, 'diff'), this.addon);
      const record: LayerRecord = { chainId, diffId, parent, size, created: new Date().toISOString() };
      await writeJsonAtomic(join(staging, 'layer.json'), record);
      try {
        await rename(staging, this.layout.layer(hexOf(chainId)));
      } catch (err) {
        if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') throw err;
        await rm(staging, { recursive: true, force: true }); // another berthd op won the race
      }
      this.layers.set(chainId, record);
      log.info('image.layer.unpack', { chain: chainId, diff: diffId, size, entries, ms: Date.now() - started });
      return record;
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** Deletes a layer dir (moved aside first, so a crash never leaves half a layer in place). */
  async remove(chainId: Digest): Promise<LayerRecord | undefined> {
    const record = this.layers.get(chainId);
    if (!record) return undefined;
    this.layers.delete(chainId);
    const doomed = join(this.layout.tmpDir, `rm-layer-${randomBytes(8).toString('hex')}`);
    try {
      await rename(this.layout.layer(hexOf(chainId)), doomed);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return record;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
    log.info('image.layer.remove', { chain: chainId });
    return record;
  }
}
