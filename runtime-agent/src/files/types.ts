/**
 * The contract of files/: every file operation berthd makes on someone else's tree (a
 * container's filesystem, a volume) goes through a ConfinedRoot, so no path the user sends
 * (`..`, an absolute path, a symlink, a hardlink, a rename racing the lookup) can read or
 * write anything outside it. The primitive is openat2(2) relative to the root's fd
 * (`NativeAddon.openat2`); every other call names one final component relative to a
 * directory fd that openat2 returned (through `/proc/self/fd/<fd>/<name>`), so nothing is
 * resolved twice.
 *
 *   in-root  symlinks (absolute ones too) resolve as if the root were `/`: a container's
 *            filesystem, where `/bin/sh -> /bin/busybox` is normal (Docker's cp semantics).
 *   beneath  any `..` or symlink that would leave the root is refused: a volume, whose
 *            absolute links mean container paths, not paths in the volume.
 */
import type { Readable } from 'node:stream';

export type Confinement = 'in-root' | 'beneath';

export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

/** One file as the browse API lists it and the archive API stats it (lstat: links not followed). */
export interface FileInfo {
  /** Base name; `/` for the root itself. */
  readonly name: string;
  readonly type: FileType;
  /** Bytes (regular files; symlinks: the target's length; 0 otherwise, directories included). */
  readonly size: number;
  /** Permission bits with setuid, setgid and sticky (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
  /** Symlinks: the link's text, unresolved. */
  readonly linkTarget?: string;
}

/** An inclusive byte range, as HTTP's Range header gives it. */
export interface ByteRange {
  readonly start: number;
  /** Inclusive; absent: to the end. */
  readonly end?: number;
}

export interface PackOptions {
  /** The name the top entry takes in the tar (default: the path's base name), the prefix of
   *  every entry below it. `contentsOnly` leaves the top entry out, and its entries are named
   *  bare (`a`, `b/c`) unless `name` is given (Docker's cp `path/.` sends `./a`: name `.`). */
  readonly name?: string;
  readonly contentsOnly?: boolean;
  /** Follow a symlink named by `path` itself (entries inside are never followed). */
  readonly followLink?: boolean;
}

export interface ExtractOptions {
  /** Docker's `noOverwriteDirNonDir`: refuse to replace a directory with a non-directory or
   *  the reverse (400, naming the path). */
  readonly noOverwriteDirNonDir?: boolean;
  /** Owner every extracted file gets (Docker's `copyUIDGID` gives the container user's);
   *  absent: the tar headers' owners. */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

export interface ExtractReport {
  readonly files: number;
  readonly bytes: number;
}

/**
 * A directory tree reached through one pinned fd. Paths are `/`-separated and relative to the
 * root (a leading `/` is allowed and means the root). Errors are BerthErrors:
 *   not-found          a component is missing
 *   forbidden          the path would leave the root (`beneath`: `..` or a symlink pointing
 *                      outside), or the tree is read-only (EROFS, a read-only mount)
 *   invalid-parameter  wrong type (a directory where a file is needed...), a name too long,
 *                      a hostile tar entry, an existing name where none may be
 *   system             the disk failed (ENOSPC, EIO)
 * The message names the path as the caller gave it, never a host path.
 */
export interface ConfinedTree {
  readonly confinement: Confinement;
  /** lstat of `path` (the final symlink itself, unless `follow`). */
  stat(path: string, opts?: { follow?: boolean }): Promise<FileInfo>;
  /** A directory's entries, sorted by name, without `.` and `..`. */
  list(path: string): Promise<FileInfo[]>;
  /** A regular file's bytes (following a final symlink that stays inside), streamed from disk
   *  in chunks, never buffered whole; `range` beyond the end is invalid-parameter. */
  read(path: string, range?: ByteRange): Promise<{ info: FileInfo; stream: Readable }>;
  /** Writes a regular file from a stream (created 0644 or with `mode`), through a temporary
   *  name in the same directory renamed over `path` at the end, so a failed upload leaves
   *  nothing. `overwrite: false` refuses an existing name (409). */
  write(path: string, source: Readable, opts?: { mode?: number; overwrite?: boolean }): Promise<FileInfo>;
  /** Creates a directory (the parent must exist); 409 if the name exists. */
  mkdir(path: string, mode?: number): Promise<FileInfo>;
  /** Renames within the tree; 409 if `to` exists. Neither may be the root. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file, a link (not its target) or a directory with everything in it; never
   *  follows a symlink, even one swapped in while it runs. Not the root. */
  remove(path: string): Promise<void>;
  /** A tar of `path` (file, link or directory, recursively; owners, modes, mtimes, xattrs,
   *  hardlinks within the tar), produced as it is read. */
  pack(path: string, opts?: PackOptions): Readable;
  /** Extracts a tar into the existing directory `dir`: every entry confined to the tree
   *  (hardlinks only to files inside; device nodes allowed only where the kernel lets root
   *  make them, as Docker does). Any refused entry aborts with invalid-parameter naming it;
   *  entries already written stay (as Docker's). */
  extract(dir: string, source: Readable, opts?: ExtractOptions): Promise<ExtractReport>;
  /** Releases the root's fd. */
  close(): void;
}
