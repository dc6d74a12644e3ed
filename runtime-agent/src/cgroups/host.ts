/**
 * The narrow host interface the cgroup drivers act through: cgroupfs file operations and
 * SIGKILL. berthd uses `nodeCgroupHost`; unit tests pass a fake kernel over a tmp dir so the
 * drivers' logic (what is written where, in which order) runs without privileges.
 *
 * Errors keep Node's errno codes (`ENOENT`, `EBUSY`, `EINVAL`...): the drivers decide which
 * ones are expected.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { errnoCode } from '../errors.js';

export type EntryKind = 'dir' | 'link' | 'file';

export interface CgroupHost {
  readFile(path: string): Promise<string>;
  /** One write(2) of `value` (cgroupfs takes each write as one command). */
  writeFile(path: string, value: string): Promise<void>;
  /** Creates one directory level; EEXIST is not an error. */
  mkdir(path: string): Promise<void>;
  /** Removes an (empty) cgroup directory. */
  rmdir(path: string): Promise<void>;
  /** Entries of a directory with their kind; ENOENT propagates. */
  list(path: string): Promise<{ name: string; kind: EntryKind }[]>;
  exists(path: string): Promise<boolean>;
  /** SIGKILL to a host pid; a pid that is already gone is not an error. */
  kill(pid: number): void;
}

export const nodeCgroupHost: CgroupHost = {
  readFile: (path) => fs.readFile(path, 'utf8'),
  writeFile: async (path, value) => {
    // No O_CREAT: writing a control file that does not exist must fail, not make one. No
    // O_RDWR either: kernfs refuses to open write-only files (cgroup.kill) for reading.
    const handle = await fs.open(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    try {
      await handle.write(value);
    } finally {
      await handle.close();
    }
  },
  mkdir: async (path) => {
    try {
      await fs.mkdir(path);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  },
  rmdir: (path) => fs.rmdir(path),
  list: async (path) =>
    (await fs.readdir(path, { withFileTypes: true })).map((entry) => ({
      name: entry.name,
      kind: entry.isDirectory() ? 'dir' : entry.isSymbolicLink() ? 'link' : 'file',
    })),
  exists: async (path) => {
    try {
      await fs.access(path);
      return true;
    } catch {
      return false;
    }
  },
  kill: (pid) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw err;
    }
  },
};
