import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../errors.js';

/**
 * Paths inside an unpack target that a hostile archive cannot steer outside it.
 *
 * Entry names are split into clean components (absolute names and `..` are refused). The
 * directories above an entry are then walked one component at a time with lstat: a real
 * directory is entered, a missing one is created (0755, as Docker does), and a symlink is
 * followed only when its target stays inside the root — an absolute target or one whose
 * `..` climbs above the root is refused, naming the entry and the symlink. The last
 * component is never followed: callers create it with O_EXCL|O_NOFOLLOW after removing
 * whatever is there.
 *
 * The calls are synchronous on purpose: an unpack makes a handful of metadata syscalls per
 * entry, and a thread-pool round trip for each costs far more than the syscall itself.
 */
const MAX_SYMLINKS = 40;

/** Splits a tar entry name into components; refuses absolute names and `..`. */
export function entryComponents(name: string, what = 'tar entry'): string[] {
  if (name.startsWith('/')) throw invalid(`refusing ${what} "${name}": absolute paths are not allowed in a layer`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`refusing ${what} "${name}": ".." is not allowed in a layer path`);
  return parts;
}

export interface ResolveOptions {
  /** Create missing directories (extraction) or fail on them (look-ups). */
  readonly create: boolean;
  /** The entry being unpacked, for error messages. */
  readonly entry: string;
  /** Real directories (root-relative, no symlinks) already verified in this unpack. */
  readonly known: Set<string>;
}

/**
 * Resolves the directory named by `components` inside `root`; returns its components with
 * every symlink replaced by where it leads (so the result has no symlink in it).
 */
export function resolveDirectory(root: string, components: readonly string[], opts: ResolveOptions): string[] {
  const resolved: string[] = [];
  const queue = [...components];
  let followed = 0;
  let via: string | undefined;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) throw escape(opts.entry, via);
      resolved.pop();
      continue;
    }
    const rel = [...resolved, part].join('/');
    if (opts.known.has(rel)) {
      resolved.push(part);
      continue;
    }
    const host = join(root, rel);
    const stats = lstatSync(host, { throwIfNoEntry: false });
    if (stats === undefined) {
      if (!opts.create) throw invalid(`refusing tar entry "${opts.entry}": "${rel}" does not exist in this layer`);
      mkdirSync(host, { mode: 0o755 });
      opts.known.add(rel);
      resolved.push(part);
      continue;
    }
    if (stats.isSymbolicLink()) {
      if (++followed > MAX_SYMLINKS) throw invalid(`refusing tar entry "${opts.entry}": too many levels of symbolic links`);
      const target = readlinkSync(host);
      via = `${rel} -> ${target}`;
      if (target.startsWith('/')) throw escape(opts.entry, via);
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!stats.isDirectory()) throw invalid(`refusing tar entry "${opts.entry}": "${rel}" is not a directory`);
    opts.known.add(rel);
    resolved.push(part);
  }
  return resolved;
}

function escape(entry: string, via: string | undefined): Error {
  return invalid(
    `refusing tar entry "${entry}": its path passes through the symlink ${via ?? '(none)'}, which leads outside the layer`,
  );
}

/** Forgets verified directories at or below `rel` (it is being removed or replaced). */
export function forget(known: Set<string>, rel: string): void {
  for (const k of known) {
    if (k === rel || k.startsWith(`${rel}/`)) known.delete(k);
  }
}
