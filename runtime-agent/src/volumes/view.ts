import type { VolumeRecord } from './model.js';

/** A volume as the Engine API shows it (moby's volume.Volume, in its field order). */
export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  /** null when the volume has none, as Docker. */
  Options: Record<string, string> | null;
  Scope: 'local';
  /** Only in `GET /system/df`: Size -1 when it cannot be measured. */
  UsageData?: { Size: number; RefCount: number };
}

export function volumeView(v: VolumeRecord, mountpoint: string): VolumeView {
  return {
    CreatedAt: rfc3339(new Date(v.CreatedAt)),
    Driver: v.Driver,
    Labels: { ...v.Labels },
    Mountpoint: mountpoint,
    Name: v.Name,
    Options: Object.keys(v.Options).length > 0 ? { ...v.Options } : null,
    Scope: 'local',
  };
}

/**
 * Go's time.RFC3339 in the daemon's local timezone, as moby formats CreatedAt:
 * `2024-05-01T12:00:00Z` in UTC, `2024-05-01T14:00:00+02:00` elsewhere (seconds, no fraction).
 */
export function rfc3339(date: Date): string {
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000);
  const base = local.toISOString().slice(0, 19);
  if (offsetMin === 0) return `${base}Z`;
  const sign = offsetMin > 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return `${base}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
