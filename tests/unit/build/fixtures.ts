import { lstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { receiveBuildContext, type BuildContext, type BuildFilesDeps } from '../../../runtime-agent/src/build/files/index.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { openConfinedTree } from '../../../runtime-agent/src/files/tree.js';
import type { ConfinedTree } from '../../../runtime-agent/src/files/types.js';
import { addon, buildTar, type TarEntry } from '../files/fixtures.js';

/**
 * A scratch area for build/files/ tests: a data root's tmp/ (where contexts and downloads go)
 * and a target directory standing for a container's writable filesystem (in-root, as the
 * builder opens it).
 *
 *   <tmp>/berth-build-XXXX/
 *   ├── tmp/      BuildFilesDeps.tmpDir: must be empty again after dispose()
 *   └── target/   the COPY/ADD target's root
 */
export interface Workspace {
  readonly dir: string;
  readonly deps: BuildFilesDeps;
  readonly targetDir: string;
  readonly target: ConfinedTree;
  context(entries: readonly TarEntry[], opts?: { gzip?: boolean }): Promise<BuildContext>;
  /** What tmp/ holds (contexts and downloads not yet disposed). */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function workspace(extra: Partial<BuildFilesDeps> = {}): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
  const tmpDir = join(dir, 'tmp');
  const targetDir = join(dir, 'target');
  await mkdir(targetDir);
  const deps: BuildFilesDeps = { addon, tmpDir, ...extra };
  const target = openConfinedTree(addon, targetDir, 'in-root');
  const contexts: BuildContext[] = [];
  return {
    dir,
    deps,
    targetDir,
    target,
    async context(entries, opts) {
      const tar = await buildTar(entries);
      const context = await receiveBuildContext(Readable.from([opts?.gzip ? gzipSync(tar) : tar]), deps);
      contexts.push(context);
      return context;
    },
    leftovers: async () => readdir(tmpDir).catch(() => []),
    async cleanup() {
      for (const context of contexts) await context.dispose();
      target.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The error code and message a promise rejects with ('ok' if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: 'ok', message: '' };
  } catch (err) {
    if (!isBerthError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

export function text(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Permission bits, owner and mtime (seconds) of a host path, symlinks not followed. */
export function meta(path: string): { mode: string; uid: number; gid: number; mtime: number; type: string } {
  const st = lstatSync(path);
  const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  return { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), type };
}

export { buildTar, type TarEntry };
