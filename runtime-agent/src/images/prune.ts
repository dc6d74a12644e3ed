import { isBerthError } from '../errors.js';
import { log } from '../log.js';
import { hexOf } from './digest.js';
import { deleteImage, type DeleteItem } from './delete.js';
import { unixSeconds } from './image-config.js';
import type { ImageStore } from './image-store.js';
import type { LayerRecord } from './layer-store.js';
import { refString } from './reference.js';

/**
 * `docker image prune` (POST /images/prune): deletes unused images — by default only
 * dangling ones (no tag), with `dangling=false` (the CLI's `-a`) every image no container
 * uses. Images in use, and untagged parents of other images, are skipped silently.
 */
export interface PruneOptions {
  /** Only images without tags (Docker's default). */
  readonly danglingOnly: boolean;
  /** Only images created before this time (ms since the epoch). */
  readonly until?: number;
  /** The `label` / `label!` filters as a predicate over the image's labels. */
  readonly labels?: (labels: Readonly<Record<string, string>>) => boolean;
}

export interface PruneReport {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

/** Runs inside store.exclusive. */
export async function pruneImages(store: ImageStore, opts: PruneOptions): Promise<PruneReport> {
  const deleted: DeleteItem[] = [];
  const layers: LayerRecord[] = [...(await store.reapGhosts())];
  const candidates = store.all().filter((image) => {
    if (opts.danglingOnly && store.children(image.id).length > 0) return false;
    const refs = store.refs.referencesOf(image.id);
    if (refs.length === 0 && store.children(image.id).length > 0) return false;
    if (opts.until !== undefined && unixSeconds(image.config.created) * 1000 > opts.until) return false;
    return opts.labels === undefined || opts.labels(image.config.config?.Labels ?? {});
  });
  for (const image of candidates) {
    if (!store.get(image.id)) continue; // went with an earlier one (a pruned parent)
    const refs = store.refs.referencesOf(image.id);
    const names = refs.length > 0 ? refs.map(refString) : [hexOf(image.id)];
    if (refs.length > 0 && opts.danglingOnly && refs.some((r) => r.tag !== undefined)) continue;
    for (const name of names) {
      try {
        const result = await deleteImage(store, name, { force: false, noprune: false });
        deleted.push(...result.items);
        layers.push(...result.layers);
      } catch (err) {
        if (!isBerthError(err, 'conflict') && !isBerthError(err, 'not-found')) {
          log.warn('image.prune.skip', { image: name, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }
  const reclaimed = layers.reduce((sum, l) => sum + l.size, 0);
  log.info('image.prune', { deleted: deleted.filter((d) => d.Deleted !== undefined).length, reclaimed });
  return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
}
