import { afterAll, beforeAll } from 'vitest';
import { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
import { loadTestImage } from './fixtures.js';
import { findLeaksSettled, reclaimLeaks, snapshotResources, type ResourceSnapshot } from './leaks.js';

export interface UseDaemonOptions extends DaemonOptions {
  /** Load the test image before the tests: from the OCI layout or the `docker save` tar. */
  readonly image?: 'oci' | 'docker-save';
}

/**
 * One berthd per test file:
 *
 *   const daemon = useDaemon({ image: 'oci' });
 *   it('runs', async () => {
 *     const r = await daemon().docker(['run', '--rm', TEST_IMAGE, 'true']);
 *     expect(r.code, r.stderr).toBe(0);
 *   });
 *
 * beforeAll snapshots host resources and starts the daemon; afterAll — even when tests
 * failed — stops it with SIGTERM, checks it exited 0 and left nothing behind (mounts,
 * cgroups, processes, links, netns), reclaims whatever it did leave, removes its roots and
 * fails the file with the full list.
 */
export function useDaemon(opts: UseDaemonOptions = {}): () => Daemon {
  let daemon: Daemon | undefined;
  let before: ResourceSnapshot | undefined;

  beforeAll(async () => {
    before = await snapshotResources();
    daemon = await startDaemon(opts);
    if (opts.image !== undefined) await loadTestImage(daemon, opts.image);
  });

  afterAll(async () => {
    if (daemon === undefined || before === undefined) return;
    await stopAndCheck(daemon, before);
  });

  return () => {
    if (daemon === undefined) throw new Error('useDaemon(): the daemon starts in beforeAll; use it inside tests or hooks');
    return daemon;
  };
}

/** Stops a daemon, asserts a clean exit and no leaks, and always removes its roots. */
export async function stopAndCheck(daemon: Daemon, before: ResourceSnapshot): Promise<void> {
  const problems: string[] = [];
  try {
    const exit = await daemon.stop('SIGTERM');
    if (exit.code !== 0) problems.push(`berthd exited with code ${String(exit.code)} signal ${String(exit.signal)} on SIGTERM`);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  const leaks = await findLeaksSettled(before, daemon);
  if (leaks.length > 0) {
    problems.push(`berthd left ${leaks.length} resource(s) behind:\n  ${leaks.join('\n  ')}`);
    await reclaimLeaks(before, daemon);
  }
  try {
    await daemon.removeRoots();
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  if (problems.length > 0) {
    const tail = daemon.logs().split('\n').slice(-40).join('\n');
    throw new Error(`${problems.join('\n')}\n--- last lines of berthd's log ---\n${tail}`);
  }
}
