import { conflict } from '../errors.js';
import { log } from '../log.js';
import { cgroupPath, emitContainerEvent, type ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';

/** `POST /containers/{id}/pause`: freezes every process of the container (cgroup freezer). */
export async function pauseContainer(ctx: ContainerContext, c: ContainerRecord): Promise<void> {
  if (c.State.Restarting) throw conflict(`Container ${c.Id} is restarting, wait until the container is running`);
  if (!ctx.tasks.has(c.Id)) throw conflict(`Container ${c.Id} is not running`);
  if (c.State.Paused) throw conflict(`Container ${c.Id} is already paused`);
  await ctx.cgroups.open(cgroupPath(ctx, c.Id)).freeze();
  c.State = { ...c.State, Paused: true, Status: 'paused' };
  await ctx.store.save(c);
  log.info('container.pause', { id: c.Id.slice(0, 12) });
  emitContainerEvent(ctx, c, 'pause');
}

export async function unpauseContainer(ctx: ContainerContext, c: ContainerRecord): Promise<void> {
  if (!c.State.Paused || !ctx.tasks.has(c.Id)) throw conflict(`Container ${c.Id} is not paused`);
  await ctx.cgroups.open(cgroupPath(ctx, c.Id)).thaw();
  c.State = { ...c.State, Paused: false, Status: 'running' };
  await ctx.store.save(c);
  log.info('container.unpause', { id: c.Id.slice(0, 12) });
  emitContainerEvent(ctx, c, 'unpause');
}
