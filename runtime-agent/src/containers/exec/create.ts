import { randomBytes } from 'node:crypto';
import { conflict, invalid } from '../../errors.js';
import { emitContainerEvent, type ContainerContext } from '../context.js';
import type { ContainerRecord } from '../model.js';
import type { ExecCreateRequest, ExecInstance } from './model.js';
import type { ExecStore } from './store.js';

/** Docker's checks for a process that can join the container now. */
export function assertCanExec(ctx: ContainerContext, c: ContainerRecord): void {
  if (c.State.Restarting) throw conflict(`Container ${c.Id} is restarting, wait until the container is running`);
  if (!ctx.tasks.has(c.Id) || !c.State.Running) throw conflict(`Container ${c.Id} is not running`);
  if (c.State.Paused) throw conflict(`Container ${c.Id} is paused, unpause the container before exec`);
}

/** `POST /containers/{id}/exec`: validates and records; nothing runs until start. */
export function createExec(ctx: ContainerContext, execs: ExecStore, c: ContainerRecord, req: ExecCreateRequest): ExecInstance {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw invalid('the request body must be a JSON object');
  assertCanExec(ctx, c);
  const cmd = req.Cmd ?? [];
  if (!Array.isArray(cmd) || cmd.length === 0 || cmd[0] === '') throw invalid('No exec command specified');
  if (req.Privileged && !c.HostConfig.Privileged) {
    throw invalid('privileged exec is refused: the container is not privileged (run it with --privileged)');
  }
  if (req.WorkingDir && !req.WorkingDir.startsWith('/')) {
    throw invalid(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  for (const e of req.Env ?? []) if (e === '' || e.startsWith('=')) throw invalid(`invalid environment variable: "${e}"`);
  const exec: ExecInstance = {
    id: randomBytes(32).toString('hex'),
    containerId: c.Id,
    config: { ...req, Cmd: cmd },
    running: false,
    exitCode: null,
    pid: 0,
    started: false,
    process: undefined,
  };
  execs.add(exec);
  emitContainerEvent(ctx, c, `exec_create: ${cmd.join(' ')}`, { execID: exec.id });
  return exec;
}
