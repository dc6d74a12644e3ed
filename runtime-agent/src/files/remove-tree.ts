import { closeSync, constants, openSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { closeQuietly, fdPath } from './resolver.js';

/**
 * Removes the entry `name` of the directory `dirFd`: a file, link or device is unlinked; a
 * directory is emptied depth-first and then removed. Every directory is entered through an fd
 * opened with O_NOFOLLOW|O_DIRECTORY on one name of its parent's fd, and every unlink names
 * one entry of such an fd, so a symlink swapped in for a directory mid-way is unlinked, never
 * followed. Names are kept as raw bytes (readdir with Buffers) so names that are not UTF-8
 * are removed too. Iterative, so a deep tree costs fds, not stack frames. Synchronous: a
 * thread-pool round trip per unlink would cost more than the unlink.
 */
type Name = string | Buffer;

interface Frame {
  readonly fd: number;
  readonly parentFd: number;
  readonly name: Name;
  readonly pending: Buffer[];
}

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK; // libuv adds O_CLOEXEC

function entryPath(dirFd: number, name: Name): string | Buffer {
  return typeof name === 'string' ? fdPath(dirFd, name) : Buffer.concat([Buffer.from(`${fdPath(dirFd)}/`), name]);
}

/** Whether unlink(2) refused because the entry is a directory. */
function isDirectoryRefusal(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'EISDIR' || code === 'EPERM';
}

export function removeEntry(dirFd: number, name: string): void {
  try {
    unlinkSync(fdPath(dirFd, name));
    return;
  } catch (err) {
    if (!isDirectoryRefusal(err)) throw err;
  }
  removeDirectory(dirFd, name);
}

function removeDirectory(topParentFd: number, topName: string): void {
  const stack: Frame[] = [];
  const enter = (parentFd: number, name: Name): void => {
    const fd = openSync(entryPath(parentFd, name), OPEN_DIR);
    try {
      stack.push({ fd, parentFd, name, pending: readdirSync(fdPath(fd), { encoding: 'buffer' }) });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  };
  try {
    enter(topParentFd, topName);
    for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
      const child = frame.pending.pop();
      if (child === undefined) {
        stack.pop();
        closeSync(frame.fd);
        rmdirSync(entryPath(frame.parentFd, frame.name));
        continue;
      }
      const path = entryPath(frame.fd, child);
      try {
        unlinkSync(path);
        continue;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // removed by someone else meanwhile
        if (!isDirectoryRefusal(err)) throw err;
      }
      try {
        enter(frame.fd, child);
      } catch (err) {
        const code = errnoCode(err);
        // ELOOP/ENOTDIR: no longer a directory (a symlink swapped in): unlink what is there now.
        if (code === 'ELOOP' || code === 'ENOTDIR') unlinkSync(path);
        else if (code !== 'ENOENT') throw err;
      }
    }
  } finally {
    for (const frame of stack) closeQuietly(frame.fd);
  }
}
