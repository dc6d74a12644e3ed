import { pipeline as pipelineCb, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { notFound, systemError } from '../errors.js';
import { log } from '../log.js';
import { hexOf, isDigest, sha256Of, type Digest } from './digest.js';
import type { ImageStore, StoredImage } from './image-store.js';
import { blobPath } from './load-plan.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MediaTypes, type Descriptor, type DockerManifestItem } from './oci.js';
import { familiarName, familiarString, parseNormalizedNamed, refString, storeReference, type ImageReference } from './reference.js';

/**
 * `docker save` (GET /images/get?names=..., GET /images/{name}/get): a tar that both
 * Docker's loaders read — the classic manifest.json (+ legacy `repositories`) and an OCI
 * layout (oci-layout, index.json naming each tag) over one set of blobs:
 *
 *   blobs/sha256/<hex>   image configs (exact bytes), uncompressed layer tars (exact bytes,
 *                        digest = diff ID), one OCI manifest per image
 *   index.json  manifest.json  oci-layout  repositories
 *
 * The output is deterministic (sorted entries, fixed times), so saving twice gives the
 * same bytes and a save → load round trip gives the same image IDs.
 * A name with a tag saves that tag; a bare repository name saves all its tags; an ID saves
 * the image untagged (as Docker does). Unknown names fail before any byte is sent.
 */
export interface SaveEntry {
  readonly image: StoredImage;
  readonly tags: ImageReference[];
}

export function planSave(store: ImageStore, names: readonly string[]): SaveEntry[] {
  const entries = new Map<Digest, SaveEntry>();
  const add = (image: StoredImage, ref?: ImageReference): void => {
    const entry = entries.get(image.id) ?? { image, tags: [] };
    if (ref?.tag !== undefined && !entry.tags.some((t) => refString(t) === refString(ref))) entry.tags.push(ref);
    entries.set(image.id, entry);
  };
  for (const name of names) {
    if (isDigest(name) || /^[a-f0-9]{64}$/.test(name)) {
      add(store.find(name));
      continue;
    }
    const ref = parseNormalizedNamed(name);
    if (familiarName(ref) === 'sha256') {
      add(store.find(name));
    } else if (ref.tag === undefined && ref.digest === undefined) {
      const all = store.refs.byName(ref).filter((e) => store.get(e.id) !== undefined);
      if (all.length === 0) add(store.find(name));
      for (const e of all) add(store.get(e.id) as StoredImage, e.ref);
    } else {
      const wanted = storeReference(ref);
      const id = store.refs.get(wanted);
      const image = id !== undefined ? store.get(id) : undefined;
      if (!image) throw notFound(`No such image: ${familiarString(wanted)}`);
      add(image, wanted);
    }
  }
  return [...entries.values()];
}

interface TarFile {
  readonly name: string;
  readonly mtime: Date;
  readonly data: Buffer | { digest: Digest; size: number };
}

/** Writes the archive for `plan` to `out`. Missing blobs are found before anything is written. */
export async function writeSave(store: ImageStore, plan: readonly SaveEntry[], out: Writable): Promise<void> {
  const files = await archiveFiles(store, plan);
  const pack = tar.pack();
  const writing = pipeline(pack as Readable, out);
  const epoch = new Date(0);
  const dir = (name: string): Promise<void> =>
    new Promise((resolve, reject) => pack.entry({ name, type: 'directory', mode: 0o755, mtime: epoch, uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve())));
  try {
    await dir('blobs/');
    await dir('blobs/sha256/');
    for (const file of files) {
      const header: tar.Headers = { name: file.name, mode: 0o644, mtime: file.mtime, uid: 0, gid: 0 };
      if (Buffer.isBuffer(file.data)) {
        const data = file.data;
        await new Promise<void>((resolve, reject) => pack.entry({ ...header, size: data.length }, data, (err) => (err ? reject(err) : resolve())));
      } else {
        const { digest, size } = file.data;
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...header, size }, (err) => (err ? reject(err) : resolve()));
          pipelineCb(store.content.stream(digest), sink, (err) => {
            if (err) reject(err);
          });
        });
      }
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
  }
  await writing;
  log.info('image.save', { images: plan.length, tags: plan.flatMap((e) => e.tags.map(familiarString)).join(',') || undefined });
}

async function archiveFiles(store: ImageStore, plan: readonly SaveEntry[]): Promise<TarFile[]> {
  const blobs = new Map<string, TarFile>();
  const index: Descriptor[] = [];
  const manifestJson: DockerManifestItem[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const saved = new Set(plan.map((e) => e.image.id));
  for (const { image, tags } of plan) {
    const created = image.config.created !== undefined && !Number.isNaN(Date.parse(image.config.created)) ? new Date(image.config.created) : new Date(0);
    const configSize = await blobSize(store, image.id);
    blobs.set(blobPath(image.id), { name: blobPath(image.id), mtime: created, data: { digest: image.id, size: configSize } });
    const layers: Descriptor[] = [];
    for (const diffId of image.config.rootfs.diff_ids) {
      const size = await blobSize(store, diffId);
      layers.push({ mediaType: MediaTypes.ociLayer, digest: diffId, size });
      blobs.set(blobPath(diffId), { name: blobPath(diffId), mtime: created, data: { digest: diffId, size } });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: image.id, size: configSize },
        layers,
      }),
    );
    const manifestDigest = sha256Of(manifest);
    blobs.set(blobPath(manifestDigest), { name: blobPath(manifestDigest), mtime: new Date(0), data: manifest });
    const descriptor: Descriptor = { mediaType: MediaTypes.ociManifest, digest: manifestDigest, size: manifest.length };
    if (tags.length === 0) index.push(descriptor);
    for (const tag of tags) {
      index.push({ ...descriptor, annotations: { [ANNOTATION_IMAGE_NAME]: refString(tag), [ANNOTATION_REF_NAME]: tag.tag as string } });
      const top = image.config.rootfs.diff_ids[image.config.rootfs.diff_ids.length - 1];
      if (top !== undefined) (repositories[familiarName(tag)] ??= {})[tag.tag as string] = hexOf(top);
    }
    const item: DockerManifestItem = {
      Config: blobPath(image.id),
      RepoTags: tags.length > 0 ? tags.map(familiarString) : null,
      Layers: layers.map((l) => blobPath(l.digest)),
    };
    if (image.record.parent !== undefined && saved.has(image.record.parent)) item.Parent = image.record.parent;
    if (layers.length > 0) item.LayerSources = Object.fromEntries(layers.map((l) => [l.digest, l]));
    manifestJson.push(item);
  }
  const epoch = new Date(0);
  const files = [...blobs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  files.push({ name: 'index.json', mtime: epoch, data: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: index })) });
  files.push({ name: 'manifest.json', mtime: epoch, data: Buffer.from(JSON.stringify(manifestJson) + '\n') });
  files.push({ name: 'oci-layout', mtime: epoch, data: Buffer.from('{"imageLayoutVersion": "1.0.0"}') });
  if (Object.keys(repositories).length > 0) files.push({ name: 'repositories', mtime: epoch, data: Buffer.from(JSON.stringify(repositories) + '\n') });
  return files;
}

async function blobSize(store: ImageStore, digest: Digest): Promise<number> {
  const size = await store.content.size(digest);
  if (size === undefined) throw systemError(`blob ${digest} is missing from the content store`);
  return size;
}
