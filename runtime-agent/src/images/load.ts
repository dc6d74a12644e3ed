import type { Readable } from 'node:stream';
import { log } from '../log.js';
import { SpooledArchive } from './archive.js';
import { shortId, type Digest } from './digest.js';
import type { ImageStore, Lease } from './image-store.js';
import { ingestLayer } from './ingest.js';
import { LayerStore } from './layer-store.js';
import { planLoad, type PlannedImage } from './load-plan.js';
import { familiarString } from './reference.js';

/**
 * `docker load` (POST /images/load): a `docker save` archive or an OCI layout, plain or
 * gzip. The archive is spooled to tmp/ and planned (load-plan.ts); then every layer not yet
 * unpacked is stored (verifying its digests) and unpacked, every config stored, and only
 * when all of that succeeded are the images recorded and tagged, in one step. A corrupt or
 * hostile archive is refused with a 400 and leaves nothing: no image, no layer, no blob
 * (what this load stored is leased, and collected when it fails). The spool always goes.
 *
 * Messages, as Docker sends them: per layer `{"status":"Loading layer","progressDetail":
 * {"current","total"},"id":"<short diff id>"}` unless quiet; then lines
 * `Loaded image: busybox:latest` (or `Loaded image ID: sha256:...` for an untagged image).
 */
export interface LoadOutput {
  progress(message: Record<string, unknown>): void;
  line(text: string): void;
}

export interface LoadedImage {
  readonly id: Digest;
  readonly tags: string[];
}

export async function loadImages(store: ImageStore, tmpDir: string, body: Readable, out: LoadOutput, quiet: boolean): Promise<LoadedImage[]> {
  const started = Date.now();
  const archive = await SpooledArchive.spool(body, tmpDir);
  const lease = store.lease();
  let ok = false;
  try {
    const plan = await planLoad(archive);
    const verified = new Map<number, Digest>();
    for (const image of plan) await storeImage(store, archive, image, lease, verified, quiet ? undefined : out);
    const loaded = await store.exclusive(() => commit(store, plan, out));
    ok = true;
    log.info('image.load', { images: loaded.length, tags: loaded.flatMap((l) => l.tags).join(',') || undefined, ms: Date.now() - started });
    return loaded;
  } finally {
    store.release(lease);
    if (!ok) await store.exclusive(() => store.collect({ chains: lease, blobs: lease }));
    await archive.close();
  }
}

/**
 * Stores and unpacks the layers the store lacks. A layer file is read and verified even when
 * its blob is already stored (the archive must be consistent), except a file this same load
 * verified already (old `docker save` archives link duplicates to one file).
 */
async function storeImage(
  store: ImageStore,
  archive: SpooledArchive,
  image: PlannedImage,
  lease: Lease,
  verified: Map<number, Digest>,
  out: LoadOutput | undefined,
): Promise<void> {
  let parent: Digest | '' = '';
  for (const [i, layer] of image.layers.entries()) {
    const chain = LayerStore.chainOf(parent, layer.diffId);
    lease.add(chain);
    lease.add(layer.diffId);
    if (store.layers.get(chain) === undefined) {
      if (verified.get(archive.fileId(layer.path)) !== layer.diffId) {
        const total = archive.size(layer.path);
        const id = shortId(layer.diffId);
        out?.progress({ status: 'Loading layer', progressDetail: { current: 0, total }, id });
        await ingestLayer(store.content, archive.stream(layer.path), layer, `layer ${i} (${layer.path})`);
        verified.set(archive.fileId(layer.path), layer.diffId);
        out?.progress({ status: 'Loading layer', progressDetail: { current: total, total }, id });
      }
      await store.layers.register(layer.diffId, parent);
    }
    parent = chain;
  }
  lease.add(image.id);
  await store.content.writeBytes(image.configBytes, image.id, 'image config');
}

/** Inside the store's lock: record every image, then point its names at it. */
async function commit(store: ImageStore, plan: readonly PlannedImage[], out: LoadOutput): Promise<LoadedImage[]> {
  const ids = new Set(plan.map((p) => p.id));
  for (const image of plan) {
    const parent = image.parent !== undefined && image.parent !== image.id && ids.has(image.parent) ? image.parent : undefined;
    await store.add(image.id, parent);
  }
  const loaded: LoadedImage[] = [];
  for (const image of plan) {
    const tags: string[] = [];
    for (const ref of image.refs) {
      const previous = await store.tag(image.id, ref, false);
      if (ref.tag === undefined) continue;
      const name = familiarString(ref);
      if (previous !== undefined && previous !== image.id) {
        out.line(`The image ${name} already exists, renaming the old one with ID ${previous} to empty string`);
      }
      out.line(`Loaded image: ${name}`);
      tags.push(name);
    }
    if (tags.length === 0) out.line(`Loaded image ID: ${image.id}`);
    loaded.push({ id: image.id, tags });
  }
  return loaded;
}
