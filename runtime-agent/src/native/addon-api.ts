/**
 * The syscalls Node cannot make, as exposed by the N-API addon (`native/addon.c`,
 * built into native/build/berth_native.node by `npm install`). Each throws an Error
 * with `code` set to the errno name (`ENOENT`, `EPERM`...) on failure.
 */
export interface NativeAddon {
  /** mount(2). `flags` is a bitmask of MS_* values (see MountFlags); an empty string is passed as NULL. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** umount2(2) with MNT_* flags (MNT_DETACH = 2). */
  umount2(target: string, flags: number): void;
  /** mknod(2): mode includes the file type bits (S_IFCHR...). */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2); `undefined` when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** llistxattr(2). */
  llistxattr(path: string): string[];
  /**
   * openat2(2): opens `path` relative to the directory fd `dirfd` with `flags` (O_*), `mode`
   * (for O_CREAT) and `resolve` (a bitmask of Resolve values); returns the new fd (O_CLOEXEC is
   * always added). EAGAIN (a rename raced the lookup) is retried inside. The confinement
   * primitive of files/: with RESOLVE_IN_ROOT or RESOLVE_BENEATH no `..`, absolute path or
   * symlink can leave `dirfd`.
   */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
}

/** openat2's `resolve` flags (linux/openat2.h). */
export const Resolve = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
} as const;

export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  BIND: 0x1000,
  REC: 0x4000,
  PRIVATE: 0x40000,
} as const;

export const MNT_DETACH = 2;
