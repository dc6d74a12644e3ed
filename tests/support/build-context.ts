import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { CommandResult } from './command.js';
import type { Daemon } from './daemon.js';

/**
 * Build contexts for the builder's tests: a temp directory of files for `docker build`, or
 * the same as a tar stream for dockerode's buildImage; `classicBuild` runs the real CLI with
 * DOCKER_BUILDKIT=0. Directories are removed by `cleanup()`.
 */
export class BuildContexts {
  private readonly dirs: string[] = [];

  async dir(files: Readonly<Record<string, string | Buffer>>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
    this.dirs.push(dir);
    await writeContext(dir, files);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

export async function writeContext(dir: string, files: Readonly<Record<string, string | Buffer>>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

export function contextTar(files: Readonly<Record<string, string | Buffer>>): Readable {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  return pack;
}

/** A tar archive (for ADD) holding `files`. */
export async function tarBuffer(files: Readonly<Record<string, string | Buffer>>): Promise<Buffer> {
  const stream = contextTar(files);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function classicBuild(daemon: Daemon, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return daemon.docker(['build', ...args], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs });
}
