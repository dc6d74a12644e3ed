import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { invalid, notFound, notImplemented } from '../errors.js';
import { log } from '../log.js';
import type { EventBus } from '../events/bus.js';
import type { RegistryClient } from '../registry/types.js';
import type { DataLayout } from '../store/layout.js';
import { commitLayer, type CommitLayerOptions } from './commit.js';
import { ContentStore } from './content-store.js';
import { deleteImage, type DeleteItem, type DeleteOptions } from './delete.js';
import type { Digest } from './digest.js';
import { DistributionMetadata } from './distribution-metadata.js';
import { imageHistory, type HistoryItem } from './history.js';
import { ImageStore, type ContainerUsers } from './image-store.js';
import { importImage, type ImportOptions } from './import.js';
import { inspectImage } from './inspect.js';
import { LayerStore } from './layer-store.js';
import { listImages, type ListOptions } from './list.js';
import { loadImages, type LoadedImage, type LoadOutput } from './load.js';
import { pruneImages, type PruneOptions, type PruneReport } from './prune.js';
import { pullImage, pullReference, type PullOptions } from './pull.js';
import { planPush, pushImages, type PushedTag, type PushOptions } from './push.js';
import { familiarName, familiarString, repoTagReference } from './reference.js';
import { planSave, writeSave, type SaveEntry } from './save.js';
import type { Image, ImageProvider } from './types.js';
import type { LayerAddon } from './whiteouts.js';

interface DeletionSnapshot {
  readonly ids: ReadonlyMap<string, Digest>;
  readonly refs: ReadonlyMap<string, Digest>;
  readonly labels: ReadonlyMap<Digest, Readonly<Record<string, string>>>;
}

export interface ImageServiceDeps {
  readonly layout: DataLayout;
  /** mknod and lsetxattr, for whiteouts, device nodes and xattrs while unpacking layers. */
  readonly addon: LayerAddon;
  readonly users: ContainerUsers;
  /**
   * Where image events go (Docker's: tag, untag, delete, load, import, save, prune). Actor ID
   * is the image ID; attributes are the image's labels and `name`: the reference for tag and
   * untag, the image ID for the others; `pull`'s actor ID is the reference (`busybox:latest`)
   * and its name the repository (`busybox`), as Docker's.
   */
  readonly events?: EventBus;
  /** The registry client pull uses; without one, pull is refused. */
  readonly registry?: RegistryClient;
}

/**
 * berthd's images: the one object the API routes and the daemon use. It composes the
 * content store (blobs), the layer store (unpacked layers), the image store (records and
 * references) and the verbs, each in its own module. Containers see it as ImageProvider.
 */
export class ImageService implements ImageProvider {
  readonly store: ImageStore;
  /** Which registry blobs each layer is known as (pull records them, push uses them). */
  readonly distribution: DistributionMetadata;
  private readonly layout: DataLayout;
  private readonly events: EventBus | undefined;
  private readonly registry: RegistryClient | undefined;

  constructor(deps: ImageServiceDeps) {
    this.layout = deps.layout;
    this.events = deps.events;
    this.registry = deps.registry;
    const content = new ContentStore(deps.layout.blobsDir, deps.layout.tmpDir);
    const layers = new LayerStore(deps.layout, content, deps.addon);
    this.store = new ImageStore(deps.layout, content, layers, deps.users);
    this.distribution = new DistributionMetadata(join(deps.layout.imagesDir, 'distribution.json'));
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
    await this.distribution.init();
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
    this.emit('tag', image.id, familiarString(ref));
  }

  async remove(name: string, opts: DeleteOptions): Promise<DeleteItem[]> {
    return this.store.exclusive(async () => {
      const before = this.snapshot();
      const { items } = await deleteImage(this.store, name, opts);
      this.emitDeletions(items, before);
      return items;
    });
  }

  prune(opts: PruneOptions): Promise<PruneReport> {
    return this.store.exclusive(async () => {
      const before = this.snapshot();
      const report = await pruneImages(this.store, opts);
      this.emitDeletions(report.ImagesDeleted ?? [], before);
      this.events?.emit('image', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    });
  }

  async load(body: Readable, quiet: boolean, out: LoadOutput): Promise<LoadedImage[]> {
    const loaded = await loadImages(this.store, this.layout.tmpDir, body, out, quiet);
    for (const image of loaded) this.emit('load', image.id, image.id);
    return loaded;
  }

  async import(body: Readable, opts: ImportOptions): Promise<Digest> {
    const id = await importImage(this.store, body, opts);
    const ref = opts.repo !== '' ? repoTagReference(opts.repo, opts.tag) : undefined;
    if (ref !== undefined) this.emit('tag', id, familiarString(ref));
    this.emit('import', id, id);
    return id;
  }

  /**
   * `docker pull` (pull.ts): `reference` as the CLI gives it (`busybox` is `busybox:latest`).
   * Used by POST /images/create and by the builder (FROM of a missing image, --pull).
   */
  async pull(reference: string, opts: PullOptions): Promise<Image> {
    if (this.registry === undefined) throw notImplemented('pulling is not available: berthd was started without a registry client');
    const ref = pullReference(reference);
    const ctx = { store: this.store, registry: this.registry, distribution: this.distribution, tmpDir: this.layout.tmpDir };
    const outcome = await pullImage(ctx, ref, opts);
    const pulled = familiarString(outcome.ref);
    const image = this.store.get(outcome.id);
    this.events?.emit('image', 'pull', pulled, { ...(image?.config.config?.Labels ?? {}), name: familiarName(outcome.ref) });
    if (image === undefined) throw notFound(`No such image: ${pulled}`); // removed by a concurrent rmi
    return this.store.toImage(image);
  }

  /**
   * `docker push` (push.ts): `name` with `tag`, or every tag of `name` when `tag` is empty.
   * Fails (400/404) before any message when there is nothing to push. One `push` event,
   * keyed by the reference as requested (`name:tag`, or `name` for all tags), as Docker's.
   */
  async push(name: string, tag: string, opts: PushOptions): Promise<PushedTag[]> {
    if (this.registry === undefined) throw notImplemented('pushing is not available: berthd was started without a registry client');
    const plan = planPush(this.store, name, tag);
    const pushed = await pushImages({ store: this.store, registry: this.registry, distribution: this.distribution }, plan, opts);
    const labels = plan.tags[0]?.image.config.config?.Labels ?? {};
    this.events?.emit('image', 'push', familiarString(plan.requested), { ...labels, name: familiarName(plan.requested) });
    return pushed;
  }

  /** `docker commit`'s image half (commit.ts); Docker's events: `create`, then `tag` when tagged. */
  async commit(opts: CommitLayerOptions): Promise<Digest> {
    const id = await commitLayer(this.store, opts);
    this.emit('create', id, id);
    if (opts.ref !== undefined) this.emit('tag', id, familiarString(opts.ref));
    return id;
  }

  /** Resolves the names to save; fails (404/400) before anything is written. */
  planSave(names: readonly string[]): SaveEntry[] {
    if (names.length === 0) throw invalid('no image names given to save');
    return planSave(this.store, names);
  }

  async writeSave(plan: readonly SaveEntry[], out: Writable): Promise<void> {
    await writeSave(this.store, plan, out);
    for (const entry of plan) this.emit('save', entry.image.id, entry.image.id);
  }

  /** One image event, with the image's labels while it still exists (as Docker does). */
  private emit(action: string, id: Digest, name: string, formerLabels?: Readonly<Record<string, string>>): void {
    if (!this.events) return;
    const labels = this.store.get(id)?.config.config?.Labels ?? formerLabels ?? {};
    this.events.emit('image', action, id, { ...labels, name });
  }

  /** Image IDs, their labels and which image each familiar reference names, before a deletion. */
  private snapshot(): DeletionSnapshot {
    const ids = new Map<string, Digest>();
    const refs = new Map<string, Digest>();
    const labels = new Map<Digest, Readonly<Record<string, string>>>();
    for (const image of this.store.all()) {
      ids.set(image.id, image.id);
      labels.set(image.id, image.config.config?.Labels ?? {});
      for (const ref of this.store.refs.referencesOf(image.id)) refs.set(familiarString(ref), image.id);
    }
    return { ids, refs, labels };
  }

  /** `untag` per reference removed (with the labels it had), `delete` per image deleted (not per layer). */
  private emitDeletions(items: readonly DeleteItem[], before: DeletionSnapshot): void {
    for (const item of items) {
      if (item.Untagged !== undefined) {
        const id = before.refs.get(item.Untagged);
        if (id !== undefined) this.emit('untag', id, item.Untagged, before.labels.get(id));
      }
      const deleted = item.Deleted !== undefined ? before.ids.get(item.Deleted) : undefined;
      if (deleted !== undefined) this.emit('delete', deleted, deleted);
    }
  }
}
