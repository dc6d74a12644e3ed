/**
 * Taking groups down, the same on v1 and v2: kill what is left (re-reading the group until it
 * is empty, since processes can fork while we kill), remove the directories children first
 * (the kernel refuses to remove a group that still has children or tasks, EBUSY, for a moment
 * after the last task died), and prune leftovers after a crash.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, systemError } from '../errors.js';
import { log } from '../log.js';
import { CgroupDir } from './dir.js';
import type { CgroupHost } from './host.js';

const KILL_TIMEOUT_MS = 2000;
const RMDIR_TIMEOUT_MS = 1000;
const POLL_MS = 10;

/** Polls `check` until it holds; false when `timeoutMs` passed first. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * SIGKILLs every pid `readPids` reports until it reports none. `killGroup`, when given, is a
 * kernel-side kill of the whole group (v2 `cgroup.kill`), tried first in each round.
 */
export async function killAll(
  host: CgroupHost,
  readPids: () => Promise<number[]>,
  killGroup?: () => Promise<void>,
): Promise<void> {
  const empty = await waitFor(async () => {
    const pids = await readPids();
    if (pids.length === 0) return true;
    if (killGroup) await killGroup();
    for (const pid of pids) host.kill(pid);
    return false;
  }, KILL_TIMEOUT_MS);
  if (!empty) {
    const left = await readPids();
    throw systemError(`cgroup: processes still alive after SIGKILL: ${left.join(' ')}`);
  }
}

/** PIDs in `dir` and every group below it (a missing dir has none). */
export async function readTreePids(host: CgroupHost, dir: string): Promise<number[]> {
  const pids = await new CgroupDir(host, dir).readPids();
  let entries: { name: string; kind: string }[];
  try {
    entries = await host.list(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return pids;
    throw err;
  }
  for (const entry of entries) {
    if (entry.kind === 'dir') pids.push(...(await readTreePids(host, join(dir, entry.name))));
  }
  return pids;
}

/** Removes `dir` and every group below it, deepest first. A missing dir is fine. */
export async function removeGroupDir(host: CgroupHost, dir: string): Promise<void> {
  let entries: { name: string; kind: string }[];
  try {
    entries = await host.list(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw systemError(`cgroup: cannot list ${dir}`, err);
  }
  for (const entry of entries) {
    if (entry.kind === 'dir') await removeGroupDir(host, join(dir, entry.name));
  }
  let lastError: unknown;
  const removed = await waitFor(async () => {
    try {
      await host.rmdir(dir);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return true;
      if (errnoCode(err) !== 'EBUSY') throw systemError(`cgroup: cannot remove ${dir}`, err);
      lastError = err;
      return false;
    }
  }, RMDIR_TIMEOUT_MS);
  if (!removed) throw systemError(`cgroup: cannot remove ${dir}: still busy`, lastError);
}

/**
 * Removes the groups under `parentDir` that hold no process (at any depth), leaving the
 * populated ones and `parentDir` itself. Returns the names of the children removed.
 */
export async function pruneChildren(host: CgroupHost, parentDir: string): Promise<string[]> {
  let entries: { name: string; kind: string }[];
  try {
    entries = await host.list(parentDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw systemError(`cgroup: cannot list ${parentDir}`, err);
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'dir') continue;
    const dir = join(parentDir, entry.name);
    if ((await readTreePids(host, dir)).length > 0) {
      log.debug('cgroup.prune.skip', { dir, reason: 'populated' });
      continue;
    }
    await removeGroupDir(host, dir);
    removed.push(entry.name);
  }
  return removed;
}
