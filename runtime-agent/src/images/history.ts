import { familiarString } from './reference.js';
import { unixSeconds } from './image-config.js';
import type { ImageStore, StoredImage } from './image-store.js';

/**
 * GET /images/{name}/history: the config's history, newest first, each entry that made a
 * layer sized by that layer. Docker's IDs: the first entry is the image itself (with its
 * tags), the next ones walk the parent chain (set only by `docker load`); entries with no
 * image of their own are `<missing>`.
 */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export function imageHistory(store: ImageStore, image: StoredImage): HistoryItem[] {
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const entry of image.config.history ?? []) {
    let size = 0;
    if (entry.empty_layer !== true) {
      const chain = image.chainIds[layer++];
      size = chain !== undefined ? (store.layers.get(chain)?.size ?? 0) : 0;
    }
    items.unshift({
      Id: '<missing>',
      Created: unixSeconds(entry.created),
      CreatedBy: entry.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: entry.comment ?? '',
    });
  }
  let current: StoredImage | undefined = image;
  for (const item of items) {
    if (current === undefined) break;
    item.Id = current.id;
    const tags = store.refs.referencesOf(current.id).filter((r) => r.tag !== undefined).map(familiarString);
    item.Tags = tags.length > 0 ? tags : null;
    current = current.record.parent !== undefined ? store.get(current.record.parent) : undefined;
  }
  return items;
}
