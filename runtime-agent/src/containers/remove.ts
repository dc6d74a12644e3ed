import { rm } from 'node:fs/promises';
import { conflict } from '../errors.js';
import { log } from '../log.js';
import { emitContainerEvent, type ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';
import { killContainer } from './stop.js';

/**
 * `DELETE /containers/{id}`: refuses a running container unless forced (then kills it);
 * deletes its writable layer, logs and record, and wakes `wait?condition=removed`.
 */
export async function removeContainer(ctx: ContainerContext, c: ContainerRecord, force: boolean): Promise<void> {
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
  ctx.hubs.delete(c.Id);
  ctx.waiters.removed(c);
  log.info('container.remove', { id: c.Id.slice(0, 12), name: c.Name });
  emitContainerEvent(ctx, c, 'destroy');
}
