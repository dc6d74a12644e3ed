/**
 * berthd start-up after whatever ended the previous run: a clean SIGTERM shutdown or a SIGKILL
 * at any moment. Each container's shim SIGKILLs its process when berthd's end of the control
 * channel closes, so nothing of the old run is alive (or will not be for long); what can be
 * left is state that says otherwise and the things a run makes:
 *
 *   record says running / paused / restarting  → exited, ExitCode 255 (moby `daemon.restore`:
 *                                                the task is gone, no exit status known)
 *   <cgroup-parent>/<id> groups                 → processes killed, groups removed
 *   <exec-root>/containers/<id>/                → removed (nothing is mounted there: the
 *                                                rootfs is mounted inside the container's
 *                                                own mount namespace)
 *   <data-root>/containers/<id> without record  → discarded by ContainerStore.load
 *
 * Then moby's restore decisions: containers whose restart policy says so start again
 * (restartOnDaemonStart); other `--rm` containers are removed.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import { log } from '../log.js';
import { cgroupPath, type ContainerContext } from './context.js';
import { BUILD_STEP_LABEL, type ContainerRecord } from './model.js';
import { restartOnDaemonStart } from './restart-policy.js';

export const CRASH_EXIT_CODE = 255;

/** Gives every record its true state and removes what the previous run left behind. */
export async function recoverContainers(ctx: ContainerContext, records: readonly ContainerRecord[]): Promise<void> {
  await Promise.all(records.map((c) => recoverOne(ctx, c)));
  await ctx.cgroups.prune(ctx.cgroupParent).catch((err: unknown) => log.warn('cgroup.prune-failed', { error: messageOf(err) }));
  await rm(join(ctx.layout.execRoot, 'containers'), { recursive: true, force: true });
}

async function recoverOne(ctx: ContainerContext, c: ContainerRecord): Promise<void> {
  const live = c.State.Running || c.State.Paused || c.State.Restarting || c.State.Status === 'removing';
  // A start cut short can leave a populated group behind a record that never said `running`.
  const group = ctx.cgroups.open(cgroupPath(ctx, c.Id));
  const populated = await group.pids().then((pids) => pids.length > 0, () => true);
  if (live || populated) {
    await group.destroy().catch((err: unknown) => log.warn('container.recover-cgroup-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
  }
  if (!live) return;
  c.State = {
    ...c.State,
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    Pid: 0,
    ExitCode: CRASH_EXIT_CODE,
    Error: 'berthd stopped unexpectedly while the container was running',
    FinishedAt: new Date().toISOString(),
  };
  await ctx.store.save(c);
  log.warn('container.recovered', { id: c.Id.slice(0, 12), state: 'exited', code: CRASH_EXIT_CODE });
}

/** What moby's restore does next with each container: start it, remove it (`--rm`, or a build
 *  step's container the crash orphaned), or nothing. */
export function daemonStartAction(c: ContainerRecord): 'start' | 'remove' | undefined {
  if (c.Config.Labels?.[BUILD_STEP_LABEL] !== undefined) return 'remove';
  if (restartOnDaemonStart(c)) return 'start';
  if (c.HostConfig.AutoRemove) return 'remove';
  return undefined;
}
