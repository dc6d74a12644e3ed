import { invalid } from '../errors.js';
import { MountFlags } from '../native/addon-api.js';

/**
 * A local volume's `o=` option read as mount(8) reads it: words that are mount flags
 * (`ro`, `nosuid`, `bind`...) become MS_* bits, propagation words (`rprivate`...) a second
 * mount(2) call, and everything else (`size=64m`, `mode=1777`, `uid=1000`, `addr=...`) the
 * filesystem's data string, in order.
 *
 *   parseMountOptions('size=10m,nosuid,nodev,mode=700')
 *     → { flags: NOSUID|NODEV, propagation: 0, data: 'size=10m,mode=700' }
 */
export interface ParsedMountOptions {
  readonly flags: number;
  /** MS_PRIVATE / MS_SHARED / MS_SLAVE / MS_UNBINDABLE, with MS_REC for the `r` forms; 0 when none. */
  readonly propagation: number;
  readonly data: string;
}

/** linux/mount.h values the addon's MountFlags does not name. */
const MS = {
  ...MountFlags,
  SYNCHRONOUS: 0x10,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Word → [set, bits]: `set` false clears the bits (`rw` clears MS_RDONLY). */
const FLAG_WORDS: Readonly<Record<string, readonly [boolean, number]>> = {
  defaults: [false, 0],
  ro: [true, MS.RDONLY],
  rw: [false, MS.RDONLY],
  suid: [false, MS.NOSUID],
  nosuid: [true, MS.NOSUID],
  dev: [false, MS.NODEV],
  nodev: [true, MS.NODEV],
  exec: [false, MS.NOEXEC],
  noexec: [true, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS],
  async: [false, MS.SYNCHRONOUS],
  dirsync: [true, MS.DIRSYNC],
  mand: [true, MS.MANDLOCK],
  nomand: [false, MS.MANDLOCK],
  atime: [false, MS.NOATIME],
  noatime: [true, MS.NOATIME],
  diratime: [false, MS.NODIRATIME],
  nodiratime: [true, MS.NODIRATIME],
  relatime: [true, MS.RELATIME],
  norelatime: [false, MS.RELATIME],
  strictatime: [true, MS.STRICTATIME],
  nostrictatime: [false, MS.STRICTATIME],
  lazytime: [true, MS.LAZYTIME],
  nolazytime: [false, MS.LAZYTIME],
  silent: [true, MS.SILENT],
  loud: [false, MS.SILENT],
  bind: [true, MS.BIND],
  rbind: [true, MS.BIND | MS.REC],
};

const PROPAGATION_WORDS: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Words that would change what the mount call does rather than how the volume is mounted. */
const REFUSED_WORDS = new Set(['remount', 'move']);

export function parseMountOptions(o: string): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const word of o.split(',')) {
    if (word === '') continue;
    if (REFUSED_WORDS.has(word)) throw invalid(`invalid volume option o=${o}: "${word}" cannot be used for a volume`);
    const flag = FLAG_WORDS[word];
    if (flag !== undefined) {
      const [set, bits] = flag;
      flags = set ? flags | bits : flags & ~bits;
      continue;
    }
    const prop = PROPAGATION_WORDS[word];
    if (prop !== undefined) propagation = prop;
    else data.push(word);
  }
  return { flags, propagation, data: data.join(',') };
}

/** Flags a bind mount ignores on its first call and needs a remount to apply (as mount(8) does). */
export const BIND_REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

export { MS as MountBits };
