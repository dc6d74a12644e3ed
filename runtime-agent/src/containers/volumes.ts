import type { ContainerRecord } from './model.js';

/**
 * What the container verbs need from volumes (implemented by `volumes/service.ts`):
 *
 *   create  ensure()     a named volume (created when missing, Docker's `-v name:/p`) or a new
 *                        anonymous one; its record names the container as a user
 *   start   mount()      the host path to bind: option-backed volumes (`-o type=tmpfs`,
 *                        `type=none,o=bind,device=/x`) are mounted at their `_data` on first
 *                        use and stay while any running container uses them
 *   exit    unmount()    the counterpart of mount()
 *   rm -v   removeAnonymous()  the container's anonymous volumes, unless another container
 *                        still uses one (then kept, as Docker)
 * Which containers use a volume comes from the container records (`MountPoints`): the volume
 * service asks `VolumeUsers` (bound late in main.ts, like images' users).
 */
export interface EnsuredVolume {
  readonly name: string;
  /** The host directory a container binds: `<data-root>/volumes/<name>/_data`. */
  readonly mountpoint: string;
  readonly driver: string;
}

/** What a volume made for a mount is created with (`--mount type=volume`'s VolumeOptions). */
export interface VolumeCreateOptions {
  readonly labels?: Readonly<Record<string, string>>;
  readonly driverOptions?: Readonly<Record<string, string>>;
}

export interface ContainerVolumes {
  /** `name` undefined: a new anonymous volume (64 hex name, label `com.docker.volume.anonymous`).
   *  `create`: labels and driver options (`--mount type=volume,volume-label=..,volume-opt=..`)
   *  for a volume made by this call; an existing named volume is returned as it is (Docker's). */
  ensure(name: string | undefined, create?: VolumeCreateOptions): Promise<EnsuredVolume>;
  /** Throws not-found when the volume is gone (its directory removed behind berthd's back: rm refuses volumes in use, even with -f). */
  mount(name: string, containerId: string): Promise<string>;
  unmount(name: string, containerId: string): Promise<void>;
  removeAnonymous(names: readonly string[]): Promise<void>;
}

/** What the volume service asks about containers (bound late in main.ts). */
export interface VolumeUsers {
  /** Every container (any state) with a mount of this volume. */
  containersUsing(volumeName: string): ContainerRecord[];
}
