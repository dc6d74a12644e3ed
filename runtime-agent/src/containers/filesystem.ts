/**
 * A container's filesystem for the archive API (`docker cp`), export and the browse API:
 * one ConfinedTree (in-root confinement: absolute symlinks mean container paths), reached one
 * of three ways, always given back with `release()` (in a `finally`, or when a stream ends).
 *
 *   live      running or paused: `/proc/<pid>/root` of its init: what the process sees
 *             (volumes, binds, tmpfs, /proc...). Writes land where the process's would.
 *   held      not running: `berth-helper hold` (HoldSpec) mounts rootfs + volumes + binds
 *             (no tmpfs, /proc, /dev) in a mount namespace of its own.
 *               read   read-only overlay, lower = [upper, ...image layers top-first]
 *               write  the read-write overlay (upper + work), as a run mounts it; takes the
 *                      container's WritableLayerGate, so a start waits until it is released
 *                      (and a writable hold waits for a start in progress, then uses the live
 *                      root if the container now runs). A `--read-only` container gets a
 *                      read-only hold: only its rw volumes and binds can be written.
 *             A container that never ran gets a writable hold either way when it has volumes
 *             or binds: their mount points may not exist yet (then the archive API's own
 *             read-only checks are what keep a `--read-only` container's layer unwritten).
 *             Option-backed volumes (tmpfs, bind devices) are mounted for the hold and
 *             unmounted with it (ContainerVolumes, counted as one more use).
 *   rootfs    export: image layers + writable layer only, never mounts: a read-only hold
 *             without mounts, even while the container runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, notFound } from '../errors.js';
import { openConfinedTree } from '../files/tree.js';
import type { ConfinedTree } from '../files/types.js';
import { log } from '../log.js';
import { loadAddon } from '../native/addon.js';
import { holdFilesystem, type FilesystemHold } from '../native/helper.js';
import type { HoldSpec } from '../native/protocol.js';
import type { ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';
import { mountSpecs } from './mount-specs.js';
import { mountVolumes, unmountVolumes } from './mounts.js';

export type FilesystemPurpose = 'read' | 'write' | 'export';

export interface ContainerFilesystem {
  readonly tree: ConfinedTree;
  /** The running container's own root (false: a hold). */
  readonly live: boolean;
  /** Closes the tree and ends the hold (unmounting its volumes); idempotent, never rejects. */
  release(): Promise<void>;
}

export async function openContainerFilesystem(ctx: ContainerContext, c: ContainerRecord, purpose: FilesystemPurpose): Promise<ContainerFilesystem> {
  if (purpose === 'export') return held(ctx, c, { writable: false, mounts: false });
  const live = openLive(ctx, c);
  if (live) return live;
  const writable = mayLackMountPoints(c) || (purpose === 'write' && c.HostConfig.ReadonlyRootfs !== true);
  if (!writable) return held(ctx, c, { writable: false, mounts: true });
  const releaseGate = await ctx.layerGate.acquire(c.Id);
  try {
    // A start we waited for may have made it run: its own root is the one to write.
    const started = openLive(ctx, c);
    if (started) {
      releaseGate();
      return started;
    }
    return await held(ctx, c, { writable: true, mounts: true, onRelease: releaseGate });
  } catch (err) {
    releaseGate();
    throw err;
  }
}

/**
 * A container that never ran may lack the directories its volumes and binds are mounted on,
 * which only a writable overlay can make (in its layer, as Docker's setupMounts does): its
 * holds are writable until its first start has made them.
 */
function mayLackMountPoints(c: ContainerRecord): boolean {
  return c.StartGeneration === 0 && (c.MountPoints ?? []).some((m) => m.Type !== 'tmpfs');
}

/** The running container's root, or undefined when it does not run. */
function openLive(ctx: ContainerContext, c: ContainerRecord): ContainerFilesystem | undefined {
  const task = ctx.tasks.get(c.Id);
  if (!task || c.State.Pid <= 0) return undefined;
  const tree = openConfinedTree(loadAddon(), `/proc/${task.process.pid}/root`, 'in-root');
  // The PID is only the container's while its task stands: opened after the exit, it could be anyone's.
  if (ctx.tasks.get(c.Id) !== task) {
    tree.close();
    return undefined;
  }
  let released = false;
  return {
    tree,
    live: true,
    release: () => {
      if (!released) {
        released = true;
        tree.close();
      }
      return Promise.resolve();
    },
  };
}

interface HoldOptions {
  readonly writable: boolean;
  /** Volumes and binds (not for export). */
  readonly mounts: boolean;
  readonly onRelease?: () => void;
}

async function held(ctx: ContainerContext, c: ContainerRecord, opts: HoldOptions): Promise<ContainerFilesystem> {
  const image = await ctx.images.byId(c.Image);
  if (!image) throw notFound(`the image of container ${c.Name} (${c.Image}) no longer exists`);
  const dir = ctx.layout.container(c.Id);
  const lowers = [...image.layers].reverse().map((l) => l.dir);
  const target = join(ctx.layout.runContainer(c.Id), `hold-${randomBytes(6).toString('hex')}`);
  await mkdir(target, { recursive: true, mode: 0o700 });

  const cleanups: (() => Promise<void>)[] = [async () => rmdir(target).catch(() => undefined)];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      await step().catch((err: unknown) => log.warn('container.hold-release-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
    }
    cleanups.length = 0;
    opts.onRelease?.();
  };
  try {
    let volumePaths = new Map<string, string>();
    if (opts.mounts) {
      volumePaths = await mountVolumes(ctx, c);
      const mounted = [...volumePaths.keys()];
      cleanups.push(() => unmountVolumes(ctx, c, mounted));
    }
    const spec: HoldSpec = {
      rootfs: opts.writable
        ? { lower: lowers, upper: join(dir, 'upper'), work: join(dir, 'work'), target }
        : { lower: [join(dir, 'upper'), ...lowers], target },
      mounts: opts.mounts ? mountSpecs(c.MountPoints ?? [], volumePaths, [], { skipTmpfs: true }) : [],
    };
    const hold: FilesystemHold = await holdFilesystem(spec);
    cleanups.push(() => hold.release());
    const tree = openConfinedTree(loadAddon(), hold.root, 'in-root');
    cleanups.push(async () => tree.close());
    let released: Promise<void> | undefined;
    return { tree, live: false, release: () => (released ??= cleanup()) };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
