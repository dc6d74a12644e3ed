import { PassThrough, type Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { messageOf } from '../../errors.js';
import type { ConfinedTree } from '../../files/types.js';
import { writeTarEntry } from '../../files/tar-entry.js';

/**
 * How COPY/ADD write into a target tree: a tar made on the fly and handed to the tree's own
 * extract(), so every name is confined by the tree (in-root for a container's filesystem:
 * a symlink on the way is followed as if the tree were `/`), and owners, modes and mtimes are
 * set the way extract sets them. tar-stream writes PAX headers for long or non-ASCII names.
 */
const OUTPUT_BUFFER = 1024 * 1024;

export class TarWriter {
  private readonly pack = tar.pack();
  private readonly output = new PassThrough({ highWaterMark: OUTPUT_BUFFER });
  private closed = false;

  constructor() {
    this.pack.on('close', () => {
      this.closed = true;
    });
    this.pack.on('error', (err: Error) => this.output.destroy(err));
    this.output.on('close', () => this.pack.destroy());
    this.pack.pipe(this.output);
  }

  /** The tar, through a core stream: tar-stream's own (readable-stream 3) is slow to iterate
   *  chunk by chunk, and a tar of small files is thousands of small chunks. */
  get stream(): Readable {
    return this.output;
  }

  /** Writes one entry and waits until the reader took it (backpressure). */
  add(header: tar.Headers, body?: Buffer | Readable): Promise<void> {
    return writeTarEntry(this.pack, () => this.closed, header, body);
  }

  finish(): void {
    this.pack.finalize();
  }

  abort(err: Error): void {
    this.pack.destroy(err);
  }
}

/**
 * Extracts into `dir` of `target` what `produce` writes. The first failure wins: a refused entry
 * (extract's) stops the writer, a failed source (the writer's) stops the extraction.
 */
export async function extractWritten(target: ConfinedTree, dir: string, produce: (writer: TarWriter) => Promise<void>): Promise<void> {
  const writer = new TarWriter();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    writer.abort(error instanceof Error ? error : new Error(messageOf(error)));
  };
  const extracting = target.extract(dir, writer.stream).catch(fail);
  const writing = produce(writer).then(
    () => writer.finish(),
    (err: unknown) => fail(err),
  );
  await Promise.all([extracting, writing]);
  if (failure !== undefined) throw failure.error;
}
