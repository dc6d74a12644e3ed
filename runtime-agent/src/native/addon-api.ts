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
}

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
