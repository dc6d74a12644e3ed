import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { openConfinedTree } from '../../../runtime-agent/src/files/tree.js';
import type { Confinement, ConfinedTree } from '../../../runtime-agent/src/files/types.js';
import type { NativeAddon } from '../../../runtime-agent/src/native/addon-api.js';
import { loadAddon } from '../../../runtime-agent/src/native/addon.js';

/**
 * Test sandboxes for files/: a temp dir holding `root/` (the tree under test) and `outside/`
 * (a sibling with a secret in it, which no operation may touch), plus snapshots to prove it.
 *
 *   <tmp>/berth-files-XXXX/
 *   ├── root/       the ConfinedTree's root
 *   └── outside/    secret.txt, sub/inner.txt: must be identical after every test
 */
export const addon: NativeAddon = loadAddon();

export interface Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly outside: string;
  readonly tree: ConfinedTree;
  /** A snapshot of everything in the sandbox except what `root/` holds. */
  outsideSnapshot(): string[];
  cleanup(): Promise<void>;
}

export async function sandbox(confinement: Confinement): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-files-'));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  await mkdir(root);
  await mkdir(join(outside, 'sub'), { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'secret\n');
  await writeFile(join(outside, 'sub', 'inner.txt'), 'inner\n');
  const tree = openConfinedTree(addon, root, confinement);
  return {
    dir,
    root,
    outside,
    tree,
    outsideSnapshot: () => snapshot(dir).filter((line) => !line.startsWith('root')),
    cleanup: async () => {
      tree.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One line per entry under `dir` (sorted): path, type, mode, owner, mtime, size, content hash, link. */
export function snapshot(dir: string, rel = ''): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    lines.push(describe(join(dir, path), path));
    if (lstatSync(join(dir, path)).isDirectory()) lines.push(...snapshot(dir, path));
  }
  return lines;
}

function describe(host: string, path: string): string {
  const st = lstatSync(host);
  const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : `o${(st.mode >> 12).toString(8)}:${st.rdev}`;
  const content = st.isFile() ? createHash('sha256').update(readFileSync(host)).digest('hex').slice(0, 16) : '';
  const link = st.isSymbolicLink() ? readlinkSync(host) : '';
  return [path, kind, (st.mode & 0o7777).toString(8), st.uid, st.gid, st.mtimeMs, st.size, content, link].join(' ');
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits (briefly) for the fd count to return to `before`: streams close their fds asynchronously. */
export async function fdCountSettles(before: number): Promise<number> {
  for (let i = 0; i < 50 && openFds() > before; i++) await new Promise((r) => setTimeout(r, 20));
  return openFds();
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export interface ReadEntry {
  header: tar.Headers & { pax?: Record<string, string> };
  data: Buffer;
}

/** Every entry of a tar, with its data. */
export async function readTar(archive: Buffer | Readable): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.on('entry', (header: ReadEntry['header'], stream: Readable, next: () => void) => {
    collect(stream).then((data) => {
      entries.push({ header, data });
      next();
    }, next);
  });
  if (Buffer.isBuffer(archive)) extract.end(archive);
  else archive.pipe(extract);
  await done;
  return entries;
}

export { buildTar, type TarEntry } from '../images/fixtures.js';

/** A Readable of a Buffer, as an HTTP body would arrive. */
export async function* chunks(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}
