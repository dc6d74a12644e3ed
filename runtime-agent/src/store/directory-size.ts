import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';

/**
 * The bytes a directory tree holds, as moby's directory.Size counts them: the apparent size
 * of every non-directory entry found with lstat (symlinks are not followed), each inode once
 * (hardlinks count once). Entries that vanish during the walk are skipped. Used for volumes'
 * UsageData and containers' SizeRw. A missing root is 0.
 */
export async function directorySize(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    for await (const entry of handle) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
        continue;
      }
      let st;
      try {
        st = await lstat(path, { bigint: true });
      } catch (err) {
        if (isGone(err)) continue;
        throw err;
      }
      if (st.isDirectory()) {
        pending.push(path); // a filesystem that reports no d_type
        continue;
      }
      if (st.size === 0n) continue;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += Number(st.size);
    }
  }
  return total;
}

function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
