/**
 * Copy-up: before a container's first start, each of its volumes that is empty gets the
 * image's content at the mount's destination (owners, modes, xattrs, links), as Docker fills
 * a new volume; the volume's own directory takes the image directory's owner and mode, so a
 * non-root process can write where the image let it. Skipped for `nocopy`, for volumes from
 * `--volumes-from`, when the image has nothing (or no directory) there, and for a volume that
 * already holds anything.
 *
 * The image is read through a read-only hold of its layers (`berth-helper hold`, no upper dir,
 * nothing mounted in berthd's namespace) with in-root confinement, so its symlinks resolve as
 * the container would see them; the volume is written through a `beneath` tree, so no entry of
 * the image can land outside it. The hold is only made when some volume needs it.
 */
import { chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
import { isBerthError } from '../errors.js';
import { openConfinedTree } from '../files/tree.js';
import type { ConfinedTree, FileInfo } from '../files/types.js';
import { loadAddon } from '../native/addon.js';
import { holdFilesystem } from '../native/helper.js';
import type { ContainerRecord, MountPoint } from './model.js';

async function isEmptyDir(path: string): Promise<boolean> {
  return (await readdir(path)).length === 0;
}

/** The image's directory at `destination` (a final symlink followed inside the image), if any. */
async function imageDirectory(image: ConfinedTree, destination: string): Promise<FileInfo | undefined> {
  try {
    const info = await image.stat(destination, { follow: true });
    return info.type === 'directory' ? info : undefined;
  } catch (err) {
    if (isBerthError(err, 'not-found') || isBerthError(err, 'invalid-parameter') || isBerthError(err, 'forbidden')) return undefined;
    throw err;
  }
}

async function copyInto(image: ConfinedTree, m: MountPoint, volumeDir: string): Promise<void> {
  const source = await imageDirectory(image, m.Destination);
  if (!source) return;
  const volume = openConfinedTree(loadAddon(), volumeDir, 'beneath');
  try {
    // The directory's entries named bare (`file`, not `data/file`): they land at the volume's top.
    await volume.extract('/', image.pack(m.Destination, { contentsOnly: true, followLink: true }));
  } finally {
    volume.close();
  }
  // The volume's root is berthd's directory (not an image entry), so plain calls are safe here.
  await chown(volumeDir, source.uid, source.gid);
  await chmod(volumeDir, source.mode);
}

/**
 * Fills the container's empty volumes from its image (see the top of the file).
 * `lowerTopFirst`: the image's layer dirs; `volumePaths`: each volume's host path for this run;
 * `holdTarget`: an unused directory under the exec root for the hold's mount point.
 */
export async function copyUpVolumes(
  c: ContainerRecord,
  lowerTopFirst: readonly string[],
  volumePaths: ReadonlyMap<string, string>,
  holdTarget: string,
): Promise<void> {
  const pending: { m: MountPoint; dir: string }[] = [];
  for (const m of c.MountPoints ?? []) {
    const dir = m.Type === 'volume' && !m.NoCopy && m.Name ? volumePaths.get(m.Name) : undefined;
    if (dir !== undefined && (await isEmptyDir(dir))) pending.push({ m, dir });
  }
  if (pending.length === 0 || lowerTopFirst.length === 0) return;

  await mkdir(holdTarget, { recursive: true, mode: 0o700 });
  const hold = await holdFilesystem({ rootfs: { lower: lowerTopFirst, target: holdTarget }, mounts: [] });
  try {
    const image = openConfinedTree(loadAddon(), hold.root, 'in-root');
    try {
      for (const { m, dir } of pending) {
        // Checked again: one volume mounted at two destinations is filled once.
        if (await isEmptyDir(dir)) await copyInto(image, m, dir);
      }
    } finally {
      image.close();
    }
  } finally {
    await hold.release();
    await rm(holdTarget, { recursive: true, force: true });
  }
}
