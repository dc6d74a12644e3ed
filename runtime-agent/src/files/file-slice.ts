import { close, read } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * `length` bytes of an open file from `start`, read as the consumer asks for them (one
 * positional read per `_read`, so a 1 GiB file never sits in memory). If the file is shorter
 * now (it shrank meanwhile), the rest is zeros when `pad` (a tar body must be exactly the size
 * its header declared), else the stream ends early. Owns `fd`: closed at the end or on destroy.
 */
export class FileSlice extends Readable {
  private position: number;
  private remaining: number;
  private fd: number | undefined;
  /** A read in flight: the fd is closed only after it returns (its number could be reused). */
  private reading = false;
  private closeWhenIdle: (() => void) | undefined;

  constructor(
    fd: number,
    start: number,
    length: number,
    private readonly pad: boolean,
    private readonly chunk = 256 * 1024,
  ) {
    super({ highWaterMark: chunk });
    this.fd = fd;
    this.position = start;
    this.remaining = length;
  }

  override _read(): void {
    const fd = this.fd;
    if (this.remaining === 0 || fd === undefined) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(Math.min(this.chunk, this.remaining));
    this.reading = true;
    read(fd, buffer, 0, buffer.length, this.position, (err, n) => {
      this.reading = false;
      if (this.closeWhenIdle) {
        this.closeWhenIdle();
        return;
      }
      if (err) {
        this.destroy(err);
        return;
      }
      if (n === 0) {
        if (!this.pad) {
          this.remaining = 0;
          this.push(null);
          return;
        }
        buffer.fill(0);
        n = buffer.length;
      }
      this.position += n;
      this.remaining -= n;
      this.push(n === buffer.length ? buffer : buffer.subarray(0, n));
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) {
      callback(err);
      return;
    }
    const closeFd = (): void => close(fd, (closeErr) => callback(err ?? closeErr));
    if (this.reading) this.closeWhenIdle = closeFd;
    else closeFd();
  }
}
