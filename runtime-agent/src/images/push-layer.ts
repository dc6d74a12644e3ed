import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, messageOf, systemError } from '../errors.js';
import { log } from '../log.js';
import type { RepositorySession } from '../registry/types.js';
import type { ContentStore } from './content-store.js';
import type { Digest } from './digest.js';
import type { DistributionMetadata, LayerSource } from './distribution-metadata.js';
import { gzipLayer } from './layer-compression.js';
import type { Descriptor } from './oci.js';
import { layerStatus, ProgressReporter } from './progress.js';
import type { ProgressSink } from './progress-types.js';

/**
 * One layer of a push, as moby's push_v2 decides it, cheapest first:
 *
 *   1. pushed or found already by this push (another tag shares it)     `Layer already exists`
 *   2. a blob digest recorded for the target repository, and the registry
 *      still has it (HEAD)                                               `Layer already exists`
 *   3. a blob recorded for another repository of the same registry,
 *      mounted from there (POST ?mount=&from=)                           `Mounted from <path>`
 *   4. else the stored tar, gzip-compressed while it is uploaded and
 *      hashed (the digest is the registry's name for it)                 `Pushing` [bar], `Pushed`
 *
 * Each outcome is recorded in the distribution metadata for the target repository, so the
 * next push of the layer anywhere on that registry skips or mounts it; a recorded blob the
 * registry no longer has is forgotten. A network failure during an upload is retried twice
 * (`Retrying in N seconds`); a refusal (401, denied) is not.
 */
export const DOCKER_LAYER_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_GZIP_LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface LayerPush {
  readonly content: ContentStore;
  readonly metadata: DistributionMetadata;
  readonly session: RepositorySession;
  readonly sink: ProgressSink;
  /** Layers this push has in the registry already, by diff ID (several tags share layers). */
  readonly remote: Map<Digest, Descriptor>;
  readonly signal: AbortSignal;
}

/** Blobs of a recorded source checked for existence in the target repository. */
const MAX_EXISTENCE_CHECKS = 3;
/** Other repositories tried for a cross-repository mount. */
const MAX_MOUNT_ATTEMPTS = 3;
const ATTEMPTS = 3;
/** Seconds before the second attempt; doubled before each further one. */
const FIRST_RETRY_SECONDS = 1;

/** Ensures the registry has the layer; returns the descriptor the manifest names it by. */
export async function pushLayer(push: LayerPush, diffId: Digest, id: string): Promise<Descriptor> {
  const known = push.remote.get(diffId);
  if (known) {
    push.sink.send(layerStatus(id, 'Layer already exists'));
    return known;
  }
  const target = repositoryName(push.session);
  const sources = reusableSources(push.metadata, diffId);

  const found = await findInTarget(push, diffId, sources.filter((s) => s.repository === target));
  if (found) {
    push.sink.send(layerStatus(id, 'Layer already exists'));
    return found;
  }
  const { domain, path } = push.session.location;
  const mounted = await mountFromSibling(push, diffId, siblingSources(sources, domain, path), id);
  if (mounted) return mounted;
  return upload(push, diffId, id);
}

/**
 * The repositories of the target's registry that may hold a layer of `diffIds`, for the
 * session's pull scopes (a token server only lets a mount read what the token allows).
 */
export function mountCandidates(metadata: DistributionMetadata, diffIds: Iterable<Digest>, domain: string, path: string): string[] {
  const paths = new Set<string>();
  for (const diffId of new Set(diffIds)) {
    for (const source of siblingSources(reusableSources(metadata, diffId), domain, path)) paths.add(splitRepository(source.repository).path);
  }
  return [...paths];
}

/** The recorded blobs a Docker schema 2 manifest can name as gzip layers, newest first. */
function reusableSources(metadata: DistributionMetadata, diffId: Digest): LayerSource[] {
  return metadata.sources(diffId).filter((s) => s.mediaType === DOCKER_LAYER_TYPE || s.mediaType === OCI_GZIP_LAYER_TYPE);
}

/** The newest source in each other repository of the target's registry, at most MAX_MOUNT_ATTEMPTS. */
function siblingSources(sources: readonly LayerSource[], domain: string, targetPath: string): LayerSource[] {
  const picked: LayerSource[] = [];
  for (const source of sources) {
    const { domain: d, path } = splitRepository(source.repository);
    if (d !== domain || path === targetPath || picked.some((p) => p.repository === source.repository)) continue;
    picked.push(source);
    if (picked.length === MAX_MOUNT_ATTEMPTS) break;
  }
  return picked;
}

async function findInTarget(push: LayerPush, diffId: Digest, sources: readonly LayerSource[]): Promise<Descriptor | undefined> {
  const digests = [...new Map(sources.map((s) => [s.digest, s])).values()].slice(0, MAX_EXISTENCE_CHECKS);
  for (const source of digests) {
    push.signal.throwIfAborted();
    let size: number | undefined;
    try {
      size = await push.session.statBlob(source.digest);
    } catch (err) {
      // As moby: a failed check is not fatal; the mount or upload that follows reports a refusal itself.
      log.info('image.push.stat.fail', { layer: diffId, digest: source.digest, error: messageOf(err) });
      continue;
    }
    if (size === undefined) {
      await push.metadata.remove(diffId, source);
      continue;
    }
    const descriptor: Descriptor = { mediaType: DOCKER_LAYER_TYPE, digest: source.digest, size };
    await remember(push, diffId, descriptor);
    return descriptor;
  }
  return undefined;
}

async function mountFromSibling(push: LayerPush, diffId: Digest, candidates: readonly LayerSource[], id: string): Promise<Descriptor | undefined> {
  for (const source of candidates) {
    push.signal.throwIfAborted();
    const from = splitRepository(source.repository).path;
    let mounted: boolean;
    try {
      mounted = await push.session.mountBlob(source.digest, from);
    } catch (err) {
      // As moby: a failed mount is not fatal; an upload follows (and reports a refusal itself).
      log.info('image.push.mount.fail', { layer: diffId, digest: source.digest, from, error: messageOf(err) });
      continue;
    }
    if (!mounted) {
      await push.metadata.remove(diffId, source);
      continue;
    }
    const descriptor: Descriptor = { mediaType: DOCKER_LAYER_TYPE, digest: source.digest, size: source.size };
    await remember(push, diffId, descriptor);
    push.sink.send(layerStatus(id, `Mounted from ${from}`));
    return descriptor;
  }
  return undefined;
}

async function upload(push: LayerPush, diffId: Digest, id: string): Promise<Descriptor> {
  const total = await push.content.size(diffId);
  if (total === undefined) throw systemError(`layer ${diffId} is missing from the content store`);
  for (let attempt = 1; ; attempt++) {
    try {
      const descriptor = await uploadOnce(push, diffId, id, total);
      await remember(push, diffId, descriptor);
      push.sink.send(layerStatus(id, 'Pushed'));
      return descriptor;
    } catch (err) {
      if (push.signal.aborted || !retryable(err) || attempt >= ATTEMPTS) throw described(err, diffId, attempt);
      log.warn('image.push.retry', { layer: diffId, attempt, error: messageOf(err) });
      for (let s = FIRST_RETRY_SECONDS * 2 ** (attempt - 1); s > 0; s--) {
        push.sink.send(layerStatus(id, `Retrying in ${s} second${s === 1 ? '' : 's'}`));
        await sleep(1000, undefined, { signal: push.signal });
      }
    }
  }
}

async function uploadOnce(push: LayerPush, diffId: Digest, id: string, total: number): Promise<Descriptor> {
  push.signal.throwIfAborted();
  const bar = new ProgressReporter(push.sink, id, 'Pushing', total);
  // The bar counts tar bytes read, but only once bytes go out: the compressor reads ahead
  // while the upload is still being opened (which a 401 may refuse).
  let sending = false;
  let readAhead = 0;
  const tar = push.content.stream(diffId);
  const compressed = gzipLayer(tar, (bytes) => (sending ? bar.add(bytes) : (readAhead += bytes)));
  const onSent = (): void => {
    if (sending) return;
    sending = true;
    bar.add(readAhead);
  };
  const onAbort = (): void => void compressed.destroy(push.signal.reason instanceof Error ? push.signal.reason : new Error('push cancelled'));
  push.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { digest, size } = await push.session.uploadBlob(compressed, onSent);
    bar.finish();
    return { mediaType: DOCKER_LAYER_TYPE, digest, size };
  } finally {
    push.signal.removeEventListener('abort', onAbort);
    compressed.destroy(); // a failed upload may not have read it to the end
  }
}

async function remember(push: LayerPush, diffId: Digest, descriptor: Descriptor): Promise<void> {
  push.remote.set(diffId, descriptor);
  const repository = repositoryName(push.session);
  try {
    await push.metadata.add(diffId, { digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType, repository });
  } catch (err) {
    // Only an optimisation for later pushes: this one has the layer in the registry.
    log.warn('image.push.metadata', { layer: diffId, repository, error: messageOf(err) });
  }
}

/** `docker.io/library/busybox`: the form distribution metadata names repositories in. */
function repositoryName(session: RepositorySession): string {
  return `${session.location.domain}/${session.location.path}`;
}

function splitRepository(repository: string): { domain: string; path: string } {
  const slash = repository.indexOf('/');
  return { domain: repository.slice(0, slash), path: repository.slice(slash + 1) };
}

/** Network failures and cut-off requests are worth another try; a refusal is not. */
function retryable(err: unknown): boolean {
  return !(err instanceof BerthError) || err.code === 'system' || err.code === 'unavailable';
}

function described(err: unknown, diffId: Digest, attempts: number): unknown {
  if (err instanceof BerthError || (err instanceof Error && err.name === 'AbortError')) return err;
  return systemError(`pushing layer ${diffId} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${messageOf(err)}`, err);
}
