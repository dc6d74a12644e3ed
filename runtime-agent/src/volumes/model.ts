/**
 * A volume as berthd stores it: `<data-root>/volumes/<name>/volume.json` beside the volume's
 * files in `_data/` (see store/layout.ts). Only the `local` driver exists; a volume with
 * options (`-o type=tmpfs`, `-o type=none,o=bind,device=/x`) is mounted at its `_data` while
 * containers use it.
 */
export interface VolumeRecord {
  readonly Name: string;
  readonly Driver: 'local';
  /** Never null; `com.docker.volume.anonymous` marks a volume made without a name. */
  readonly Labels: Readonly<Record<string, string>>;
  /** The driver options as given (`type`, `device`, `o`); empty for a plain directory. */
  readonly Options: Readonly<Record<string, string>>;
  /** ISO 8601 (UTC); the API shows it as RFC 3339 in the daemon's timezone. */
  readonly CreatedAt: string;
}

export const LOCAL_DRIVER = 'local';

/** moby's AnonymousLabel: set on volumes created without a name; prune removes them by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** The directory holding a volume's files, inside the volume's own directory. */
export const DATA_DIR = '_data';

export function isAnonymous(v: VolumeRecord): boolean {
  return Object.prototype.hasOwnProperty.call(v.Labels, ANONYMOUS_LABEL);
}

/** True when the volume is mounted from its options rather than being a plain directory. */
export function needsMount(v: VolumeRecord): boolean {
  return (v.Options.type ?? '') !== '' || (v.Options.device ?? '') !== '';
}
