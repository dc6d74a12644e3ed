import type { Readable } from 'node:stream';
import { notFound } from '../errors.js';
import { log } from '../log.js';
import { sha256Of, type Digest } from './digest.js';
import { hostArchitecture, type ImageConfigJson } from './image-config.js';
import type { ImageStore } from './image-store.js';
import { ingestLayer } from './ingest.js';
import type { ImageReference } from './reference.js';
import { familiarString } from './reference.js';
import type { ImageRuntimeConfig } from './types.js';

/**
 * `docker commit` on the image side: a container's writable layer, as a layer tar (AUFS
 * whiteouts), becomes a new image on top of the container's image, as Docker's
 * NewChildImage builds it:
 *
 *   rootfs.diff_ids  the parent's + the new layer's (none when the diff is empty: Docker
 *                    adds no layer then, and the history entry says `empty_layer`)
 *   history          the parent's + {created, created_by: the container's Cmd joined,
 *                    author, comment}
 *   config           the container's config with the changes applied (the caller's)
 *   container, container_config, author, created; architecture, variant and os from the parent
 * The new image records the parent image as its Parent. Like an import, a failed commit
 * leaves nothing behind: its blobs and layer are leased and collected.
 */
export interface CommitLayerOptions {
  /** The container's image ID (`sha256:...`). */
  readonly parent: Digest;
  /** The layer tar (uncompressed), produced as it is read. */
  readonly layer: Readable;
  readonly config: ImageRuntimeConfig;
  readonly containerId: string;
  readonly containerConfig: ImageRuntimeConfig;
  readonly author: string;
  readonly comment: string;
  /** Tagged when given. */
  readonly ref: ImageReference | undefined;
}

/** The digest of a tar with no entries (two zero blocks): Docker's "empty layer". */
export const EMPTY_TAR_DIGEST: Digest = sha256Of(Buffer.alloc(1024));

export async function commitLayer(store: ImageStore, opts: CommitLayerOptions): Promise<Digest> {
  const started = Date.now();
  const parent = store.get(opts.parent);
  if (!parent) throw notFound(`the image of container ${opts.containerId.slice(0, 12)} (${opts.parent}) no longer exists`);
  const lease = store.lease();
  let ok = false;
  try {
    const { digest: diffId, size } = await ingestLayer(store.content, opts.layer, {}, 'committed layer');
    lease.add(diffId);
    const empty = diffId === EMPTY_TAR_DIGEST;
    if (!empty) lease.add((await store.layers.register(diffId, parent.chainIds[parent.chainIds.length - 1] ?? '')).chainId);
    const created = new Date().toISOString();
    const base = parent.config;
    const config: ImageConfigJson = {
      architecture: base.architecture !== undefined && base.architecture !== '' ? base.architecture : hostArchitecture(),
      ...(base.variant !== undefined && base.variant !== '' ? { variant: base.variant } : {}),
      os: base.os !== undefined && base.os !== '' ? base.os : 'linux',
      ...(base['os.version'] !== undefined ? { 'os.version': base['os.version'] } : {}),
      ...(opts.author !== '' ? { author: opts.author } : {}),
      config: opts.config,
      container: opts.containerId,
      container_config: opts.containerConfig,
      created,
      history: [
        ...(base.history ?? []),
        {
          created,
          created_by: (opts.containerConfig.Cmd ?? []).join(' '),
          ...(opts.author !== '' ? { author: opts.author } : {}),
          ...(opts.comment !== '' ? { comment: opts.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ],
      rootfs: { type: 'layers', diff_ids: empty ? [...base.rootfs.diff_ids] : [...base.rootfs.diff_ids, diffId] },
    };
    const bytes = Buffer.from(JSON.stringify(config));
    const id = sha256Of(bytes);
    lease.add(id);
    await store.content.writeBytes(bytes, id, 'image config');
    await store.exclusive(async () => {
      await store.add(id, parent.id);
      if (opts.ref !== undefined) await store.tag(id, opts.ref, true);
    });
    ok = true;
    log.info('image.commit', {
      id,
      container: opts.containerId.slice(0, 12),
      tag: opts.ref !== undefined ? familiarString(opts.ref) : undefined,
      size: empty ? 0 : size,
      ms: Date.now() - started,
    });
    return id;
  } finally {
    store.release(lease);
    // On failure everything it made; on success an empty diff's tar, which no layer names.
    if (!ok) await store.exclusive(() => store.collect({ chains: lease, blobs: lease }));
    else await store.exclusive(() => store.collect({ chains: [], blobs: [EMPTY_TAR_DIGEST] }));
  }
}
