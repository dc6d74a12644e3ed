import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { layerDiffTar } from '../containers/files/layer-diff.js';
import { messageOf } from '../errors.js';
import { openConfinedTree } from '../files/tree.js';
import type { ConfinedTree } from '../files/types.js';
import type { LayerRef } from '../images/types.js';
import { log } from '../log.js';
import type { NativeAddon } from '../native/addon-api.js';
import { holdFilesystem, type FilesystemHold } from '../native/helper.js';
import type { DataLayout } from '../store/layout.js';

/**
 * An image's filesystem for the steps that write files without running anything (COPY, ADD,
 * WORKDIR) and for `COPY --from`: `berth-helper hold` mounts the image's layers (an empty dir
 * stands in for an image with none, such as `scratch`) in a mount namespace of its own, and
 * the step reaches it as an in-root ConfinedTree, as `docker cp` reaches a container's.
 *
 *   <data-root>/tmp/build-layer-XXXXXX/{upper,work,empty}   a scratch layer, until released
 *   <exec-root>/build/hold-<hex>/                            the hold's mount point
 *
 * The writable form is moby's RW layer on an image: what the step writes lands in `upper`,
 * which `diff()` reads back as the step's layer tar.
 */
export interface ImageFilesystemDeps {
  readonly layout: DataLayout;
  readonly addon: NativeAddon;
}

export interface ImageView {
  readonly tree: ConfinedTree;
  /** Ends the hold and removes the scratch dirs; idempotent, never rejects. */
  release(): Promise<void>;
}

export interface ScratchLayer extends ImageView {
  /** Ends the hold, then streams what was written as a layer tar (whiteouts in AUFS form). */
  diff(): Promise<Readable>;
}

export async function openScratchLayer(deps: ImageFilesystemDeps, layers: readonly LayerRef[]): Promise<ScratchLayer> {
  const mounted = await mountImage(deps, layers, true);
  const lowersTopFirst = [...layers].reverse().map((l) => l.dir);
  return {
    tree: mounted.tree,
    release: mounted.release,
    diff: async () => {
      await mounted.unmount();
      return layerDiffTar({ upper: join(mounted.dir, 'upper'), lowersTopFirst, scaffolding: new Set(), xattrs: deps.addon });
    },
  };
}

export async function openImageView(deps: ImageFilesystemDeps, layers: readonly LayerRef[]): Promise<ImageView> {
  const mounted = await mountImage(deps, layers, false);
  return { tree: mounted.tree, release: mounted.release };
}

interface Mounted {
  readonly tree: ConfinedTree;
  readonly dir: string;
  unmount(): Promise<void>;
  release(): Promise<void>;
}

async function mountImage(deps: ImageFilesystemDeps, layers: readonly LayerRef[], writable: boolean): Promise<Mounted> {
  await mkdir(deps.layout.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(deps.layout.tmpDir, 'build-layer-'));
  const target = join(deps.layout.execRoot, 'build', `hold-${randomBytes(6).toString('hex')}`);
  let hold: FilesystemHold | undefined;
  let tree: ConfinedTree | undefined;
  const unmount = async (): Promise<void> => {
    tree?.close();
    tree = undefined;
    await hold?.release();
    hold = undefined;
    await rm(target, { recursive: true, force: true });
  };
  let released: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (released ??= unmount()
      .then(() => rm(dir, { recursive: true, force: true }))
      .catch((err: unknown) => log.warn('build.layer-release-failed', { dir, error: messageOf(err) })));
  try {
    const lower = layers.length > 0 ? [...layers].reverse().map((l) => l.dir) : [join(dir, 'empty')];
    await Promise.all([mkdir(join(dir, 'empty')), mkdir(join(dir, 'upper')), mkdir(join(dir, 'work')), mkdir(target, { recursive: true, mode: 0o700 })]);
    hold = await holdFilesystem({
      rootfs: writable ? { lower, upper: join(dir, 'upper'), work: join(dir, 'work'), target } : { lower, target },
      mounts: [],
    });
    tree = openConfinedTree(deps.addon, hold.root, 'in-root');
    return { tree, dir, unmount, release };
  } catch (err) {
    await release();
    throw err;
  }
}
