import { readlinkSync, type Stats } from 'node:fs';
import type { FileInfo, FileType } from './types.js';

export function fileType(stats: Stats): FileType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'char-device';
  return 'block-device';
}

/** A FileInfo from an lstat; `hostPath` (a /proc/self/fd path) is read for a symlink's text. */
export function fileInfo(name: string, stats: Stats, hostPath: string): FileInfo {
  const type = fileType(stats);
  const info: FileInfo = {
    name,
    type,
    size: type === 'file' || type === 'symlink' ? stats.size : 0,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: stats.mtime,
  };
  return type === 'symlink' ? { ...info, linkTarget: readlinkSync(hostPath) } : info;
}
