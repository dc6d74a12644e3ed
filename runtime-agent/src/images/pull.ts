import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, invalid, isBerthError, messageOf, notFound } from '../errors.js';
import { log } from '../log.js';
import type { Platform, RegistryClient, RegistryCredentials, RepositorySession } from '../registry/types.js';
import { sha256Of, type Digest } from './digest.js';
import { parseImageConfig, type ImageConfigJson } from './image-config.js';
import type { DistributionMetadata } from './distribution-metadata.js';
import type { ImageStore } from './image-store.js';
import type { Descriptor } from './oci.js';
import { formatPlatform, hostPlatform, normalizePlatform } from './platform.js';
import { statusMessage } from './progress.js';
import type { ProgressSink } from './progress-types.js';
import { pullLayers } from './pull-layers.js';
import { fetchNamedManifest, resolveManifest } from './pull-manifest.js';
import { familiarName, familiarString, nameOf, parseNormalizedNamed, refString, type ImageReference } from './reference.js';

/**
 * `docker pull` (moby's distribution/pull_v2.go, reimplemented): the manifest the reference
 * names (pull-manifest.ts), its config blob (fetched, verified, parsed), the layers the store
 * lacks (pull-layers.ts); then, in one step under the store's lock, the image record, the tag
 * (or digest reference) and the digest reference `name@<manifest digest>` (RepoDigests).
 *
 * Messages (Docker's): `Pulling from <path>` keyed by the tag or digest, the layer lines,
 * `Digest: sha256:...` and `Status: Downloaded newer image for <ref>` — or `Status: Image is
 * up to date for <ref>` when the reference already named this image. A failure before the
 * first message (bad reference, unknown tag, a registry's 401 or 403 — as Docker's 404 `pull
 * access denied`) is thrown with nothing sent, so the API answers with its status; a later
 * one is thrown too, and the API sends it in-band.
 * A failed pull leaves nothing: every blob and layer it stored is leased and collected.
 */
export interface PullOptions {
  readonly credentials?: RegistryCredentials;
  /** The platform to pick from a manifest list; the host's when absent. */
  readonly platform?: Platform;
  readonly sink: ProgressSink;
  /** Cancels the pull (the client went away); what it stored is collected as for a failure. */
  readonly signal?: AbortSignal;
}

export interface PullOutcome {
  readonly id: Digest;
  /** The reference pulled, as the store keeps it (tagged, or digested without a tag). */
  readonly ref: ImageReference;
  /** False when the reference already named this image (`Image is up to date`). */
  readonly updated: boolean;
}

export interface PullContext {
  readonly store: ImageStore;
  readonly registry: RegistryClient;
  /** Told which blob each layer came from, once the pull succeeded. */
  readonly distribution: DistributionMetadata;
  readonly tmpDir: string;
}

/** What a pull of `input` fetches: `:latest` added to a bare name; a tag beside a digest dropped. */
export function pullReference(input: string): ImageReference {
  const ref = parseNormalizedNamed(input);
  if (ref.digest !== undefined) return { domain: ref.domain, path: ref.path, digest: ref.digest };
  return ref.tag !== undefined ? ref : { ...ref, tag: 'latest' };
}

export async function pullImage(ctx: PullContext, ref: ImageReference, opts: PullOptions): Promise<PullOutcome> {
  const started = Date.now();
  const platform = opts.platform !== undefined ? normalizePlatform(opts.platform) : hostPlatform();
  const session = ctx.registry.open({ domain: ref.domain, path: ref.path }, opts.credentials, ['pull']);
  const top = await fetchNamedManifest(session, ref).catch((err: unknown) => {
    throw accessDenied(err, ref);
  });
  opts.sink.send(statusMessage(`Pulling from ${ref.path}`, ref.digest ?? ref.tag));

  const lease = ctx.store.lease();
  const scratch = join(ctx.tmpDir, `pull-${randomBytes(8).toString('hex')}`);
  let ok = false;
  try {
    const resolved = await resolveManifest(session, top, ref, platform);
    opts.signal?.throwIfAborted();
    const { manifest } = resolved;
    const id = manifest.config.digest;
    lease.add(id);
    const configBytes = await fetchConfig(session, manifest.config);
    const config = parseImageConfig(configBytes, `image configuration ${id}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) throw invalid("layers from manifest don't match image configuration");
    if (opts.platform !== undefined && !resolved.fromList) warnOnPlatform(opts.sink, ref, config, platform);
    let downloaded = 0;
    if (ctx.store.get(id) === undefined) {
      await mkdir(scratch, { recursive: true, mode: 0o700 });
      const layers = { store: ctx.store, session, sink: opts.sink, lease, scratch, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) };
      downloaded = await pullLayers(layers, manifest.layers, config.rootfs.diff_ids);
      opts.signal?.throwIfAborted();
      await ctx.store.content.writeBytes(configBytes, id, 'image config');
    }
    opts.sink.send(statusMessage(`Digest: ${resolved.repoDigest}`));
    const updated = await ctx.store.exclusive(() => record(ctx.store, id, ref, resolved.repoDigest));
    ok = true;
    await recordSources(ctx.distribution, ref, manifest.layers, config.rootfs.diff_ids);
    opts.sink.send(statusMessage(`Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}`));
    log.info('image.pull', { ref: refString(ref), id, digest: resolved.repoDigest, layers: manifest.layers.length, downloaded, ms: Date.now() - started });
    return { id, ref, updated };
  } finally {
    ctx.store.release(lease);
    await rm(scratch, { recursive: true, force: true });
    if (!ok) await ctx.store.exclusive(() => ctx.store.collect({ chains: lease, blobs: lease }));
  }
}

/**
 * A registry's 401 or 403 in Docker's words and with its status (404): `pull access denied
 * for <name>, repository does not exist or may require 'docker login': <cause>`. Not 401: the
 * docker CLI answers a 401 to a pull by prompting for a login, which hangs a script.
 */
function accessDenied(err: unknown, ref: ImageReference): unknown {
  if (!isBerthError(err, 'unauthorized') && !isBerthError(err, 'forbidden')) return err;
  return notFound(`pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
}

/**
 * Records the image and its names (moby's pullTag): unchanged when the reference already
 * names it; else the digest reference (kept if it names another image: digests never move)
 * and the tag, or for a digest pull the digest reference alone.
 */
async function record(store: ImageStore, id: Digest, ref: ImageReference, repoDigest: Digest): Promise<boolean> {
  await store.add(id);
  const digestRef: ImageReference = { domain: ref.domain, path: ref.path, digest: repoDigest };
  const addDigest = async (): Promise<void> => {
    if (store.refs.get(digestRef) === undefined) await store.tag(id, digestRef, false);
  };
  if (store.refs.get(ref) === id) {
    await addDigest();
    return false;
  }
  if (ref.digest !== undefined) {
    await store.tag(id, ref, false);
    return true;
  }
  await addDigest();
  await store.tag(id, ref, true);
  return true;
}

/** Push may then find or mount these blobs instead of uploading the layers again. */
async function recordSources(distribution: DistributionMetadata, ref: ImageReference, layers: readonly Descriptor[], diffIds: readonly Digest[]): Promise<void> {
  const repository = nameOf(ref);
  try {
    for (const [i, layer] of layers.entries()) {
      await distribution.add(diffIds[i] as Digest, { digest: layer.digest, size: layer.size, mediaType: layer.mediaType, repository });
    }
  } catch (err) {
    // Only an optimisation for later pushes: the pull itself succeeded.
    log.warn('image.pull.sources', { ref: refString(ref), error: messageOf(err) });
  }
}

const CONFIG_ATTEMPTS = 3;
const CONFIG_BACKOFF_MS = 250;
/** Far above any real image config; a bigger descriptor is refused before it is fetched. */
const CONFIG_MAX_BYTES = 16 * 1024 * 1024;

/** The image config blob, retried on network errors, checked against its digest. */
async function fetchConfig(session: RepositorySession, descriptor: Descriptor): Promise<Buffer> {
  if (descriptor.size > CONFIG_MAX_BYTES) throw invalid(`image configuration ${descriptor.digest} is too large (${descriptor.size} bytes)`);
  for (let attempt = 1; ; attempt++) {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of await session.fetchBlob(descriptor.digest)) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > CONFIG_MAX_BYTES) throw invalid(`image configuration ${descriptor.digest} is too large`);
        chunks.push(buf);
      }
      const bytes = Buffer.concat(chunks);
      if (sha256Of(bytes) !== descriptor.digest) throw invalid(`error pulling image configuration: image config verification failed for digest ${descriptor.digest}`);
      return bytes;
    } catch (err) {
      const permanent = err instanceof BerthError && err.code !== 'system' && err.code !== 'unavailable';
      if (permanent || attempt >= CONFIG_ATTEMPTS) {
        if (err instanceof BerthError) throw err;
        throw invalid(`error pulling image configuration: download failed after attempts=${attempt}: ${messageOf(err)}`, err);
      }
      await sleep(CONFIG_BACKOFF_MS * 2 ** (attempt - 1));
    }
  }
}

/** A single-platform image that is not what `--platform` asked for is pulled with a warning, as Docker does. */
function warnOnPlatform(sink: ProgressSink, ref: ImageReference, config: ImageConfigJson, wanted: Platform): void {
  const actual = normalizePlatform({
    os: config.os ?? 'linux',
    architecture: config.architecture ?? '',
    ...(config.variant !== undefined ? { variant: config.variant } : {}),
  });
  if (actual.os === wanted.os && actual.architecture === wanted.architecture && (actual.variant ?? '') === (wanted.variant ?? '')) return;
  sink.send(
    statusMessage(
      `WARNING: image with reference ${familiarString(ref)} was found but does not match the specified platform: wanted ${formatPlatform(wanted)}, actual: ${formatPlatform(actual)}`,
    ),
  );
}
