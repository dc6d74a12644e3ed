import type Dockerode from 'dockerode';
import type { VolumeSummary } from '../../shared/bridge.js';

/** What `GET /system/df` says of one volume (`UsageData.Size` is -1 when unknown). */
export interface DfVolume {
  readonly Name?: string;
  readonly UsageData?: { readonly Size?: number; readonly RefCount?: number } | null;
}

/** Volume names Docker made up itself (`docker run -v /data`): 64 hex digits. */
export function isAnonymousVolume(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

/** Volume name → names of the containers that mount it (from the container list's Mounts). */
export function volumeUsers(containers: readonly Dockerode.ContainerInfo[]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const c of containers) {
    const name = (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
    for (const m of c.Mounts ?? []) {
      if (m.Type !== 'volume' || m.Name === undefined || m.Name === '') continue;
      const list = users.get(m.Name) ?? [];
      if (!list.includes(name)) list.push(name);
      users.set(m.Name, list);
    }
  }
  return users;
}

/** Volume name → its size in bytes, from one df answer (null where df does not know). */
export function volumeSizes(dfVolumes: readonly DfVolume[] | null | undefined): Map<string, number | null> {
  const sizes = new Map<string, number | null>();
  for (const v of dfVolumes ?? []) {
    if (v.Name === undefined) continue;
    const size = v.UsageData?.Size;
    sizes.set(v.Name, typeof size === 'number' && size >= 0 ? size : null);
  }
  return sizes;
}

export function toVolumeSummary(v: Dockerode.VolumeInspectInfo & { CreatedAt?: string }, sizes: Map<string, number | null>, users: Map<string, string[]>): VolumeSummary {
  return {
    name: v.Name,
    driver: v.Driver,
    mountpoint: v.Mountpoint,
    createdAt: v.CreatedAt ?? '',
    labels: v.Labels ?? {},
    sizeBytes: sizes.get(v.Name) ?? null,
    usedBy: [...(users.get(v.Name) ?? [])].sort(),
    anonymous: isAnonymousVolume(v.Name),
  };
}
