import { closeSync, constants, statfsSync } from 'node:fs';
import { Resolve, type NativeAddon } from '../native/addon-api.js';
import type { Confinement } from './types.js';

/**
 * The one place files/ resolves paths. Every lookup from the root goes through openat2 with
 * the tree's confinement plus RESOLVE_NO_MAGICLINKS (a container's /proc/<pid>/root must not
 * lead back to the host); every lookup below a directory fd names one component that is never
 * followed. Everything else then acts on `/proc/self/fd/<dirfd>/<name>`: the magic link pins
 * the directory, and the one final name is resolved by the syscall itself (unlink, mkdir,
 * lstat... which do not follow it). Calls that would follow a final symlink (chmod, open
 * without O_NOFOLLOW) are only ever made on `/proc/self/fd/<fd>` of an fd we opened.
 */
export type TreeAddon = Pick<NativeAddon, 'openat2' | 'mknod' | 'lsetxattr' | 'lgetxattr' | 'llistxattr'>;

/** O_PATH is not in Node's fs.constants; the value is the same on x86-64 and arm64. */
export const O_PATH = 0o10000000;
export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** One name inside a directory fd: what every mutation acts on. */
export interface Location {
  readonly dirFd: number;
  /** The final component; `.` when the path names the root or ends in `..` (not nameable). */
  readonly name: string;
  /** Closes `dirFd` unless it is the root's own fd; idempotent. */
  release(): void;
}

/** A path that pins `fd` (and, with `name`, one entry in that directory). */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** Closes fds in `finally` blocks without masking the error that brought us there. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // EBADF only if we double-closed: a bug, but not one worth hiding the real error for
  }
}

const noop = (): void => undefined;

/** A Location whose fd is ours; release() may be called more than once. */
function owned(fd: number, name: string): Location {
  let open = true;
  const release = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  return { dirFd: fd, name, release };
}

export class TreeRoot {
  private readonly resolve: number;

  constructor(
    readonly addon: TreeAddon,
    readonly fd: number,
    readonly confinement: Confinement,
  ) {
    this.resolve = (confinement === 'in-root' ? Resolve.IN_ROOT : Resolve.BENEATH) | Resolve.NO_MAGICLINKS;
  }

  /** Opens the path `parts` (root-relative, `..` allowed) from the root, confined. */
  open(parts: readonly string[], flags: number, mode = 0): number {
    return this.addon.openat2(this.fd, parts.length === 0 ? '.' : parts.join('/'), flags, mode, this.resolve);
  }

  /** Opens the single entry `name` of `dirFd`; a symlink there fails with ELOOP. */
  openChild(dirFd: number, name: string, flags: number, mode = 0): number {
    const strict = Resolve.BENEATH | Resolve.NO_SYMLINKS | Resolve.NO_MAGICLINKS;
    return this.addon.openat2(dirFd, name, flags | O_NOFOLLOW, mode, strict);
  }

  /** The parent directory of `parts` and its final name (see Location). */
  locate(parts: readonly string[]): Location {
    if (parts.length === 0) return { dirFd: this.fd, name: '.', release: noop };
    const last = parts[parts.length - 1] as string;
    if (last === '..') return owned(this.open(parts, O_PATH | O_DIRECTORY), '.');
    return owned(this.open(parts.slice(0, -1), O_PATH | O_DIRECTORY), last);
  }
}

/**
 * The kernel's pseudo file systems (statfs f_type): writing there through a container's root
 * could reach the host's kernel settings (/proc/sys, /sys), and their files have no real
 * size, so files/ neither writes into them nor packs their contents.
 */
const KERNEL_FS_TYPES = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0xcafe4a11, // bpf
  0x6165676c, // pstore
  0xde5e81e4, // efivarfs
  0x62656570, // configfs
  0x65735543, // fusectl
  0x42494e4d, // binfmt_misc
  0x6e736673, // nsfs
  0x1cd1, // devpts
  0x19800202, // mqueue
]);

/** Whether the directory `fd` is on one of the kernel's pseudo file systems. */
export function onKernelFs(fd: number): boolean {
  return KERNEL_FS_TYPES.has(statfsSync(fdPath(fd)).type);
}
