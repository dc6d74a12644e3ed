import { pipeline, type Readable } from 'node:stream';
import type * as tar from 'tar-stream';
import { messageOf } from '../errors.js';

/**
 * Writes one entry into a tar-stream pack and resolves once the pack has taken it, so the
 * producer goes at the reader's pace (backpressure); rejects when the reader closed the pack
 * (`closed()` already true, or the pack closes meanwhile). A file's body is a Buffer or a
 * stream; none means an empty body (tar-stream would otherwise wait for a `file`'s data).
 */
export function writeTarEntry(pack: tar.Pack, closed: () => boolean, header: tar.Headers, body?: Buffer | Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (closed()) {
      reject(new Error('the archive was closed by its reader'));
      return;
    }
    const onClose = (): void => reject(new Error('the archive was closed by its reader'));
    pack.once('close', onClose);
    const done = (err?: unknown): void => {
      pack.off('close', onClose);
      if (err) reject(err instanceof Error ? err : new Error(messageOf(err)));
      else resolve();
    };
    if (body === undefined || Buffer.isBuffer(body)) {
      pack.entry(header, body ?? Buffer.alloc(0), done);
      return;
    }
    const sink = pack.entry(header, done);
    pipeline(body, sink, (err) => {
      if (err) done(err);
    });
  });
}
