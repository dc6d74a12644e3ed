import { conflict } from '../errors.js';
import { log } from '../log.js';
import { shortId, type Digest } from './digest.js';
import type { ImageStore } from './image-store.js';
import type { LayerRecord } from './layer-store.js';
import { familiarString, nameOf, parseNormalizedNamed, storeReference, type ImageReference } from './reference.js';

/**
 * `docker rmi` (DELETE /images/{name}) with Docker's semantics:
 *
 * - By name (`busybox`, `busybox:1`, `x@sha256:..`): the reference is removed (Untagged);
 *   when it was the image's last tag, the digests of that repository go too, and the image
 *   is deleted once no reference is left. Without force, removing the only reference of an
 *   image a container uses is a 409.
 * - By ID (or ID prefix): an image with one reference is untagged and deleted; with
 *   several it is a 409 "referenced in multiple repositories" unless forced, when every
 *   reference goes. An image a container uses is a 409 "must be forced" (stopped) or
 *   "cannot be forced" (running, when berthd knows it).
 * - An image with child images (parents come only from `docker load`) cannot be deleted.
 * - Unless `noprune`, parents left untagged and unused are deleted too.
 *
 * Response items: {Untagged: "busybox:latest"}, {Deleted: "sha256:<image id>"},
 * {Deleted: "sha256:<chain id>"} per layer removed.
 */
export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface DeleteOptions {
  readonly force: boolean;
  readonly noprune: boolean;
}

export interface DeleteResult {
  readonly items: DeleteItem[];
  readonly layers: LayerRecord[];
}

type ConflictKind = 'child' | 'running' | 'references' | 'stopped';

/** Runs inside store.exclusive. */
export async function deleteImage(store: ImageStore, name: string, opts: DeleteOptions): Promise<DeleteResult> {
  const result: DeleteResult = { items: [], layers: [] };
  result.layers.push(...(await store.reapGhosts()));
  const image = store.find(name);
  const id = image.id;
  let refs = store.refs.referencesOf(id);
  let quiet = false;
  if (namedByReference(store, name, id)) {
    if (!opts.force && isSingleReference(refs)) {
      const user = store.users.containersUsing(id)[0];
      if (user !== undefined) {
        throw conflict(
          `conflict: unable to remove repository reference ${JSON.stringify(name)} (must force) - container ${shortId(user)} is using its referenced image ${shortId(id)}`,
        );
      }
    }
    const ref = storeReference(parseNormalizedNamed(name));
    await store.refs.delete(ref);
    result.items.push({ Untagged: familiarString(ref) });
    refs = store.refs.referencesOf(id);
    if (ref.digest === undefined && !refs.some((r) => r.digest === undefined && nameOf(r) === nameOf(ref))) {
      // The repository's last tag went: its digest references go with it.
      const remaining: ImageReference[] = [];
      for (const r of refs) {
        if (r.digest !== undefined && nameOf(r) === nameOf(ref)) {
          await store.refs.delete(r);
          result.items.push({ Untagged: familiarString(r) });
        } else remaining.push(r);
      }
      refs = remaining;
    }
    if (refs.length > 0) return finish(result, name);
    quiet = true;
  } else if (isSingleReference(refs)) {
    const kinds: ConflictKind[] = opts.force ? ['child', 'running'] : ['child', 'running', 'stopped'];
    const found = conflictOf(store, id, kinds);
    if (found) throw found;
    for (const r of refs) {
      await store.refs.delete(r);
      result.items.push({ Untagged: familiarString(r) });
    }
  }
  await deleteUnreferenced(store, id, result, opts.force, !opts.noprune, quiet);
  return finish(result, name);
}

function finish(result: DeleteResult, name: string): DeleteResult {
  log.info('image.delete', { name, untagged: result.items.filter((i) => i.Untagged).length, deleted: result.items.filter((i) => i.Deleted).length });
  return result;
}

/** Docker's imageDeleteHelper: delete the image (and untagged parents when pruning). */
async function deleteUnreferenced(
  store: ImageStore,
  id: Digest,
  result: DeleteResult,
  force: boolean,
  prune: boolean,
  quiet: boolean,
): Promise<void> {
  const kinds: ConflictKind[] = force ? ['child', 'running'] : ['child', 'running', 'references', 'stopped'];
  const found = conflictOf(store, id, kinds);
  if (found) {
    const dangling = store.refs.referencesOf(id).length === 0 && store.children(id).length === 0;
    if (quiet && (!dangling || found.used)) return;
    throw found;
  }
  const parent = store.get(id)?.record.parent;
  for (const r of store.refs.referencesOf(id)) {
    await store.refs.delete(r);
    result.items.push({ Untagged: familiarString(r) });
  }
  const layers = await store.drop(id);
  result.items.push({ Deleted: id });
  for (const layer of layers) result.items.push({ Deleted: layer.chainId });
  result.layers.push(...layers);
  if (prune && parent !== undefined && store.get(parent)) {
    await deleteUnreferenced(store, parent, result, false, true, true);
  }
}

function conflictOf(store: ImageStore, id: Digest, kinds: readonly ConflictKind[]): (Error & { used: boolean }) | undefined {
  const make = (hard: boolean, used: boolean, message: string): Error & { used: boolean } => {
    const err = conflict(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot' : 'must'} be forced) - ${message}`);
    return Object.assign(err, { used });
  };
  const users = store.users.containersUsing(id);
  const running = users.filter((c) => store.users.isRunning?.(c) === true);
  if (kinds.includes('child') && store.children(id).length > 0) return make(true, false, 'image has dependent child images');
  if (kinds.includes('running') && running[0] !== undefined) {
    return make(true, true, `image is being used by running container ${shortId(running[0])}`);
  }
  if (kinds.includes('references') && store.refs.referencesOf(id).length > 0) {
    return make(false, false, 'image is referenced in multiple repositories');
  }
  const stopped = users.filter((c) => !running.includes(c));
  if (kinds.includes('stopped') && stopped[0] !== undefined) {
    return make(false, true, `image is being used by stopped container ${shortId(stopped[0])}`);
  }
  return undefined;
}

/** Docker's isSingleReference: one tag, plus at most the digests of that same repository. */
function isSingleReference(refs: readonly ImageReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tags = refs.filter((r) => r.digest === undefined);
  if (tags.length > 1) return false;
  const digestNames = new Set(refs.filter((r) => r.digest !== undefined).map(nameOf));
  const single = tags[0] ?? refs[0];
  return digestNames.size === 1 && single !== undefined && digestNames.has(nameOf(single));
}

/**
 * Whether the user named the image by one of its references rather than by (a prefix of) its
 * ID. A name wins over an ID prefix, as in Docker: `rmi b` untags `b:latest` even when the
 * image's ID happens to start with `b`.
 */
function namedByReference(store: ImageStore, name: string, id: Digest): boolean {
  try {
    return store.refs.get(storeReference(parseNormalizedNamed(name))) === id;
  } catch {
    return false; // not a valid reference: an ID or ID prefix
  }
}
