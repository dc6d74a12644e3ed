import { rm } from 'node:fs/promises';
import { conflict, messageOf } from '../errors.js';
import { log } from '../log.js';
import { emitContainerEvent, type ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';
import { anonymousVolumes } from './mounts.js';
import { killContainer } from './stop.js';

/**
 * `DELETE /containers/{id}`: refuses a running container unless forced (then kills it);
 * deletes its writable layer, logs and record, and wakes `wait?condition=removed`. With
 * `removeVolumes` (`rm -v`, `--rm`) its anonymous volumes go too, once its record is gone
 * (the volume service keeps one another container still uses); named volumes never do.
 */
export async function removeContainer(ctx: ContainerContext, c: ContainerRecord, force: boolean, removeVolumes = false): Promise<void> {
  if (c.State.Status === 'removing') throw conflict(`removal of container ${c.Id} is already in progress`);
  if (ctx.tasks.has(c.Id) || c.State.Restarting) {
    if (!force) {
      const state = c.State.Paused ? 'paused' : c.State.Restarting ? 'restarting' : 'running';
      throw conflict(
        `cannot remove container "/${c.Name}": container is ${state}: ${c.State.Paused ? 'unpause and ' : ''}stop the container before removing or force remove`,
      );
    }
    await killContainer(ctx, c, 'SIGKILL');
  }
  const previous = c.State.Status;
  c.State = { ...c.State, Status: 'removing' };
  try {
    await ctx.networks.release(c);
    await ctx.store.remove(c.Id);
    await rm(ctx.layout.runContainer(c.Id), { recursive: true, force: true });
  } catch (err) {
    c.State = { ...c.State, Status: previous };
    throw err;
  }
  if (removeVolumes) {
    // The container is gone either way: a volume that cannot be removed is reported, not fatal.
    await ctx.volumes.removeAnonymous(anonymousVolumes(c)).catch((err: unknown) => log.warn('container.remove-volumes-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
  }
  ctx.hubs.delete(c.Id);
  ctx.waiters.removed(c);
  log.info('container.remove', { id: c.Id.slice(0, 12), name: c.Name });
  emitContainerEvent(ctx, c, 'destroy');
}
