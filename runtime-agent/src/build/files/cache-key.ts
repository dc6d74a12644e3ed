import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ConfinedTree, FileInfo } from '../../files/types.js';
import type { LocalItem } from './copy-sources.js';

/**
 * CopyPlan.cacheKey: what COPY/ADD copies, as Docker's classic builder keys it (`file:`,
 * `dir:`, `multi:` + sha256), over what decides the result and nothing else:
 *
 *   file       sha256("file\0<mode octal>\0<base name>\0" + contents)
 *   directory  sha256 of one line per entry below it, in walk order:
 *              "<path below the dir>\0<type>\0<mode octal>\0<link target>\0<sha256 of contents>\n"
 *              (the directory's own name and mode are not copied, so not keyed)
 *   download   as a file, under the name it is saved as, mode 0600
 *   several    "multi:" + sha256 of the items' keys joined by ","
 *
 * Owners and mtimes are left out, as Docker's tarsum-style hash leaves mtimes out and the
 * context's owners mean nothing in the image (COPY makes files root's or --chown's). So
 * touching a file changes nothing; changing a byte, a mode, a name or a link does.
 */
export async function localItemKey(tree: ConfinedTree, item: LocalItem): Promise<string> {
  if (item.kind === 'file') {
    const hash = fileRecord(item.info.mode, item.info.name);
    await hashContents(tree, item.path, hash);
    return `file:${hash.digest('hex')}`;
  }
  const hash = createHash('sha256');
  for (const entry of item.entries) {
    const contents = entry.info.type === 'file' ? await contentsDigest(tree, entry.path) : '';
    hash.update(`${entry.rel}\0${entry.info.type}\0${octal(entry.info)}\0${entry.info.linkTarget ?? ''}\0${contents}\n`);
  }
  return `dir:${hash.digest('hex')}`;
}

/** The hash a download is fed into as it arrives (digest() it for the key). */
export function fileRecord(mode: number, name: string): Hash {
  return createHash('sha256').update(`file\0${(mode & 0o7777).toString(8)}\0${name}\0`);
}

export function combinedKey(keys: readonly string[]): string {
  if (keys.length === 1) return keys[0] as string;
  return `multi:${createHash('sha256').update(keys.join(',')).digest('hex')}`;
}

async function contentsDigest(tree: ConfinedTree, path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashContents(tree, path, hash);
  return hash.digest('hex');
}

async function hashContents(tree: ConfinedTree, path: string, hash: Hash): Promise<void> {
  const { stream } = await tree.read(path);
  await feed(stream, hash);
}

async function feed(stream: Readable, hash: Hash): Promise<void> {
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  } finally {
    stream.destroy();
  }
}

function octal(info: FileInfo): string {
  return (info.mode & 0o7777).toString(8);
}
