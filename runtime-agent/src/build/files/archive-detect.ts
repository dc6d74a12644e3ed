import type { Readable } from 'node:stream';
import { isBerthError } from '../../errors.js';
import type { ConfinedTree } from '../../files/types.js';
import { decompress } from './decompress.js';

/**
 * Whether ADD extracts a local file: moby's isArchivePath, "does the (decompressed) file start
 * with a tar header Go's archive/tar accepts". A header is accepted when its checksum matches
 * (summed unsigned or signed, as Go does); an empty archive (zero blocks) is not an archive,
 * so ADD copies it as a file. The name of the file does not matter, only its bytes.
 */
const BLOCK = 512;
const CHECKSUM_START = 148;
const CHECKSUM_END = 156;

export async function isTarArchive(tree: ConfinedTree, path: string): Promise<boolean> {
  const { stream: file } = await tree.read(path);
  try {
    let plain: Readable;
    try {
      plain = (await decompress(file, `ADD source ${path}`)).stream;
    } catch (err) {
      if (isBerthError(err, 'invalid-parameter')) return false; // zstd, or no program for it: a file
      throw err;
    }
    try {
      return hasTarHeader(await firstBlock(plain));
    } catch (err) {
      if (isBerthError(err, 'invalid-parameter')) return false; // corrupt compressed data: a file
      throw err;
    } finally {
      plain.destroy();
    }
  } finally {
    file.destroy();
  }
}

async function firstBlock(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= BLOCK) break;
  }
  return Buffer.concat(chunks).subarray(0, BLOCK);
}

export function hasTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK || block.every((b) => b === 0)) return false;
  const stored = block.toString('latin1', CHECKSUM_START, CHECKSUM_END).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  const expected = parseInt(stored, 8);
  let unsigned = 8 * 0x20; // the checksum field itself counts as spaces
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= CHECKSUM_START && i < CHECKSUM_END) continue;
    const byte = block[i] as number;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return expected === unsigned || expected === signed;
}
