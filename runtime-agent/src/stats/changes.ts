/**
 * `docker container diff` (GET /containers/{id}/changes): what the container changed in its
 * root filesystem, read from its overlay upper dir against the image layers below it (the
 * container's `GraphDriver.Data.LowerDir`). Works whether the container runs or not: only
 * the directories are read, never the mounted rootfs.
 *
 *   Kind 0 (C)  modified: the path exists below and the upper dir replaces it (a copied-up
 *               or rewritten file, a directory whose mode or owner changed) — and every
 *               directory above a change, as Docker lists them
 *   Kind 1 (A)  added: nothing visible below (a new directory's whole content is listed)
 *   Kind 2 (D)  deleted: an overlay whiteout (a 0/0 character device) over something visible
 *               below; each entry of an opaque directory (xattr trusted.overlay.opaque=y)
 *               that existed below and was not recreated
 *
 * "Visible below" follows the layers' own overlay form: a lower layer's whiteout or opaque
 * directory hides what the layers under it hold. Sorted by path. Paths berthd itself creates
 * as mount points (Docker's init layer: /etc/hosts, /dev, /proc...) are left out, as the
 * init layer keeps them out of Docker's diff.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { errnoCode } from '../errors.js';

export const ChangeKind = { Modified: 0, Added: 1, Deleted: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

/** The one syscall diff needs that Node lacks (the native addon provides it). */
export interface XattrReader {
  lgetxattr(path: string, name: string): Buffer | undefined;
}

const OPAQUE = 'trusted.overlay.opaque';

/**
 * Docker's init layer: mount points and files the engine puts in every rootfs, never part of
 * a diff when they are only there for that reason (added, not modified).
 */
export const INIT_LAYER_PATHS: ReadonlySet<string> = new Set([
  '/dev', '/dev/pts', '/dev/shm', '/dev/console', '/dev/mqueue', '/proc', '/sys',
  '/etc', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/etc/mtab', '/.dockerenv',
]);

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(xattr: XattrReader, path: string): boolean {
  try {
    return xattr.lgetxattr(path, OPAQUE)?.toString('latin1') === 'y';
  } catch {
    return false;
  }
}

/** The merged view of the image layers, as overlayfs would show it (read-only, memoised). */
class LowerView {
  private readonly seen = new Map<string, Promise<Stats | undefined>>();

  constructor(
    private readonly layers: readonly string[],
    private readonly xattr: XattrReader,
  ) {}

  /** The entry visible at `path` in the lower layers, or undefined. */
  stat(path: string): Promise<Stats | undefined> {
    let found = this.seen.get(path);
    if (!found) this.seen.set(path, (found = this.lookup(path)));
    return found;
  }

  private async lookup(path: string): Promise<Stats | undefined> {
    if (path === '/') return this.layers.length > 0 ? lstatOrUndefined(this.layers[0] as string) : undefined;
    const parent = posix.dirname(path);
    const parentStat = await this.stat(parent);
    if (!parentStat?.isDirectory()) return undefined;
    for (const layer of this.layers) {
      const st = await lstatOrUndefined(layer + path);
      if (st) return isWhiteout(st) ? undefined : st;
      // An opaque parent in this layer hides the same path in every layer below it.
      if (parent !== '/' && isOpaque(this.xattr, layer + parent)) return undefined;
    }
    return undefined;
  }

  /** Names visible in the lower directory `path`. */
  async children(path: string): Promise<string[]> {
    const names = new Set<string>();
    for (const layer of this.layers) {
      for (const name of await readdir(layer + (path === '/' ? '' : path)).catch(() => [] as string[])) names.add(name);
    }
    const visible: string[] = [];
    for (const name of names) {
      if (await this.stat(posix.join(path, name))) visible.push(name);
    }
    return visible;
  }
}

/**
 * The changes of `upper` over `lowersTopFirst` (the topmost image layer first), sorted by
 * path. `ignore`: added paths to leave out (default: Docker's init layer).
 */
export async function containerChanges(
  upper: string,
  lowersTopFirst: readonly string[],
  xattr: XattrReader,
  ignore: ReadonlySet<string> = INIT_LAYER_PATHS,
): Promise<Change[]> {
  const lower = new LowerView(lowersTopFirst, xattr);
  const changes = new Map<string, ChangeKind>();
  const record = (path: string, kind: ChangeKind): void => {
    if (kind === ChangeKind.Added && ignore.has(path)) return;
    changes.set(path, kind);
  };

  const walk = async (dir: string): Promise<void> => {
    const names = await readdir(upper + (dir === '/' ? '' : dir)).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names.sort()) {
      const path = posix.join(dir, name);
      const st = await lstatOrUndefined(upper + path);
      if (!st) continue; // gone while we read (a running container)
      const below = await lower.stat(path);
      if (isWhiteout(st)) {
        if (below) record(path, ChangeKind.Deleted);
        continue;
      }
      if (!below) {
        record(path, ChangeKind.Added);
      } else if (st.isDirectory() && below.isDirectory()) {
        if (st.mode !== below.mode || st.uid !== below.uid || st.gid !== below.gid) record(path, ChangeKind.Modified);
        if (isOpaque(xattr, upper + path)) {
          const kept = new Set(await readdir(upper + path));
          for (const child of await lower.children(path)) {
            if (!kept.has(child)) record(posix.join(path, child), ChangeKind.Deleted);
          }
        }
      } else {
        record(path, ChangeKind.Modified);
      }
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk('/');

  // Every directory above a change is listed as modified (unless it was added itself).
  for (const path of [...changes.keys()]) {
    for (let dir = posix.dirname(path); dir !== '/'; dir = posix.dirname(dir)) {
      if (changes.has(dir)) break;
      changes.set(dir, ChangeKind.Modified);
    }
  }
  return [...changes]
    .map(([Path, Kind]) => ({ Path, Kind }))
    .sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
