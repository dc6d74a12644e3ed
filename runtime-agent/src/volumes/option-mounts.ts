import { errnoCode, invalid, messageOf, systemError } from '../errors.js';
import { log } from '../log.js';
import { MNT_DETACH, type NativeAddon } from '../native/addon-api.js';
import { BIND_REMOUNT_FLAGS, MountBits, parseMountOptions } from './mount-options.js';
import type { VolumeRecord } from './model.js';
import { mountPoints } from './mountinfo.js';

/**
 * The mounts of option-backed local volumes (`-o type=tmpfs,device=tmpfs,o=size=64m`,
 * `-o type=none,o=bind,device=/srv/x`, nfs...): a volume is mounted at its `_data` by the
 * first container that uses it and unmounted when the last one lets go, as moby's local
 * driver does. Users are counted per container (a container may mount a volume twice).
 *
 * Mount state lives in memory; `adopt` takes over mounts a crashed berthd left (mounted, no
 * users yet), and `release` unmounts whatever no one uses.
 */
export class OptionMounts {
  /** Volume name → container ID → how many of its mounts use the volume. */
  private readonly users = new Map<string, Map<string, number>>();
  private readonly mounted = new Set<string>();

  constructor(private readonly addon: NativeAddon) {}

  /** Records mounts found at the volumes' `_data` (left by a previous run). */
  async adopt(volumes: readonly { name: string; dataDir: string }[]): Promise<string[]> {
    const points = new Set(await mountPoints());
    const found = volumes.filter((v) => points.has(v.dataDir)).map((v) => v.name);
    for (const name of found) this.mounted.add(name);
    return found;
  }

  isMounted(name: string): boolean {
    return this.mounted.has(name);
  }

  /** Containers currently counted as users. */
  usersOf(name: string): string[] {
    return [...(this.users.get(name)?.keys() ?? [])];
  }

  acquire(v: VolumeRecord, dataDir: string, containerId: string): void {
    if (!this.mounted.has(v.Name)) {
      this.mountVolume(v, dataDir);
      this.mounted.add(v.Name);
    }
    const counts = this.users.get(v.Name) ?? new Map<string, number>();
    counts.set(containerId, (counts.get(containerId) ?? 0) + 1);
    this.users.set(v.Name, counts);
  }

  /** Drops one use; unmounts when the volume has no users left. */
  drop(name: string, dataDir: string, containerId: string): void {
    const counts = this.users.get(name);
    const n = counts?.get(containerId) ?? 0;
    if (counts !== undefined && n > 1) counts.set(containerId, n - 1);
    else counts?.delete(containerId);
    if (counts !== undefined && counts.size === 0) this.users.delete(name);
    if (!this.users.has(name)) this.release(name, dataDir);
  }

  /** Counts a container that already uses the mount (recovery) without mounting again. */
  claim(name: string, containerId: string): void {
    const counts = this.users.get(name) ?? new Map<string, number>();
    counts.set(containerId, Math.max(1, counts.get(containerId) ?? 0));
    this.users.set(name, counts);
  }

  /** Unmounts the volume if it is mounted, whatever its users (shutdown, rm, recovery). */
  release(name: string, dataDir: string): void {
    this.users.delete(name);
    if (!this.mounted.has(name)) return;
    try {
      this.addon.umount2(dataDir, 0);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EBUSY') {
        // Something still has it open (a shell cd'd into it): detach, the kernel frees it later.
        this.addon.umount2(dataDir, MNT_DETACH);
      } else if (code !== 'EINVAL' && code !== 'ENOENT') {
        throw systemError(`cannot unmount volume ${name} at ${dataDir}: ${messageOf(err)}`, err);
      }
    }
    this.mounted.delete(name);
    log.info('volume.unmount', { name });
  }

  private mountVolume(v: VolumeRecord, dataDir: string): void {
    const device = v.Options.device ?? '';
    const type = v.Options.type ?? '';
    if (device === '') throw invalid(`mount ${v.Name}: missing device in volume options`);
    const { flags, propagation, data } = parseMountOptions(v.Options.o ?? '');
    const describe = `mount ${device}:${dataDir}, type: ${type}, flags: 0x${flags.toString(16)}, data: ${data}`;
    try {
      this.addon.mount(device, dataDir, type === 'none' ? '' : type, flags, data);
    } catch (err) {
      throw mountError(v.Name, describe, err);
    }
    try {
      // A bind mount ignores ro/nosuid/... on its first call: mount(8) remounts to apply them.
      const bindExtras = flags & BIND_REMOUNT_FLAGS;
      if ((flags & MountBits.BIND) !== 0 && bindExtras !== 0) {
        this.addon.mount('', dataDir, '', MountBits.REMOUNT | MountBits.BIND | bindExtras, '');
      }
      if (propagation !== 0) this.addon.mount('', dataDir, '', propagation, '');
    } catch (err) {
      this.addon.umount2(dataDir, MNT_DETACH);
      throw mountError(v.Name, describe, err);
    }
    log.info('volume.mount', { name: v.Name, type, device });
  }
}

/** The volume's options are the user's: a refused mount is a 400 naming the errno. */
function mountError(name: string, describe: string, err: unknown): Error {
  const code = errnoCode(err);
  const message = `error while mounting volume '${name}': failed to mount local volume: ${describe}: ${messageOf(err)}`;
  const userCaused = ['ENOENT', 'ENOTDIR', 'EINVAL', 'ENODEV', 'ENXIO', 'ENOTBLK', 'EACCES', 'EPERM'];
  return code !== undefined && userCaused.includes(code) ? invalid(message, err) : systemError(message, err);
}
