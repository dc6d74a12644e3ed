import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { invalid } from '../errors.js';
import { log } from '../log.js';
import type { DataLayout } from '../store/layout.js';
import { ContentStore } from './content-store.js';
import { deleteImage, type DeleteItem, type DeleteOptions } from './delete.js';
import type { Digest } from './digest.js';
import { imageHistory, type HistoryItem } from './history.js';
import { ImageStore, type ContainerUsers } from './image-store.js';
import { importImage, type ImportOptions } from './import.js';
import { inspectImage } from './inspect.js';
import { LayerStore } from './layer-store.js';
import { listImages, type ListOptions } from './list.js';
import { loadImages, type LoadedImage, type LoadOutput } from './load.js';
import { pruneImages, type PruneOptions, type PruneReport } from './prune.js';
import { familiarString, repoTagReference } from './reference.js';
import { planSave, writeSave, type SaveEntry } from './save.js';
import type { Image, ImageProvider } from './types.js';
import type { LayerAddon } from './whiteouts.js';

export interface ImageServiceDeps {
  readonly layout: DataLayout;
  /** mknod and lsetxattr, for whiteouts, device nodes and xattrs while unpacking layers. */
  readonly addon: LayerAddon;
  readonly users: ContainerUsers;
}

/**
 * berthd's images: the one object the API routes and the daemon use. It composes the
 * content store (blobs), the layer store (unpacked layers), the image store (records and
 * references) and the verbs, each in its own module. Containers see it as ImageProvider.
 */
export class ImageService implements ImageProvider {
  readonly store: ImageStore;
  private readonly layout: DataLayout;

  constructor(deps: ImageServiceDeps) {
    this.layout = deps.layout;
    const content = new ContentStore(deps.layout.blobsDir, deps.layout.tmpDir);
    const layers = new LayerStore(deps.layout, content, deps.addon);
    this.store = new ImageStore(deps.layout, content, layers, deps.users);
  }

  /** Creates the store's dirs, empties tmp/ (leftovers of a crash) and loads every record. */
  async init(): Promise<void> {
    const started = Date.now();
    await mkdir(this.layout.tmpDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.layout.tmpDir)) {
      await rm(join(this.layout.tmpDir, name), { recursive: true, force: true });
    }
    await this.store.content.init();
    await this.store.layers.init();
    await this.store.init();
    log.info('image.init', { images: this.store.count(), layers: this.store.layers.all().length, ms: Date.now() - started });
  }

  count(): number {
    return this.store.count();
  }

  resolve(ref: string): Promise<Image> {
    return this.store.resolve(ref);
  }

  byId(id: string): Promise<Image | undefined> {
    return this.store.byId(id);
  }

  list(opts: ListOptions): Record<string, unknown>[] {
    return listImages(this.store, opts);
  }

  inspect(name: string): Record<string, unknown> {
    return inspectImage(this.store, this.store.find(name));
  }

  history(name: string): HistoryItem[] {
    return imageHistory(this.store, this.store.find(name));
  }

  /** POST /images/{name}/tag: points `repo[:tag]` at the image `name` resolves to. */
  async tag(name: string, repo: string, tag: string): Promise<void> {
    const ref = repoTagReference(repo, tag);
    if (ref === undefined) throw invalid('repository name must have at least one component');
    const image = this.store.find(name);
    await this.store.exclusive(() => this.store.tag(image.id, ref, true));
    log.info('image.tag', { id: image.id, tag: familiarString(ref) });
  }

  async remove(name: string, opts: DeleteOptions): Promise<DeleteItem[]> {
    return (await this.store.exclusive(() => deleteImage(this.store, name, opts))).items;
  }

  prune(opts: PruneOptions): Promise<PruneReport> {
    return this.store.exclusive(() => pruneImages(this.store, opts));
  }

  load(body: Readable, quiet: boolean, out: LoadOutput): Promise<LoadedImage[]> {
    return loadImages(this.store, this.layout.tmpDir, body, out, quiet);
  }

  import(body: Readable, opts: ImportOptions): Promise<Digest> {
    return importImage(this.store, body, opts);
  }

  /** Resolves the names to save; fails (404/400) before anything is written. */
  planSave(names: readonly string[]): SaveEntry[] {
    if (names.length === 0) throw invalid('no image names given to save');
    return planSave(this.store, names);
  }

  writeSave(plan: readonly SaveEntry[], out: Writable): Promise<void> {
    return writeSave(this.store, plan, out);
  }
}
