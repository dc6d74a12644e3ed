import type { FileInfo, FileType } from './types.js';

/**
 * Docker's `X-Docker-Container-Path-Stat` header (HEAD/GET/PUT /containers/{id}/archive): the
 * base64 (standard alphabet) of the JSON `{"name","size","mode","mtime","linkTarget"}`, where
 * `mode` is Go's os.FileMode: the permission bits in the low 9 bits and the file type and
 * set-id/sticky bits as flags at the top, not the Unix st_mode layout. The docker CLI reads it
 * to decide how to copy (directory or not, symlink to follow).
 */
export const GoFileMode = {
  Dir: 2 ** 31,
  Symlink: 2 ** 27,
  Device: 2 ** 26,
  NamedPipe: 2 ** 25,
  Socket: 2 ** 24,
  Setuid: 2 ** 23,
  Setgid: 2 ** 22,
  CharDevice: 2 ** 21, // set together with Device
  Sticky: 2 ** 20,
} as const;

const TYPE_BITS: Record<FileType, number> = {
  file: 0,
  directory: GoFileMode.Dir,
  symlink: GoFileMode.Symlink,
  fifo: GoFileMode.NamedPipe,
  socket: GoFileMode.Socket,
  'char-device': GoFileMode.Device + GoFileMode.CharDevice,
  'block-device': GoFileMode.Device,
};

/** Go's os.FileMode of a file (as a plain number: it can exceed 2^31, so no bitwise `|`). */
export function goFileMode(info: Pick<FileInfo, 'type' | 'mode'>): number {
  let mode = TYPE_BITS[info.type] + (info.mode & 0o777);
  if (info.mode & 0o4000) mode += GoFileMode.Setuid;
  if (info.mode & 0o2000) mode += GoFileMode.Setgid;
  if (info.mode & 0o1000) mode += GoFileMode.Sticky;
  return mode;
}

export function pathStatHeader(info: FileInfo): string {
  const stat = {
    name: info.name,
    size: info.size,
    mode: goFileMode(info),
    // Go marshals time.Time as RFC 3339 with only the fraction digits it needs.
    mtime: info.mtime.toISOString().replace('.000Z', 'Z'),
    linkTarget: info.linkTarget ?? '',
  };
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}
