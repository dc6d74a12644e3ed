import { Readable } from 'node:stream';
import { invalid, messageOf, notFound, systemError } from '../errors.js';
import { log } from '../log.js';
import type { RegistryClient, RegistryCredentials, RepositorySession } from '../registry/types.js';
import { shortId, type Digest } from './digest.js';
import type { DistributionMetadata } from './distribution-metadata.js';
import type { ImageStore, StoredImage } from './image-store.js';
import { MediaTypes, type Descriptor } from './oci.js';
import { layerStatus, statusMessage } from './progress.js';
import type { ProgressSink } from './progress-types.js';
import { mountCandidates, pushLayer, type LayerPush } from './push-layer.js';
import { familiarName, familiarString, nameOf, parseNormalizedNamed, repoTagReference, type ImageReference } from './reference.js';
import { Slots } from './slots.js';

/**
 * `docker push` (moby's distribution/push.go and push_v2.go, reimplemented): for each tag,
 * the image's layers (push-layer.ts: found, mounted or uploaded gzip-compressed, five at a
 * time), its config blob (exact bytes, so the digest is the image ID), then a Docker v2
 * schema 2 manifest put by tag. Messages (Docker's):
 *
 *   The push refers to repository [127.0.0.1:5000/test/busybox]
 *   <layer>: Preparing          every layer, top first; `Waiting` when all five slots are busy
 *   <layer>: Pushing [bar] / Pushed | Layer already exists | Mounted from test/other
 *   1: digest: sha256:... size: 527                 then aux {Tag, Digest, Size}
 *
 * and the pushed manifest's digest becomes a digest reference of the image (RepoDigests).
 * Nothing is sent before the plan holds (the reference parses, the tags exist), so those
 * failures are ordinary 400/404 answers; a later failure (401, denied, network) is thrown
 * after messages went out and the API sends it in-band. A failed push changes nothing local
 * but the distribution metadata of blobs it did get into the registry, which stays true.
 */
export const DOCKER_CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
/** Docker's: five layer uploads at once. */
const CONCURRENT_UPLOADS = 5;

export interface PushOptions {
  readonly credentials?: RegistryCredentials;
  readonly sink: ProgressSink;
  /** Aborts the push (the client went away): uploads in flight are cut off. */
  readonly signal?: AbortSignal;
}

export interface PushPlan {
  /** What was asked for: `name:tag`, or `name` for all its tags. */
  readonly requested: ImageReference;
  /** The repository, without tag: `127.0.0.1:5000/test/busybox`. */
  readonly repository: ImageReference;
  /** The tags to push, each with the image it names. */
  readonly tags: readonly { readonly ref: ImageReference; readonly image: StoredImage }[];
}

export interface PushedTag {
  readonly ref: ImageReference;
  readonly image: StoredImage;
  readonly digest: Digest;
  readonly size: number;
}

export interface PushContext {
  readonly store: ImageStore;
  readonly registry: RegistryClient;
  readonly distribution: DistributionMetadata;
}

/**
 * What `POST /images/{name}/push?tag=` pushes: `name` with `tag`; `name` alone when `tag` is
 * empty (its own tag if it has one, else every tag of the repository: `docker push -a`).
 */
export function planPush(store: ImageStore, name: string, tag: string): PushPlan {
  const ref = tag !== '' ? repoTagReference(name, tag) : parseNormalizedNamed(name);
  if (ref === undefined) throw invalid('repository name must have at least one component');
  if (ref.digest !== undefined) throw invalid('cannot push a digest reference');
  const repository: ImageReference = { domain: ref.domain, path: ref.path };
  const all = store.refs.byName(repository).filter((e) => e.ref.tag !== undefined && store.get(e.id) !== undefined);
  if (all.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(repository)}`);
  if (ref.tag === undefined) return { requested: ref, repository, tags: all.map((e) => ({ ref: e.ref, image: store.get(e.id) as StoredImage })) };
  const wanted = all.find((e) => e.ref.tag === ref.tag);
  if (wanted === undefined) throw notFound(`tag does not exist: ${familiarString(ref)}`);
  return { requested: ref, repository, tags: [{ ref: wanted.ref, image: store.get(wanted.id) as StoredImage }] };
}

export async function pushImages(ctx: PushContext, plan: PushPlan, opts: PushOptions): Promise<PushedTag[]> {
  const { domain, path } = plan.repository;
  opts.sink.send(statusMessage(`The push refers to repository [${nameOf(plan.repository)}]`));
  const diffIds = plan.tags.flatMap((t) => t.image.config.rootfs.diff_ids);
  const mountFrom = mountCandidates(ctx.distribution, diffIds, domain, path);
  const session = ctx.registry.open({ domain, path }, opts.credentials, ['push', 'pull'], mountFrom);
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const remote = new Map<Digest, Descriptor>();
  const pushed: PushedTag[] = [];
  let current: ImageReference = plan.requested;
  // The blobs being read stay while the push reads them, even if the image is removed meanwhile.
  const lease = ctx.store.lease();
  for (const { image } of plan.tags) [image.id, ...image.config.rootfs.diff_ids].forEach((d) => lease.add(d));
  try {
    for (const { ref, image } of plan.tags) {
      current = ref;
      const started = Date.now();
      const layerPush: LayerPush = { content: ctx.store.content, metadata: ctx.distribution, session, sink: opts.sink, remote, signal: abort.signal };
      const layers = await pushLayers(layerPush, image.config.rootfs.diff_ids, abort);
      const config = await pushConfig(session, ctx.store, image);
      const manifest = manifestBytes(config, layers);
      const tag = ref.tag as string;
      const digest = await session.putManifest(tag, MediaTypes.dockerManifest, manifest);
      opts.sink.send(statusMessage(`${tag}: digest: ${digest} size: ${manifest.length}`));
      opts.sink.send({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifest.length } });
      await addRepoDigest(ctx.store, image, { domain, path, digest });
      pushed.push({ ref, image, digest, size: manifest.length });
      log.info('image.push', { ref: familiarString(ref), id: image.id, digest, layers: layers.length, ms: Date.now() - started });
    }
  } catch (err) {
    log.warn('image.push.fail', { ref: familiarString(current), cancelled: opts.signal?.aborted === true || undefined, error: messageOf(err) });
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    ctx.store.release(lease);
    await ctx.store.exclusive(() => ctx.store.collect({ chains: [], blobs: lease })); // removes only what an rmi left to us
  }
  return pushed;
}

/**
 * Every layer, top first as Docker lists them (`Preparing`), pushed five at a time; the first
 * failure stops the others. Returns the descriptors bottom first, as the manifest lists them.
 */
async function pushLayers(push: LayerPush, diffIds: readonly Digest[], abort: AbortController): Promise<Descriptor[]> {
  const topFirst = [...new Set(diffIds)].reverse();
  for (const diffId of topFirst) push.sink.send(layerStatus(shortId(diffId), 'Preparing'));
  const slots = new Slots(CONCURRENT_UPLOADS);
  const jobs = topFirst.map((diffId) => {
    const id = shortId(diffId);
    return slots.run(
      () => {
        push.signal.throwIfAborted();
        return pushLayer(push, diffId, id);
      },
      () => push.sink.send(layerStatus(id, 'Waiting')),
    );
  });
  // The first failure anywhere stops the rest; handled here so no rejection goes unobserved.
  for (const job of jobs) job.catch((err: unknown) => abort.abort(err));
  const results = await Promise.allSettled(jobs);
  if (abort.signal.aborted) throw abort.signal.reason;
  const byDiffId = new Map(topFirst.map((diffId, i) => [diffId, (results[i] as PromiseFulfilledResult<Descriptor>).value]));
  return diffIds.map((diffId) => byDiffId.get(diffId) as Descriptor);
}

/** The config blob, uploaded unless the registry has it; its bytes are the image ID's. */
async function pushConfig(session: RepositorySession, store: ImageStore, image: StoredImage): Promise<Descriptor> {
  const bytes = await store.content.read(image.id);
  const descriptor: Descriptor = { mediaType: DOCKER_CONFIG_TYPE, digest: image.id, size: bytes.length };
  if ((await session.statBlob(image.id)) !== undefined) return descriptor;
  const uploaded = await session.uploadBlob(Readable.from([bytes]));
  if (uploaded.digest !== image.id) throw systemError(`the registry stored the image config as ${uploaded.digest}, expected ${image.id}`);
  return descriptor;
}

/**
 * `name@<manifest digest>` names the image from now on (RepoDigests), unless the image was
 * deleted meanwhile or that digest names another image already (digest references never move).
 */
async function addRepoDigest(store: ImageStore, image: StoredImage, digestRef: ImageReference): Promise<void> {
  await store.exclusive(async () => {
    if (store.get(image.id) !== undefined && store.refs.get(digestRef) === undefined) await store.tag(image.id, digestRef, false);
  });
}

/** A Docker v2 schema 2 manifest, laid out as Docker's (fields in its order, 3-space indent). */
export function manifestBytes(config: Descriptor, layers: readonly Descriptor[]): Buffer {
  const descriptor = (d: Descriptor): Record<string, unknown> => ({ mediaType: d.mediaType, size: d.size, digest: d.digest });
  const manifest = { schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: descriptor(config), layers: layers.map(descriptor) };
  return Buffer.from(JSON.stringify(manifest, null, 3));
}
