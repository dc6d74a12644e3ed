import type { Readable } from 'node:stream';
import { invalid, notImplemented } from '../errors.js';
import { log } from '../log.js';
import { applyChanges } from './changes.js';
import { sha256Of, type Digest } from './digest.js';
import { hostArchitecture, type ImageConfigJson } from './image-config.js';
import type { ImageStore } from './image-store.js';
import { ingestLayer } from './ingest.js';
import { familiarString, repoTagReference } from './reference.js';

/**
 * `docker import` (POST /images/create?fromSrc=-): the request body is a root filesystem
 * tar (plain or gzip) that becomes a one-layer image. The config starts empty and takes
 * the `changes` (changes.ts); the comment is `message` or `Imported from -`; history has
 * one entry. The image is tagged `repo[:tag]` when a repo is given (Docker's rules:
 * `repo` may carry the tag itself, default `latest`, no digests).
 * A failed import leaves nothing behind: its blobs and layer are leased and collected.
 */
export interface ImportOptions {
  readonly src: string;
  readonly repo: string;
  readonly tag: string;
  readonly message: string;
  readonly changes: readonly string[];
  /** `os[/arch[/variant]]`; the host's platform when empty. */
  readonly platform: string;
}

export async function importImage(store: ImageStore, body: Readable, opts: ImportOptions): Promise<Digest> {
  const started = Date.now();
  const ref = repoTagReference(opts.repo, opts.tag);
  if (opts.src !== '-') throw notImplemented(`importing from a URL is not supported by berthd: send the archive in the request body (fromSrc=-)`);
  const runtime = applyChanges({}, opts.changes);
  const platform = parsePlatform(opts.platform);
  const comment = opts.message !== '' ? opts.message : `Imported from ${opts.src}`;
  const lease = store.lease();
  let ok = false;
  try {
    const { digest: diffId, size } = await ingestLayer(store.content, body, {}, 'imported layer');
    lease.add(diffId);
    await store.layers.register(diffId, '');
    const created = new Date().toISOString();
    const config: ImageConfigJson = {
      architecture: platform.architecture,
      ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
      os: platform.os,
      comment,
      config: runtime,
      created,
      history: [{ created, comment }],
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    const bytes = Buffer.from(JSON.stringify(config));
    const id = sha256Of(bytes);
    lease.add(id);
    await store.content.writeBytes(bytes, id, 'image config');
    await store.exclusive(async () => {
      await store.add(id);
      if (ref !== undefined) await store.tag(id, ref, true);
    });
    ok = true;
    log.info('image.import', { id, tag: ref !== undefined ? familiarString(ref) : undefined, size, ms: Date.now() - started });
    return id;
  } finally {
    store.release(lease);
    if (!ok) await store.exclusive(() => store.collect({ chains: lease, blobs: lease }));
  }
}

function parsePlatform(value: string): { os: string; architecture: string; variant?: string } {
  if (value === '') return { os: 'linux', architecture: hostArchitecture() };
  const [os, architecture, variant] = value.toLowerCase().split('/');
  if (os !== 'linux') throw invalid(`unsupported os "${os ?? ''}": berthd runs linux images only`);
  if (architecture === undefined || architecture === '') return { os, architecture: hostArchitecture() };
  return variant !== undefined && variant !== '' ? { os, architecture, variant } : { os, architecture };
}
