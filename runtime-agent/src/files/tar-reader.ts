import { invalid } from '../errors.js';

/**
 * A streaming tar reader (ustar, GNU long names, PAX), for extract.ts. Why not tar-stream: its
 * parser alone takes about as long as GNU tar's whole extraction of a tree of small files, and
 * it decodes PAX values as UTF-8 text, which corrupts binary xattrs (security.capability).
 * This one pulls chunks from the source as the consumer asks (backpressure for free), hands
 * file data over as slices of those chunks (no copies), and keeps PAX values as bytes.
 *
 * Usage: `for await (const entry of readTar(source))`, and consume `entry.body()` (or not: what
 * is left is skipped) before asking for the next entry.
 */
export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | `unsupported (type flag ${string})`;

export interface TarEntry {
  readonly name: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** PAX `SCHILY.xattr.<name>` records, values as raw bytes. */
  readonly xattrs: ReadonlyMap<string, Buffer>;
  /** The entry's data, as slices of the source's chunks; valid until the next entry is asked for. */
  body(): AsyncGenerator<Buffer>;
}

const BLOCK = 512;
/** PAX and GNU long-name blocks are metadata: a bigger one is an attack, not a name. */
const MAX_META = 1024 * 1024;
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const input = new ChunkReader(source[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await input.read(BLOCK, true);
    if (block === undefined || block.every((b) => b === 0)) {
      await input.drain(); // the second zero block and the padding: read, so the sender is not left hanging
      return;
    }
    const header = parseHeader(block);
    const padded = Math.ceil(header.size / BLOCK) * BLOCK;
    const flag = header.flag;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (header.size > MAX_META) throw invalid(`invalid tar archive: a ${header.size}-byte extended header`);
      const data = (await input.read(padded, false)) as Buffer;
      const meta = data.subarray(0, header.size);
      if (flag === 'x') local = new Map([...local, ...parsePax(meta)]);
      else if (flag === 'g') global = new Map([...global, ...parsePax(meta)]);
      else if (flag === 'L') longName = cString(meta);
      else longLink = cString(meta);
      continue;
    }
    const pax = new Map([...global, ...local]);
    local = new Map();
    const text = (key: string): string | undefined => pax.get(key)?.toString('utf8');
    const size = paxInteger(text('size')) ?? header.size;
    const entry = {
      name: text('path') ?? longName ?? header.name,
      type: TYPES[flag] ?? (`unsupported (type flag ${JSON.stringify(flag)})` as const),
      mode: header.mode,
      uid: paxInteger(text('uid')) ?? header.uid,
      gid: paxInteger(text('gid')) ?? header.gid,
      size: TYPES[flag] === 'file' ? size : 0,
      mtime: paxTime(text('mtime')) ?? new Date(header.mtime * 1000),
      linkname: text('linkpath') ?? longLink ?? header.linkname,
      devmajor: header.devmajor,
      devminor: header.devminor,
      xattrs: new Map([...pax].filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => [k.slice(13), v])),
    };
    longName = undefined;
    longLink = undefined;
    // As Go's archive/tar: links, devices, fifos and directories never carry data, whatever
    // their size field says; anything else (an unknown type too) is followed by `size` bytes.
    const dataSize = HEADER_ONLY.has(flag) ? 0 : size;
    let left = dataSize;
    const body = async function* (): AsyncGenerator<Buffer> {
      while (left > 0) {
        const chunk = await input.next(left);
        left -= chunk.length;
        yield chunk;
      }
    };
    yield { ...entry, body };
    while (left > 0) left -= (await input.next(left)).length;
    await input.skip(Math.ceil(dataSize / BLOCK) * BLOCK - dataSize);
  }
}

interface RawHeader {
  readonly name: string;
  readonly flag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

function parseHeader(block: Buffer): RawHeader {
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i] as number;
  const stored = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(stored) || sum !== parseInt(stored, 8)) throw invalid('invalid tar archive: a header checksum does not match (not a tar, or compressed?)');
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  let name = cString(block.subarray(0, 100));
  if (ustar && block[345] !== 0 && block.toString('latin1', 257, 265) !== 'ustar  \0') {
    name = `${cString(block.subarray(345, 500))}/${name}`; // POSIX prefix (GNU tar uses those bytes otherwise)
  }
  const flag = String.fromCharCode(block[156] as number);
  return {
    name,
    flag: flag === '0' && name.endsWith('/') ? '5' : flag, // old tars mark directories by a trailing /
    mode: number(block, 100, 8) & 0o7777,
    uid: number(block, 108, 8),
    gid: number(block, 116, 8),
    size: number(block, 124, 12),
    mtime: number(block, 136, 12),
    linkname: cString(block.subarray(157, 257)),
    devmajor: number(block, 329, 8),
    devminor: number(block, 337, 8),
  };
}

/** An octal field (NUL/space padded), or GNU's base-256 for big values. */
function number(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0] as number) & 0x80) {
    let value = (field[0] as number) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid('invalid tar archive: a header holds a malformed number');
  return parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end === -1 ? bytes.length : end);
}

/** PAX records: `<length> <key>=<value>\n`, values as raw bytes. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  for (let off = 0; off < data.length; ) {
    const space = data.indexOf(0x20, off);
    const length = space === -1 ? NaN : Number(data.toString('latin1', off, space));
    if (!Number.isSafeInteger(length) || length <= 0 || off + length > data.length) {
      if (data.subarray(off).every((b) => b === 0)) break; // padding some writers leave
      throw invalid('invalid tar archive: a malformed PAX header');
    }
    const record = data.subarray(space + 1, off + length - 1); // without the trailing newline
    const equals = record.indexOf(0x3d);
    if (equals === -1) throw invalid('invalid tar archive: a malformed PAX record');
    records.set(record.toString('utf8', 0, equals), Buffer.from(record.subarray(equals + 1)));
    off += length;
  }
  return records;
}

function paxInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function paxTime(value: string | undefined): Date | undefined {
  if (value === undefined || !/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  return new Date(Number(value) * 1000);
}

/** Reads a byte stream in exact sizes, holding at most one source chunk. */
class ChunkReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Up to `max` bytes (at least 1), a slice of a source chunk; throws at the end of input. */
  async next(max: number): Promise<Buffer> {
    if (this.pending.length === 0) {
      const { value, done } = await this.source.next();
      if (done) throw invalid('invalid tar archive: it ends in the middle of an entry');
      this.pending = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
    }
    const chunk = this.pending.length > max ? this.pending.subarray(0, max) : this.pending;
    this.pending = this.pending.subarray(chunk.length);
    return chunk;
  }

  /** Exactly `n` bytes; undefined at a clean end of input when `eofOk`. */
  async read(n: number, eofOk: boolean): Promise<Buffer | undefined> {
    if (this.pending.length >= n) {
      const out = this.pending.subarray(0, n);
      this.pending = this.pending.subarray(n);
      return out;
    }
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      if (this.pending.length === 0) {
        const { value, done } = await this.source.next();
        if (done) {
          if (eofOk && have === 0) return undefined;
          throw invalid('invalid tar archive: it ends in the middle of a header');
        }
        this.pending = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
        continue;
      }
      const part = await this.next(n - have);
      parts.push(part);
      have += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Reads and drops whatever the source still holds. */
  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while (!(await this.source.next()).done);
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.next(n)).length;
  }
}
