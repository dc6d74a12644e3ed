import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, invalid, notFound } from '../errors.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import type { DataLayout } from '../store/layout.js';
import type { ContentStore } from './content-store.js';
import { chainIds, hexOf, isDigest, type Digest } from './digest.js';
import { hostArchitecture, parseImageConfig, type ImageConfigJson } from './image-config.js';
import type { LayerRecord, LayerStore } from './layer-store.js';
import { Mutex } from './lock.js';
import { familiarString, isIdPrefix, parseNormalizedNamed, storeReference, type ImageReference } from './reference.js';
import { ReferenceStore } from './references.js';
import type { Image, ImageProvider, ImageUsers } from './types.js';

/**
 * Image records: `images/<id hex>.json` (ImageRecord) beside the config blob whose sha256
 * is the ID, plus the references in `images/repositories.json` (references.ts).
 *
 * Vocabulary: an image is *dangling* when no tag points at it; a *ghost* is an image
 * removed with force while containers still use it — hidden from every listing and
 * look-up by name, still returned by `byId` for those containers, and reaped (with its
 * layers) by the next rmi or prune once no container uses it. Layers are reference-counted
 * by computation: a layer goes when no record (ghosts included) and no lease (an import or
 * load in progress) names its chain.
 *
 * Mutations run inside `exclusive`, one at a time; look-ups read the in-memory maps.
 */
export interface ImageRecord {
  readonly id: Digest;
  /** Set by `docker load` from manifest.json's Parent when both images are in the archive. */
  parent?: Digest;
  lastTagTime?: string;
  ghost?: boolean;
  readonly added: string;
}

export interface StoredImage {
  readonly id: Digest;
  readonly config: ImageConfigJson;
  /** Chain ID per layer, bottom first. */
  readonly chainIds: readonly Digest[];
  readonly record: ImageRecord;
}

/** What rmi and prune know of containers: ImageUsers, and whether one is running if known. */
export interface ContainerUsers extends ImageUsers {
  /** When provided, running users make rmi -f fail as Docker's "cannot be forced". */
  isRunning?(containerId: string): boolean;
}

/** Digests (chains and blobs) an unfinished import or load holds against collection. */
export type Lease = Set<Digest>;

export class ImageStore implements ImageProvider {
  readonly refs: ReferenceStore;
  private readonly images = new Map<Digest, StoredImage>();
  private readonly mutex = new Mutex();
  private readonly leases = new Set<Lease>();

  constructor(
    private readonly layout: DataLayout,
    readonly content: ContentStore,
    readonly layers: LayerStore,
    readonly users: ContainerUsers,
  ) {
    this.refs = new ReferenceStore(join(layout.imagesDir, 'repositories.json'));
  }

  async init(): Promise<void> {
    await mkdir(this.layout.imagesDir, { recursive: true, mode: 0o700 });
    await this.refs.init();
    let skipped = 0;
    for (const name of await readdir(this.layout.imagesDir)) {
      const m = /^([a-f0-9]{64})\.json$/.exec(name);
      if (!m) continue;
      try {
        const record = await readJson<ImageRecord>(join(this.layout.imagesDir, name));
        if (!record || record.id !== `sha256:${m[1] as string}`) throw new Error('record does not match its file name');
        this.images.set(record.id, await this.materialise(record));
      } catch (err) {
        skipped++;
        log.warn('image.record.skip', { file: name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    // Garbage a crash left (a load cut short) goes; but not when some record could not be
    // read, as its blobs and layers would look like garbage too.
    if (skipped === 0) await this.exclusive(() => this.collectOrphans());
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  // ---- look-ups --------------------------------------------------------------------

  /** A visible (not ghost) image by exact ID. */
  get(id: Digest): StoredImage | undefined {
    const image = this.images.get(id);
    return image && image.record.ghost !== true ? image : undefined;
  }

  all(): StoredImage[] {
    return [...this.images.values()].filter((i) => i.record.ghost !== true);
  }

  count(): number {
    return this.all().length;
  }

  children(id: Digest): StoredImage[] {
    return this.all().filter((i) => i.record.parent === id);
  }

  /**
   * Finds an image as Docker's GetImage does: a full `sha256:` ID; else a reference looked
   * up in the reference store (`busybox` = `busybox:latest`); else a unique ID prefix.
   * Malformed names are 400s; anything absent is `No such image: <familiar ref>`.
   */
  find(input: string): StoredImage {
    if (isDigest(input)) return this.getOrThrow(input, input);
    if (/^[a-f0-9]{64}$/.test(input)) return this.getOrThrow(`sha256:${input}`, input);
    let ref: ImageReference;
    try {
      ref = storeReference(parseNormalizedNamed(input));
    } catch (err) {
      const byPrefix = isIdPrefix(input) ? this.byPrefix(input) : undefined;
      if (byPrefix) return byPrefix;
      throw err;
    }
    const id = this.refs.get(ref);
    const image = id !== undefined ? this.get(id) : undefined;
    if (image) return image;
    const byPrefix = isIdPrefix(input) ? this.byPrefix(input) : undefined;
    if (byPrefix) return byPrefix;
    throw notFound(`No such image: ${familiarString(ref)}`);
  }

  private getOrThrow(id: Digest, input: string): StoredImage {
    const image = this.get(id);
    if (!image) throw notFound(`No such image: ${input}`);
    return image;
  }

  private byPrefix(input: string): StoredImage | undefined {
    const hex = input.startsWith('sha256:') ? input.slice(7) : input;
    const matches = this.all().filter((i) => hexOf(i.id).startsWith(hex));
    return matches.length === 1 ? matches[0] : undefined;
  }

  async resolve(ref: string): Promise<Image> {
    return this.toImage(this.find(ref));
  }

  async byId(id: string): Promise<Image | undefined> {
    const image = isDigest(id) ? this.images.get(id) : undefined;
    return image ? this.toImage(image) : undefined;
  }

  toImage(image: StoredImage): Image {
    const refs = this.refs.referencesOf(image.id);
    const diffIds = image.config.rootfs.diff_ids;
    return {
      id: image.id,
      repoTags: image.record.ghost === true ? [] : refs.filter((r) => r.tag !== undefined).map(familiarString),
      repoDigests: image.record.ghost === true ? [] : refs.filter((r) => r.digest !== undefined).map(familiarString),
      created: image.config.created ?? new Date(0).toISOString(),
      config: image.config.config ?? {},
      layers: image.chainIds.map((chainId, i) => ({ chainId, diffId: diffIds[i] as Digest, dir: this.layers.dir(chainId) })),
      os: image.config.os !== undefined && image.config.os !== '' ? image.config.os : 'linux',
      architecture: image.config.architecture ?? hostArchitecture(),
    };
  }

  /** The sum of the image's layer sizes (Docker's Size). */
  size(image: StoredImage): number {
    return image.chainIds.reduce((sum, c) => sum + (this.layers.get(c)?.size ?? 0), 0);
  }

  // ---- mutations (inside exclusive) -----------------------------------------------

  /**
   * Records an image whose config blob and layers are in place. An existing image keeps
   * its record (a ghost comes back to life); `parent` is set when given.
   */
  async add(id: Digest, parent?: Digest): Promise<StoredImage> {
    const existing = this.images.get(id);
    const record: ImageRecord = existing ? { ...existing.record } : { id, added: new Date().toISOString() };
    delete record.ghost;
    if (parent !== undefined) record.parent = parent;
    const image = await this.materialise(record);
    await this.writeRecord(record);
    this.images.set(id, image);
    return image;
  }

  /** Points a tag (or digest reference) at an image; returns the image it pointed at before. */
  async tag(id: Digest, ref: ImageReference, touch: boolean): Promise<Digest | undefined> {
    const image = this.images.get(id);
    if (!image) throw notFound(`No such image: ${id}`);
    if (ref.tag === undefined && ref.digest === undefined) throw invalid(`reference ${familiarString(ref)} has neither tag nor digest`);
    const previous = await this.refs.add(ref, id, true);
    if (touch) {
      image.record.lastTagTime = new Date().toISOString();
      await this.writeRecord(image.record);
    }
    return previous;
  }

  /**
   * Deletes an image record (its references must be gone already). An image containers
   * still use becomes a ghost instead. Returns the layers this removed.
   */
  async drop(id: Digest): Promise<LayerRecord[]> {
    const image = this.images.get(id);
    if (!image) return [];
    if (this.users.containersUsing(id).length > 0) {
      image.record.ghost = true;
      await this.writeRecord(image.record);
      log.info('image.ghost', { id });
      return [];
    }
    await unlink(join(this.layout.imagesDir, `${hexOf(id)}.json`)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    this.images.delete(id);
    for (const other of this.images.values()) {
      if (other.record.parent === id) {
        delete other.record.parent;
        await this.writeRecord(other.record);
      }
    }
    return this.collect({ chains: image.chainIds, blobs: [id] });
  }

  /** Drops ghosts no container uses any more. */
  async reapGhosts(): Promise<LayerRecord[]> {
    const removed: LayerRecord[] = [];
    for (const image of [...this.images.values()]) {
      if (image.record.ghost === true && this.users.containersUsing(image.id).length === 0) {
        removed.push(...(await this.drop(image.id)));
      }
    }
    return removed;
  }

  lease(): Lease {
    const lease: Lease = new Set();
    this.leases.add(lease);
    return lease;
  }

  release(lease: Lease): void {
    this.leases.delete(lease);
  }

  /**
   * Removes candidate layers no record or lease names, then candidate blobs nothing
   * references (config blobs of records, layer tars of remaining layers, leases).
   */
  async collect(candidates: { chains: Iterable<Digest>; blobs: Iterable<Digest> }): Promise<LayerRecord[]> {
    const leased = (d: Digest): boolean => [...this.leases].some((l) => l.has(d));
    const usedChains = new Set<Digest>();
    for (const image of this.images.values()) image.chainIds.forEach((c) => usedChains.add(c));
    const removed: LayerRecord[] = [];
    for (const chain of new Set(candidates.chains)) {
      if (usedChains.has(chain) || leased(chain)) continue;
      const layer = await this.layers.remove(chain);
      if (layer) removed.push(layer);
    }
    const usedBlobs = new Set<Digest>([...this.images.keys()]);
    for (const layer of this.layers.all()) usedBlobs.add(layer.diffId);
    const blobs = new Set<Digest>([...candidates.blobs, ...removed.map((l) => l.diffId)]);
    for (const blob of blobs) {
      if (!usedBlobs.has(blob) && !leased(blob)) await this.content.delete(blob);
    }
    return removed;
  }

  /** After a crash: layers and blobs nothing references. */
  private async collectOrphans(): Promise<void> {
    const blobs: Digest[] = [];
    for (const name of await readdir(this.layout.blobsDir).catch(() => [] as string[])) {
      if (/^[a-f0-9]{64}$/.test(name)) blobs.push(`sha256:${name}`);
      else await unlink(join(this.layout.blobsDir, name)).catch(() => undefined);
    }
    const removed = await this.collect({ chains: this.layers.all().map((l) => l.chainId), blobs });
    if (removed.length > 0) log.info('image.gc', { layers: removed.length });
  }

  private async materialise(record: ImageRecord): Promise<StoredImage> {
    const config = parseImageConfig(await this.content.read(record.id), `config of ${record.id}`);
    const chains = chainIds(config.rootfs.diff_ids);
    const missing = chains.find((c) => this.layers.get(c) === undefined);
    if (missing !== undefined) throw new Error(`layer ${missing} is missing`);
    return { id: record.id, config, chainIds: chains, record };
  }

  private async writeRecord(record: ImageRecord): Promise<void> {
    await writeJsonAtomic(join(this.layout.imagesDir, `${hexOf(record.id)}.json`), record);
  }
}
