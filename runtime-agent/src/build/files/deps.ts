import type { TreeAddon } from '../../files/resolver.js';

/** What build/files/ needs from the daemon: the addon (ConfinedTree), a scratch dir, a fetch. */
export interface BuildFilesDeps {
  readonly addon: TreeAddon;
  /** The data root's tmp/ (DataLayout.tmpDir): unpacked contexts and ADD downloads live here
   *  while a build runs, so berthd's start-up sweep of tmp/ removes what a crash left. */
  readonly tmpDir: string;
  /** Fetches ADD URLs; Node's own fetch unless a test or a proxy-aware caller gives another. */
  readonly fetch?: typeof fetch;
  /** How long one ADD download may take in all (default 10 minutes). */
  readonly downloadTimeoutMs?: number;
  /** The largest ADD download accepted (default: no limit but the disk, as Docker). */
  readonly maxDownloadBytes?: number;
}
