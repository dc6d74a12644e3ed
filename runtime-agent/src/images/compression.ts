import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errnoCode, invalid, messageOf } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Recognises a compressed stream by its magic bytes, as Docker does (media types lie). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * The uncompressed bytes of `source`: gzip is inflated, plain data passes through, and the
 * formats Node cannot read (bzip2, xz, zstd) are refused with a clear error naming `what`.
 * Corrupt gzip data surfaces as an invalid-parameter error on the returned stream.
 */
export async function decompressed(source: Readable, what: string): Promise<Readable> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 6) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    head = Buffer.concat([head, next.value]);
  }
  const kind = detectCompression(head);
  if (kind !== 'none' && kind !== 'gzip') {
    source.destroy();
    throw invalid(`${what} is compressed with ${kind}, which berthd cannot read: use an uncompressed or gzip tar`);
  }
  const rest = Readable.from(
    (async function* () {
      try {
        if (head.length > 0) yield head;
        if (done) return;
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) {
            done = true;
            return;
          }
          yield next.value;
        }
      } finally {
        if (!done) source.destroy(); // a consumer that stops early must not leave the source open
      }
    })(),
    { objectMode: false },
  );
  if (kind === 'none') return rest;
  const gunzip = createGunzip();
  pipeline(rest, gunzip, () => undefined); // errors surface through the iteration below
  return Readable.from(inflate(gunzip, what), { objectMode: false });
}

async function* inflate(gunzip: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of gunzip) yield chunk;
  } catch (err) {
    if (errnoCode(err)?.startsWith('Z_') === true) throw invalid(`${what}: invalid gzip data: ${messageOf(err)}`, err);
    throw err;
  }
}
