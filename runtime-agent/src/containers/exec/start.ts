import { join } from 'node:path';
import type { HijackedStream } from '../../api/router.js';
import { muxFrame, MUX_CONTENT_TYPE, RAW_CONTENT_TYPE } from '../../api/stream.js';
import { BerthError, conflict, messageOf, notFound } from '../../errors.js';
import { log } from '../../log.js';
import { startExecProcess, type ContainerProcess } from '../../native/helper.js';
import { effectiveCapabilities } from '../capabilities.js';
import { cgroupPath, emitContainerEvent, type ContainerContext } from '../context.js';
import { DetachKeyFilter, parseDetachKeys } from '../detach-keys.js';
import type { ContainerRecord } from '../model.js';
import { containerEnvironment, seccompMode } from '../spec.js';
import { resolveUser } from '../user.js';
import { assertCanExec } from './create.js';
import type { ExecInstance } from './model.js';

export interface ExecStartRequest {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

/** Docker's exit codes for an exec that could not start. */
function failureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  return 126;
}

function consoleSize(size: [number, number] | null | undefined): { rows: number; cols: number } | undefined {
  if (!size || size.length !== 2 || size[0] <= 0 || size[1] <= 0) return undefined;
  return { rows: size[0], cols: size[1] };
}

/** Starts an exec's process in the container's namespaces and cgroup (also used by health probes). */
export async function spawnExec(ctx: ContainerContext, c: ContainerRecord, exec: Pick<ExecInstance, 'config'>, size: [number, number] | null | undefined): Promise<ContainerProcess> {
  const image = await ctx.images.byId(c.Image);
  if (!image) throw notFound(`the image of container ${c.Name} no longer exists`);
  const dirs = [join(ctx.layout.container(c.Id), 'upper'), ...[...image.layers].reverse().map((l) => l.dir)];
  const user = await resolveUser(exec.config.User || c.Config.User, dirs, c.HostConfig.GroupAdd ?? []);
  const env = containerEnvironment(c, user);
  for (const e of exec.config.Env ?? []) {
    const key = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    const at = env.findIndex((x) => x === key || x.startsWith(`${key}=`));
    if (at >= 0) env[at] = e;
    else env.push(e);
  }
  const cgroup = ctx.cgroups.open(cgroupPath(ctx, c.Id));
  const cs = consoleSize(size ?? exec.config.ConsoleSize);
  return startExecProcess(
    {
      containerPid: c.State.Pid,
      args: exec.config.Cmd,
      env,
      cwd: exec.config.WorkingDir || c.Config.WorkingDir || '/',
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      capabilities: effectiveCapabilities(c.HostConfig.CapAdd, c.HostConfig.CapDrop, c.HostConfig.Privileged === true || exec.config.Privileged === true),
      noNewPrivileges: (c.HostConfig.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true|=true)?$/.test(o)),
      openStdin: exec.config.AttachStdin === true,
      tty: exec.config.Tty === true,
      ...(cs ? { consoleSize: cs } : {}),
      seccomp: seccompMode(c, exec.config.Privileged === true),
    },
    { stdin: exec.config.AttachStdin ? 'pipe' : 'ignore', onPid: (pid) => cgroup.addProcess(pid) },
  );
}

/**
 * `POST /exec/{id}/start`: runs the process in the container's namespaces and cgroup and
 * streams it over the hijacked connection (or detached). A process that cannot start is
 * reported in-band with exit code 126/127, as Docker does, so `docker exec` prints it.
 */
export async function startExec(ctx: ContainerContext, c: ContainerRecord, exec: ExecInstance, req: ExecStartRequest, s: HijackedStream): Promise<void> {
  if (exec.started) throw conflict(`Error: Exec command ${exec.id} has already run`);
  assertCanExec(ctx, c);
  exec.started = true;
  const tty = exec.config.Tty === true;
  const detach = req.Detach === true;
  const keys = parseDetachKeys(exec.config.DetachKeys);
  s.begin(detach ? 'application/json' : tty ? RAW_CONTENT_TYPE : MUX_CONTENT_TYPE);
  const write = (stream: 1 | 2, chunk: Buffer): void => {
    if (detach || s.output.destroyed) return;
    if (stream === 1 ? exec.config.AttachStdout === false : exec.config.AttachStderr === false) return;
    s.output.write(tty ? chunk : muxFrame(stream, chunk));
  };

  let proc: ContainerProcess;
  try {
    proc = await spawnExec(ctx, c, exec, req.ConsoleSize);
  } catch (err) {
    const message = err instanceof BerthError && err.code !== 'system'
      ? `OCI runtime exec failed: exec failed: unable to start container process: ${messageOf(err)}: unknown`
      : `exec failed: ${messageOf(err)}`;
    exec.exitCode = failureCode(message);
    log.warn('exec.start-failed', { container: c.Id.slice(0, 12), exec: exec.id.slice(0, 12), error: messageOf(err) });
    write(1, Buffer.from(message + '\r\n'));
    s.finish();
    return;
  }
  exec.process = proc;
  exec.pid = proc.pid;
  exec.running = true;
  emitContainerEvent(ctx, c, `exec_start: ${exec.config.Cmd.join(' ')}`, { execID: exec.id });
  log.info('exec.start', { container: c.Id.slice(0, 12), exec: exec.id.slice(0, 12), pid: proc.pid });

  proc.stdout.on('data', (chunk: Buffer) => write(1, chunk));
  proc.stderr.on('data', (chunk: Buffer) => write(2, chunk));
  const stdin = proc.stdin;
  let detached = false;
  if (stdin && !detach) {
    stdin.on('error', () => undefined);
    const filter = new DetachKeyFilter(keys);
    s.input.on('data', (chunk: Buffer) => {
      const { pass, detach: leave } = filter.feed(chunk);
      if (pass.length > 0 && !stdin.destroyed) stdin.write(pass);
      if (leave) {
        detached = true;
        s.finish();
      }
    });
    s.input.once('end', () => {
      if (!detached && !stdin.destroyed) stdin.end();
    });
  } else if (detach) {
    s.finish();
  }

  const exit = await proc.exited;
  await Promise.all([ended(proc.stdout), ended(proc.stderr)]);
  exec.running = false;
  exec.exitCode = exit.signal > 0 ? 128 + exit.signal : exit.code;
  emitContainerEvent(ctx, c, 'exec_die', { execID: exec.id, exitCode: String(exec.exitCode) });
  log.info('exec.exit', { container: c.Id.slice(0, 12), exec: exec.id.slice(0, 12), code: exec.exitCode });
  if (!detach && !detached) s.finish();
}

function ended(stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) resolve();
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}
