import { invalid } from '../errors.js';
import { unixSeconds } from './image-config.js';
import type { ImageStore, StoredImage } from './image-store.js';
import { familiarName, familiarString, nameOf, refString, tagNameOnly, type ImageReference } from './reference.js';
import { parseTimestamp } from './timestamp.js';

/**
 * GET /images/json: Docker's ImageSummary list, newest first.
 *
 * - Untagged images that are parents of others are hidden unless `all`.
 * - Filters: `dangling=true|false`, `reference=<glob>` (matched as Go's path.Match against
 *   `busybox:latest`, `busybox`, `docker.io/library/busybox:latest` and the full name; only
 *   matching references are listed), `label`, `before`/`since` (an image), `until` (a time).
 * - API < 1.43 shows untagged images as `<none>:<none>` / `<none>@<none>` (as Docker does).
 * - SharedSize is -1 unless `shared-size`; Containers is -1 (computed only by `system df`
 *   from API 1.51, which berthd does not speak); VirtualSize = Size (API < 1.44).
 */
export const LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'] as const;

export interface ListOptions {
  readonly all: boolean;
  readonly filters: ReadonlyMap<string, readonly string[]>;
  readonly sharedSize: boolean;
  /** The `label` filter as a predicate over an image's labels. */
  readonly labels?: (labels: Readonly<Record<string, string>>) => boolean;
  readonly apiVersion: string;
}

export function listImages(store: ImageStore, opts: ListOptions): Record<string, unknown>[] {
  const filters = opts.filters;
  const dangling = filters.get('dangling');
  const danglingOnly = dangling !== undefined && dangling.length > 0 && parseBool(dangling[dangling.length - 1] as string);
  let before = Infinity;
  let since = -Infinity;
  for (const ref of filters.get('before') ?? []) before = Math.min(before, created(store.find(ref)));
  for (const value of filters.get('until') ?? []) before = Math.min(before, parseTimestamp(value));
  for (const ref of filters.get('since') ?? []) since = Math.max(since, created(store.find(ref)));
  const patterns = filters.get('reference');
  const summaries: { created: number; json: Record<string, unknown> }[] = [];
  const useNone = compareVersions(opts.apiVersion, '1.43') < 0;
  const layerUse = opts.sharedSize ? countLayerUse(store) : undefined;

  for (const image of store.all()) {
    const when = created(image);
    if (danglingOnly && store.children(image.id).length > 0) continue;
    if (!(when < before) || !(when > since)) continue;
    if (opts.labels && !opts.labels(image.config.config?.Labels ?? {})) continue;
    const tags: string[] = [];
    const digests: string[] = [];
    for (const ref of store.refs.referencesOf(image.id)) {
      if (patterns !== undefined && !patterns.some((p) => referenceMatches(p, ref))) continue;
      if (ref.digest !== undefined) digests.push(familiarString(ref));
      if (ref.tag !== undefined) tags.push(familiarString(ref));
    }
    if (tags.length === 0 && digests.length === 0) {
      if (!opts.all && store.children(image.id).length > 0) continue;
      if (dangling !== undefined && !danglingOnly) continue;
      if (patterns !== undefined) continue;
    } else if (danglingOnly && tags.length > 0) continue;
    const size = store.size(image);
    const json: Record<string, unknown> = {
      Containers: -1,
      Created: unixSeconds(image.config.created),
      Id: image.id,
      Labels: image.config.config?.Labels ?? {},
      ParentId: image.record.parent ?? '',
      RepoDigests: digests.length === 0 && tags.length === 0 && useNone ? ['<none>@<none>'] : digests,
      RepoTags: tags.length === 0 && digests.length === 0 && useNone ? ['<none>:<none>'] : tags,
      SharedSize: layerUse ? sharedSize(store, image, layerUse) : -1,
      Size: size,
      VirtualSize: size,
    };
    summaries.push({ created: when, json });
  }
  return summaries.sort((a, b) => b.created - a.created).map((s) => s.json);
}

/** Creation time in ms (finer than the seconds Docker shows, so before/since can tell apart). */
function created(image: StoredImage): number {
  const ms = image.config.created !== undefined ? Date.parse(image.config.created) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

function parseBool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`Invalid filter 'dangling=${value}'`);
}

function countLayerUse(store: ImageStore): Map<string, number> {
  const counts = new Map<string, number>();
  for (const image of store.all()) for (const c of image.chainIds) counts.set(c, (counts.get(c) ?? 0) + 1);
  return counts;
}

function sharedSize(store: ImageStore, image: StoredImage, use: ReadonlyMap<string, number>): number {
  return image.chainIds.filter((c) => (use.get(c) ?? 0) > 1).reduce((sum, c) => sum + (store.layers.get(c)?.size ?? 0), 0);
}

function referenceMatches(pattern: string, ref: ImageReference): boolean {
  const re = globToRegExp(pattern);
  return [familiarString(ref), familiarName(ref), refString(tagNameOnly(ref)), nameOf(ref)].some((t) => re.test(t));
}

/** Go's path.Match as a RegExp: `*` and `?` stop at `/`, `[...]` classes, `\` escapes. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalid(`syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      re += `[${body}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}
