/**
 * The contract of build/files/: the build context and what COPY and ADD copy.
 *
 * The context arrives as the body of `POST /build` (a tar, plain or gzip), is unpacked into a
 * directory under the data root's tmp/ and read through a 'beneath' ConfinedTree (files/), so
 * no name or link in it reaches outside. `.dockerignore` (Docker's patterns: `*`, `**`, `?`,
 * `[...]`, `!` exceptions, leading `/` and `./` cleaned) decides what COPY sees; the Dockerfile
 * and .dockerignore themselves are still readable by the builder.
 *
 * COPY/ADD are applied the way the classic builder does them: into a container's writable
 * filesystem (containers/filesystem.ts, a writable hold), whose layer the builder then commits.
 */
import type { Readable } from 'node:stream';
import type { ConfinedTree } from '../../files/types.js';

export interface BuildContext {
  readonly tree: ConfinedTree;
  /** Whether `.dockerignore` excludes this context path (relative, `/`-separated). */
  isIgnored(path: string): boolean;
  /** Reads the Dockerfile named by `-f` (relative to the context; `-` not supported here). */
  readDockerfile(name: string): Promise<string>;
  /** Removes the unpacked context. */
  dispose(): Promise<void>;
}

/** Receives the request body; 400 for a body that is not a tar, or a missing Dockerfile. */
export type ReceiveBuildContext = (body: Readable) => Promise<BuildContext>;

/** Where COPY reads from: the context, or `--from` a stage's or an image's filesystem. */
export type CopySource =
  | { readonly kind: 'context'; readonly context: BuildContext }
  | { readonly kind: 'tree'; readonly tree: ConfinedTree; readonly name: string };

export interface CopyRequest {
  /** ADD: local tar archives (plain, gzip, bzip2, xz) are extracted; http(s) URLs fetched. */
  readonly add: boolean;
  /** Expanded sources, wildcards allowed (Go's filepath.Match per component). */
  readonly sources: readonly string[];
  /** Expanded destination; relative ones are relative to `workdir`; a trailing `/` or several
   *  sources make it a directory. */
  readonly dest: string;
  readonly workdir: string;
  /** `--chmod` (octal), applied to every copied file and directory. */
  readonly chmod?: number;
}

export interface CopyPlan {
  /**
   * Docker's cache identity of what is copied: `file:<sha256>` for one file, `dir:<sha256>`
   * for a tree, `multi:<sha256>` for several, over names, modes, file contents and link
   * targets (not owners or mtimes, as Docker); URLs: the fetched bytes.
   * Same inputs, same key; any change to a copied file, a different key.
   */
  readonly cacheKey: string;
  /** Copies into the target filesystem (a container's writable root), creating missing parent
   *  directories (0755), owned by `owner` when given (--chown), by the source's own owners with
   *  'source' (`COPY --from` without --chown: moby's preserveOwnership; new parents: root), else
   *  as Docker: root. (As moby:
   *  parents made for a file are owned like the file; parents made above a directory's
   *  destination are root's; extracted ADD archives keep their own owners.) */
  apply(target: ConfinedTree, owner?: { readonly uid: number; readonly gid: number } | 'source'): Promise<void>;
  /** Releases what planning fetched (downloaded URLs). */
  dispose(): Promise<void>;
}

/** 400 when a source matches nothing (`COPY failed: no source files were specified` / `file not found in build context or excluded by .dockerignore: stat x: file does not exist`). */
export type PlanCopy = (request: CopyRequest, source: CopySource) => Promise<CopyPlan>;
