import type { Readable } from 'node:stream';
import { notFound } from '../errors.js';
import { EMPTY_TAR_DIGEST } from '../images/commit.js';
import { sha256Of, type Digest } from '../images/digest.js';
import { hostArchitecture, type ImageConfigJson } from '../images/image-config.js';
import type { ImageStore } from '../images/image-store.js';
import { ingestLayer } from '../images/ingest.js';
import type { ImageRuntimeConfig } from '../images/types.js';

/**
 * One build step's image, as the classic builder's CommitBuildStep / NewChildImage make it:
 * the parent's layers (none for `scratch`) plus the step's layer when it changed files, the
 * parent's history plus one entry (`created_by`: the step as Docker records it; `empty_layer`
 * when it added no layer), the step's config, and `container_config` with the step's Cmd.
 * Untagged: the build cache names it. A failure leaves nothing (the lease is collected).
 */
export interface StepImageOptions {
  /** The parent image ID; undefined for `FROM scratch`. */
  readonly parent: Digest | undefined;
  /** The step's layer tar (uncompressed); undefined for a metadata-only step. */
  readonly layer: Readable | undefined;
  readonly config: ImageRuntimeConfig;
  /** The step's Cmd as the classic builder records it (`/bin/sh -c #(nop) ENV a=b`, or RUN's
   *  shell and command); history's `created_by` is it joined with spaces. */
  readonly cmd: readonly string[];
  /** MAINTAINER. */
  readonly author: string;
  /** The build container that ran the step, when one did. */
  readonly containerId?: string;
}

export async function createStepImage(store: ImageStore, opts: StepImageOptions): Promise<Digest> {
  const parent = opts.parent !== undefined ? store.get(opts.parent) : undefined;
  if (opts.parent !== undefined && parent === undefined) throw notFound(`the build step's parent image ${opts.parent} no longer exists`);
  const lease = store.lease();
  let ok = false;
  try {
    let diffId: Digest | undefined;
    if (opts.layer !== undefined) {
      const ingested = await ingestLayer(store.content, opts.layer, {}, 'build step layer');
      lease.add(ingested.digest);
      if (ingested.digest !== EMPTY_TAR_DIGEST) {
        diffId = ingested.digest;
        const below = parent?.chainIds[parent.chainIds.length - 1] ?? '';
        lease.add((await store.layers.register(diffId, below)).chainId);
      }
    }
    const created = new Date().toISOString();
    const base: Partial<ImageConfigJson> = parent?.config ?? {};
    const config: ImageConfigJson = {
      architecture: base.architecture !== undefined && base.architecture !== '' ? base.architecture : hostArchitecture(),
      ...(base.variant !== undefined && base.variant !== '' ? { variant: base.variant } : {}),
      os: base.os !== undefined && base.os !== '' ? base.os : 'linux',
      ...(opts.author !== '' ? { author: opts.author } : {}),
      config: opts.config,
      ...(opts.containerId !== undefined ? { container: opts.containerId } : {}),
      container_config: { ...opts.config, Cmd: [...opts.cmd] },
      created,
      history: [
        ...(base.history ?? []),
        {
          created,
          created_by: opts.cmd.join(' '),
          ...(opts.author !== '' ? { author: opts.author } : {}),
          ...(diffId === undefined ? { empty_layer: true } : {}),
        },
      ],
      rootfs: { type: 'layers', diff_ids: [...(base.rootfs?.diff_ids ?? []), ...(diffId !== undefined ? [diffId] : [])] },
    };
    const bytes = Buffer.from(JSON.stringify(config));
    const id = sha256Of(bytes);
    lease.add(id);
    await store.content.writeBytes(bytes, id, 'image config');
    await store.exclusive(() => store.add(id, parent?.id));
    ok = true;
    return id;
  } finally {
    store.release(lease);
    if (!ok) await store.exclusive(() => store.collect({ chains: lease, blobs: lease }));
    else await store.exclusive(() => store.collect({ chains: [], blobs: [EMPTY_TAR_DIGEST] }));
  }
}
