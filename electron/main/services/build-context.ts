import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { InvalidArgument } from '../transport/errors.js';
import { DockerIgnore } from './dockerignore.js';

/** A .dockerignore larger than this is not one. */
const MAX_DOCKERIGNORE_BYTES = 1 << 20;

export interface BuildContext {
  /** The folder, resolved. */
  readonly dir: string;
  /** The Dockerfile's path inside it (`/`-separated). */
  readonly dockerfile: string;
}

/**
 * Checks what the Build dialog sent: `contextPath` an absolute folder that exists on this
 * machine, `dockerfile` (default `Dockerfile`) a file inside it. Errors say what to fix.
 */
export async function checkBuildContext(contextPath: string, dockerfile: string | undefined): Promise<BuildContext> {
  if (!isAbsolute(contextPath)) throw new InvalidArgument(`The build folder must be an absolute path on this machine (like /home/me/app), not "${contextPath}".`);
  const dir = resolve(contextPath);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new InvalidArgument(`There is no folder ${dir} on this machine. Check the build folder's path.`);
  if (!info.isDirectory()) throw new InvalidArgument(`${dir} is a file, not a folder. The build folder is the directory holding the Dockerfile.`);
  const name = posix.normalize((dockerfile ?? 'Dockerfile').replace(/\\/g, '/'));
  if (name.startsWith('../') || name === '..' || posix.isAbsolute(name)) {
    throw new InvalidArgument(`The Dockerfile must be inside the build folder; "${dockerfile ?? ''}" is not.`);
  }
  const file = await stat(join(dir, name)).catch(() => undefined);
  if (file === undefined || !file.isFile()) throw new InvalidArgument(`There is no Dockerfile named ${name} in ${dir}.`);
  return { dir, dockerfile: name };
}

/**
 * The folder as the tar the engine's /build takes, as the docker CLI sends it: entries owned
 * by 0:0, `.dockerignore`d paths left out (the Dockerfile and .dockerignore always kept, so
 * the engine can read them), sockets and devices skipped. The tar streams while it is made;
 * a read error ends the stream with that error.
 */
export function packBuildContext(context: BuildContext): Readable {
  const pack = tar.pack();
  void writeEntries(pack, context).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return pack;
}

async function writeEntries(pack: tar.Pack, context: BuildContext): Promise<void> {
  const ignoreText = await readFile(join(context.dir, '.dockerignore'), 'utf8').catch(() => '');
  if (ignoreText.length > MAX_DOCKERIGNORE_BYTES) throw new InvalidArgument('.dockerignore is larger than 1 MiB');
  const ignore = DockerIgnore.parse(ignoreText);
  const alwaysSent = new Set([context.dockerfile, '.dockerignore']);

  const walk = async (relDir: string): Promise<void> => {
    const names = (await readdir(join(context.dir, relDir))).sort();
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const path = join(context.dir, rel);
      const info = await lstat(path);
      const excluded = ignore.excludes(rel) && !alwaysSent.has(rel);
      const header = { name: rel, mode: info.mode & 0o7777, mtime: info.mtime, uid: 0, gid: 0 };
      if (info.isDirectory()) {
        if (excluded && !ignore.mayReinclude(rel) && ![...alwaysSent].some((f) => f.startsWith(`${rel}/`))) continue;
        if (!excluded) await entry(pack, { ...header, type: 'directory' });
        await walk(rel);
      } else if (excluded) {
        continue;
      } else if (info.isSymbolicLink()) {
        await entry(pack, { ...header, type: 'symlink', linkname: await readlink(path) });
      } else if (info.isFile()) {
        const sink = pack.entry({ ...header, type: 'file', size: info.size });
        await pipeline(createReadStream(path), sink);
      }
    }
  };
  await walk('');
}

function entry(pack: tar.Pack, header: tar.Headers): Promise<void> {
  return new Promise((resolveEntry, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolveEntry()));
  });
}
