/**
 * A container's MountPoints as the helper mounts them (MountSpec), for `run` and for `hold`:
 *
 *   volume  bind of the host path ContainerVolumes.mount() gave: rbind, rprivate, ro when !RW
 *   bind    rbind of the host path with its propagation (rprivate unless given), ro when !RW
 *   tmpfs   a tmpfs with the options resolved at create (Docker's noexec,nosuid,nodev first)
 *
 * Sorted parents before children, so `/data/sub` lands on `/data`'s volume, not under it.
 */
import { notFound } from '../errors.js';
import type { MountSpec } from '../native/protocol.js';
import type { MountPoint } from './model.js';
import { parentsFirst } from './mount-parse.js';

function pointSpec(m: MountPoint, volumePaths: ReadonlyMap<string, string>): MountSpec {
  const ro = m.RW ? [] : ['ro'];
  switch (m.Type) {
    case 'tmpfs':
      return { source: 'tmpfs', destination: m.Destination, type: 'tmpfs', options: m.TmpfsOptions ?? [] };
    case 'bind':
      return { source: m.Source, destination: m.Destination, type: 'bind', options: ['rbind', ...ro, m.Propagation || 'rprivate'] };
    case 'volume': {
      const source = m.Name === undefined ? undefined : volumePaths.get(m.Name);
      if (source === undefined) throw notFound(`volume ${m.Name ?? '(unnamed)'} for ${m.Destination} is not mounted`);
      return { source, destination: m.Destination, type: 'bind', options: ['rbind', ...ro, 'rprivate'] };
    }
  }
}

/**
 * The user's mounts merged with berthd's own (`/etc/hosts`...): a user mount at the same
 * destination replaces berthd's (Docker skips its network files then), and all are ordered
 * parents first. `skipTmpfs` for a hold, which has no use for them.
 */
export function mountSpecs(
  points: readonly MountPoint[],
  volumePaths: ReadonlyMap<string, string>,
  own: readonly MountSpec[] = [],
  opts: { skipTmpfs?: boolean } = {},
): MountSpec[] {
  const user = points.filter((m) => !(opts.skipTmpfs && m.Type === 'tmpfs')).map((m) => pointSpec(m, volumePaths));
  const taken = new Set(points.map((m) => m.Destination));
  const all = [...own.filter((s) => !taken.has(s.destination)), ...user];
  return parentsFirst(all, (s) => s.destination);
}
