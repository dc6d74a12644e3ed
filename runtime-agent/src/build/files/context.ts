import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, invalid, isBerthError, messageOf } from '../../errors.js';
import { openConfinedTree } from '../../files/tree.js';
import type { ConfinedTree } from '../../files/types.js';
import { decompress } from './decompress.js';
import type { BuildFilesDeps } from './deps.js';
import { IgnoreRules } from './dockerignore.js';
import type { BuildContext } from './types.js';

/**
 * receiveBuildContext: the body of `POST /build` unpacked into a fresh directory under tmp/,
 * read through a 'beneath' ConfinedTree. The unpacking is files/ extract's: a hostile entry
 * (`..`, an absolute name, a link leading out) refuses the whole context with a 400 and the
 * directory is removed. `.dockerignore` is read once, here.
 *
 *   <data-root>/tmp/build-context-XXXXXX/   the context, until dispose()
 */
const DEFAULT_DOCKERFILE = 'Dockerfile';
/** A Dockerfile bigger than this is not a Dockerfile (and would sit in memory). */
const MAX_DOCKERFILE_BYTES = 16 * 1024 * 1024;
const MAX_DOCKERIGNORE_BYTES = 4 * 1024 * 1024;

export async function receiveBuildContext(body: Readable, deps: Pick<BuildFilesDeps, 'addon' | 'tmpDir'>): Promise<BuildContext> {
  await mkdir(deps.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(deps.tmpDir, 'build-context-'));
  let tree: ConfinedTree | undefined;
  try {
    tree = openConfinedTree(deps.addon, dir, 'beneath');
    const { stream } = await decompress(body, 'the build context');
    try {
      await tree.extract('/', stream);
    } finally {
      stream.destroy(); // ends a decompressor; the body itself stays its owner's
    }
    const ignore = await readIgnoreRules(tree);
    return new UnpackedContext(tree, dir, ignore);
  } catch (err) {
    tree?.close();
    await rm(dir, { recursive: true, force: true });
    if (isBerthError(err, 'invalid-parameter')) throw invalid(`invalid build context: ${err.message}`, err);
    throw err;
  }
}

async function readIgnoreRules(tree: ConfinedTree): Promise<IgnoreRules> {
  const text = await readSmallFile(tree, '.dockerignore', MAX_DOCKERIGNORE_BYTES).catch((err: unknown) => {
    if (isBerthError(err, 'not-found')) return undefined;
    throw err;
  });
  return text === undefined ? IgnoreRules.none : IgnoreRules.parse(text);
}

/** A regular file's text; a bigger one than `max` is refused (400). */
async function readSmallFile(tree: ConfinedTree, path: string, max: number): Promise<string> {
  const { info, stream } = await tree.read(path);
  try {
    if (info.size > max) throw invalid(`${path} is too large (${info.size} bytes; at most ${max})`);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    stream.destroy();
  }
}

class UnpackedContext implements BuildContext {
  private disposed = false;

  constructor(
    readonly tree: ConfinedTree,
    private readonly dir: string,
    private readonly ignore: IgnoreRules,
  ) {}

  /** The rules themselves, for walks that must know whether an excluded directory can hold exceptions. */
  get ignoreRules(): IgnoreRules {
    return this.ignore;
  }

  isIgnored(path: string): boolean {
    return this.ignore.matches(path);
  }

  /**
   * The Dockerfile `name` names (default `Dockerfile`, falling back to `dockerfile` as Docker
   * does for the default only). It may be excluded by .dockerignore: the builder still reads it.
   */
  async readDockerfile(name: string): Promise<string> {
    const requested = name === '' ? DEFAULT_DOCKERFILE : name;
    const candidates = requested === DEFAULT_DOCKERFILE ? [requested, requested.toLowerCase()] : [requested];
    for (const candidate of candidates) {
      try {
        return await readSmallFile(this.tree, candidate, MAX_DOCKERFILE_BYTES);
      } catch (err) {
        if (isBerthError(err, 'forbidden')) throw invalid(`Cannot locate specified Dockerfile: ${requested} (it must be inside the build context)`, err);
        if (!isBerthError(err, 'not-found')) throw reword(err, requested);
      }
    }
    throw invalid(`Cannot locate specified Dockerfile: ${requested}`);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.tree.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A Dockerfile that is a directory, a device...: a 400 that says so. */
function reword(err: unknown, name: string): unknown {
  if (err instanceof BerthError && err.code === 'invalid-parameter') return invalid(`the Dockerfile ${name} cannot be read: ${messageOf(err)}`, err);
  return err;
}
