import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, notModified } from '../errors.js';
import { log } from '../log.js';
import { cgroupPath, emitContainerEvent, type ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';
import { signalEndsRun } from './restart-policy.js';
import { parseSignal, SIGKILL } from './signals.js';

async function thawIfPaused(ctx: ContainerContext, c: ContainerRecord): Promise<void> {
  if (!c.State.Paused) return;
  await ctx.cgroups.open(cgroupPath(ctx, c.Id)).thaw();
  c.State = { ...c.State, Paused: false, Status: 'running' };
}

/**
 * `POST /containers/{id}/stop`: the stop signal, then SIGKILL after the timeout
 * (`t`, else the container's StopTimeout, else 10 s; -1 waits forever).
 */
export async function stopContainer(ctx: ContainerContext, c: ContainerRecord, timeout: number | undefined, signal?: string): Promise<void> {
  const task = ctx.tasks.get(c.Id);
  if (!task) {
    // Restarting (waiting out its backoff): stopping cancels the restart.
    if (await ctx.restarts.cancel(c)) {
      emitContainerEvent(ctx, c, 'stop');
      return;
    }
    throw notModified('container already stopped');
  }
  task.stopRequested = true;
  const sig = parseSignal(signal || c.Config.StopSignal || 'SIGTERM');
  const seconds = timeout ?? c.Config.StopTimeout ?? 10;
  log.info('container.stop', { id: c.Id.slice(0, 12), signal: sig, timeout: seconds });
  emitContainerEvent(ctx, c, 'kill', { signal: String(sig) });
  task.process.kill(sig);
  await thawIfPaused(ctx, c);
  if (seconds < 0) {
    await task.done;
    return;
  }
  const settled = await Promise.race([task.done.then(() => true), sleep(seconds * 1000).then(() => false)]);
  if (!settled) {
    log.info('container.stop-timeout', { id: c.Id.slice(0, 12), action: 'SIGKILL' });
    emitContainerEvent(ctx, c, 'kill', { signal: String(SIGKILL) });
    task.process.kill(SIGKILL);
    await task.done;
  }
  emitContainerEvent(ctx, c, 'stop');
}

/** `POST /containers/{id}/kill`: any signal; the container must be running. */
export async function killContainer(ctx: ContainerContext, c: ContainerRecord, signal: string | null): Promise<void> {
  const sig = signal ? parseSignal(signal) : SIGKILL;
  const task = ctx.tasks.get(c.Id);
  if (!task) {
    // Restarting: no process to signal; a signal that ends the run cancels the restart (moby).
    if (c.State.Restarting && ctx.restarts.isPending(c.Id)) {
      if (signalEndsRun(c, sig)) await ctx.restarts.cancel(c);
      return;
    }
    throw conflict(`Cannot kill container: ${c.Name}: Container ${c.Id} is not running`);
  }
  log.info('container.kill', { id: c.Id.slice(0, 12), signal: sig });
  emitContainerEvent(ctx, c, 'kill', { signal: String(sig) });
  if (signalEndsRun(c, sig)) task.stopRequested = true;
  task.process.kill(sig);
  if (sig === SIGKILL) {
    // A frozen task cannot die: thaw so the kill lands, and wait so `docker kill` returns after it.
    await thawIfPaused(ctx, c);
    await task.done;
  }
}
