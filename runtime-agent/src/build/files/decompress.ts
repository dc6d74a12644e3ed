import { spawn } from 'node:child_process';
import { Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errnoCode, invalid, messageOf } from '../../errors.js';
import { detectCompression, type Compression } from '../../images/compression.js';

/**
 * The uncompressed bytes of a build input (the context body, an ADD archive), recognised by
 * its magic bytes as Docker does: plain and gzip in-process, bzip2 and xz through the `bzip2`
 * and `xz` programs (moby itself runs `xz`; Node has neither codec), zstd refused. A missing
 * program or corrupt data is an invalid-parameter error naming `what`.
 *
 * `source` is never destroyed here: its owner decides (an HTTP server still answers with the
 * error; a file's owner closes it in `finally`). A consumer that stops early ends a
 * decompressing child process.
 */
export interface Decompressed {
  readonly compression: Compression;
  readonly stream: Readable;
}

const HEAD_BYTES = 6;
const PROGRAMS: Partial<Record<Compression, string>> = { bzip2: 'bzip2', xz: 'xz' };

export async function decompress(source: Readable, what: string): Promise<Decompressed> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < HEAD_BYTES) {
    const next = await chunks.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, next.value]);
  }
  const compression = detectCompression(head);
  const raw = rejoin(head, ended, chunks);
  switch (compression) {
    case 'none':
      return { compression, stream: Readable.from(raw, { objectMode: false }) };
    case 'gzip':
      return { compression, stream: Readable.from(gunzip(raw, what), { objectMode: false }) };
    case 'bzip2':
    case 'xz':
      return { compression, stream: Readable.from(viaProgram(PROGRAMS[compression] as string, raw, what), { objectMode: false }) };
    default:
      throw invalid(`${what} is compressed with ${compression}, which berthd cannot read: use a plain, gzip, bzip2 or xz tar`);
  }
}

/** The bytes already read, then the rest of the source. */
async function* rejoin(head: Buffer, ended: boolean, chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (ended) return;
  for (;;) {
    const next = await chunks.next();
    if (next.done === true) return;
    yield next.value;
  }
}

async function* gunzip(raw: AsyncGenerator<Buffer>, what: string): AsyncGenerator<Buffer> {
  const inflater = createGunzip();
  const feeding = feed(raw, inflater, (err) => inflater.destroy(err));
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) yield chunk;
    await feeding;
  } catch (err) {
    if (errnoCode(err)?.startsWith('Z_') === true) throw invalid(`${what}: invalid gzip data: ${messageOf(err)}`, err);
    throw err;
  } finally {
    inflater.destroy();
  }
}

/** Runs `program -d -c` with `raw` on its stdin and yields its stdout; a failure is the input's. */
async function* viaProgram(program: string, raw: AsyncGenerator<Buffer>, what: string): AsyncGenerator<Buffer> {
  const child = spawn(program, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // observed below; never an unhandled rejection
  child.stdin.on('error', () => undefined); // EPIPE when the program quits early: its exit code says why
  const feeding = feed(raw, child.stdin, () => child.stdin.destroy());
  let finished = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    await feeding;
    let code: number | null;
    try {
      code = await exited;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw invalid(`${what} is compressed with ${program}, but the \`${program}\` program is not installed where berthd runs: use a plain or gzip tar`);
      throw err;
    }
    if (code !== 0) throw invalid(`${what}: invalid ${program} data: ${stderr.trim() || `exit code ${code}`}`);
    finished = true;
  } finally {
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Writes `raw` into `sink` with backpressure and ends it; on a read failure calls `fail`. */
async function feed(raw: AsyncGenerator<Buffer>, sink: Writable, fail: (err: Error) => void): Promise<void> {
  try {
    for await (const chunk of raw) {
      if (sink.destroyed) return;
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', resolve).once('close', resolve));
    }
    if (!sink.destroyed) sink.end();
  } catch (err) {
    fail(err instanceof Error ? err : new Error(messageOf(err)));
  }
}
