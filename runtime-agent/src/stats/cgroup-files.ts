/**
 * A CgroupHost for the samplers: reads keep each cgroup file open and re-read it from offset 0
 * (cgroupfs regenerates a file's content on every read from the start), synchronously —
 * cgroupfs and procfs reads are served from kernel memory and never wait on a disk. Compared
 * with fs.promises.readFile (open, fstat, read, close, each a thread-pool round trip) this cuts
 * the cost of sampling 100 containers each second several times over.
 *
 * A handle whose group was removed (the container stopped; a restart makes a new group at
 * the same path) fails to read (ENODEV/ENOENT): it is closed and the file opened again once.
 * `retain` closes the handles of groups no longer sampled. At most `maxOpen` files stay open;
 * beyond that reads open and close as usual. Everything but reads goes to the normal host.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { nodeCgroupHost, type CgroupHost } from '../cgroups/host.js';

const DEFAULT_MAX_OPEN = 2048;

export class CgroupFileCache implements CgroupHost {
  private readonly fds = new Map<string, number>();
  private readonly buffer = Buffer.alloc(64 * 1024);

  constructor(
    private readonly base: CgroupHost = nodeCgroupHost,
    private readonly maxOpen = DEFAULT_MAX_OPEN,
  ) {}

  readonly writeFile = (path: string, value: string): Promise<void> => this.base.writeFile(path, value);
  readonly mkdir = (path: string): Promise<void> => this.base.mkdir(path);
  readonly rmdir = (path: string): Promise<void> => this.base.rmdir(path);
  readonly list = (path: string): ReturnType<CgroupHost['list']> => this.base.list(path);
  readonly exists = (path: string): Promise<boolean> => this.base.exists(path);
  readonly kill = (pid: number): void => this.base.kill(pid);

  readonly readFile = async (path: string): Promise<string> => this.readSyncCached(path);

  private readSyncCached(path: string): string {
    const cached = this.fds.get(path);
    if (cached !== undefined) {
      try {
        return this.readFd(cached);
      } catch {
        this.close(path); // a stale handle: open it again below
      }
    }
    const fd = openSync(path, 'r');
    try {
      const text = this.readFd(fd);
      if (this.fds.size < this.maxOpen) {
        this.fds.set(path, fd);
        return text;
      }
      closeSync(fd);
      return text;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private readFd(fd: number): string {
    let length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
    if (length < this.buffer.length) return this.buffer.toString('latin1', 0, length);
    // Larger than the buffer (memory.stat never is; be safe): read on.
    const parts = [Buffer.from(this.buffer)];
    for (let n = length; n > 0; length += n) {
      n = readSync(fd, this.buffer, 0, this.buffer.length, length);
      parts.push(Buffer.from(this.buffer.subarray(0, n)));
    }
    return Buffer.concat(parts).toString('latin1');
  }

  private close(path: string): void {
    const fd = this.fds.get(path);
    this.fds.delete(path);
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
  }

  /** Closes every handle whose path `keep` rejects (groups of containers no longer running). */
  retain(keep: (path: string) => boolean): void {
    for (const path of [...this.fds.keys()]) if (!keep(path)) this.close(path);
  }

  /** Open handles (for tests). */
  get open(): number {
    return this.fds.size;
  }

  closeAll(): void {
    this.retain(() => false);
  }
}
