import { invalid } from '../errors.js';

/**
 * The two ways files/ reads a path.
 *
 * A caller's path (`splitPath`) is handed to the kernel almost as is: empty and `.` components
 * are dropped and `..` is kept, because openat2 resolves it against the real tree (RESOLVE_IN_ROOT
 * clamps it at the root, RESOLVE_BENEATH refuses an escape): a lexical clean would get
 * `link/..` wrong.
 *
 * A tar entry name (`entryComponents`) is cleaned lexically, as Docker's untar does: a leading
 * `/` is dropped, `a/../b` is `b`, and a `..` that climbs above the extraction directory refuses
 * the entry.
 */
export function splitPath(path: string): string[] {
  if (path.includes('\0')) throw invalid(`path "${path.replaceAll('\0', '\\0')}" holds a NUL byte`);
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

export function entryComponents(name: string, what: string): string[] {
  if (name.includes('\0')) throw invalid(`refusing ${what}: its name holds a NUL byte`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw invalid(`refusing ${what}: ".." leads outside the target directory`);
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts;
}

/** How messages quote a caller's path: as given, `/` for the root. */
export function quote(path: string): string {
  return `"${path === '' ? '/' : path}"`;
}
