import { constants, lchownSync } from 'node:fs';
import type { NativeAddon } from '../native/addon-api.js';

/**
 * Whiteouts: how a layer says "this path is deleted". Image tars use the AUFS form,
 * overlayfs its own; layers are unpacked into the overlay form so they can be stacked as
 * lower dirs directly.
 *
 *   tar (AUFS form)                 unpacked (overlay form)
 *   dir/.wh.name                    dir/name: character device 0/0
 *   dir/.wh..wh..opq                dir: xattr trusted.overlay.opaque=y (hides lower contents)
 *   .wh..wh.plnk, .wh..wh.aufs...   AUFS bookkeeping: dropped
 */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** The addon calls unpacking needs (mknod for whiteouts and devices, xattrs). */
export type LayerAddon = Pick<NativeAddon, 'mknod' | 'lsetxattr'>;

export type Whiteout =
  | { readonly kind: 'opaque' }
  | { readonly kind: 'whiteout'; readonly name: string }
  | { readonly kind: 'meta' };

/** Classifies the last component of a tar entry; undefined for ordinary names. */
export function classifyWhiteout(base: string): Whiteout | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (base === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  return { kind: 'whiteout', name: base.slice(WHITEOUT_PREFIX.length) };
}

/** Creates the overlay whiteout for a deleted path: a 0/0 character device owned as the entry. */
export function makeWhiteout(addon: LayerAddon, path: string, uid: number, gid: number): void {
  addon.mknod(path, constants.S_IFCHR, 0, 0);
  lchownSync(path, uid, gid);
}

/** Marks a directory opaque: overlay shows none of the lower layers' entries in it. */
export function markOpaque(addon: LayerAddon, dir: string): void {
  addon.lsetxattr(dir, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
}
