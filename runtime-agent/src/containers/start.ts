import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, conflict, messageOf, notFound, notModified } from '../errors.js';
import { log } from '../log.js';
import { startContainerProcess } from '../native/helper.js';
import { cgroupPath, emitContainerEvent, type ContainerContext, type Task } from './context.js';
import { limitsFromHostConfig } from './limits.js';
import { JsonFileWriter, rotationOptions } from './logs/json-file.js';
import type { ContainerRecord } from './model.js';
import { OutputHub } from './output.js';
import { logPath } from './paths.js';
import { processSpec } from './spec.js';
import { writeEtcFiles } from './etc-files.js';
import type { ProcessSpec } from '../native/protocol.js';
import type { Cgroup } from '../cgroups/cgroup.js';
import { copyUpVolumes } from './copy-up.js';
import { createBindSources, mountVolumes, unmountVolumes } from './mounts.js';
import { resolveUser } from './user.js';

function streamEnded(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) resolve();
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** Docker's exit codes for a command that could not be started. */
function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|is a directory|exec format error/i.test(message)) return 126;
  return 128;
}

/** `--network container:<x>`: the process joins x's network namespace; x must be running. */
function withSharedNetwork(ctx: ContainerContext, c: ContainerRecord, spec: ProcessSpec): ProcessSpec {
  const mode = c.HostConfig.NetworkMode ?? '';
  if (!mode.startsWith('container:')) return spec;
  const ref = mode.slice('container:'.length);
  const other = ctx.store.find(ref);
  if (!other) throw notFound(`No such container: ${ref}`);
  if (!other.State.Running || other.State.Pid <= 0) throw conflict(`cannot join network namespace of a non running container: container ${other.Id} is not running`);
  return { ...spec, network: { kind: 'path', path: `/proc/${other.State.Pid}/ns/net` } };
}

/**
 * `POST /containers/{id}/start`: cgroup → helper (clone, join cgroup, mount, exec) →
 * output wired to the log and attached clients → exit recorded by `onExit`.
 */
export async function startContainer(
  ctx: ContainerContext,
  c: ContainerRecord,
  onExit: (c: ContainerRecord) => Promise<void>,
  onHub: (hub: OutputHub) => void,
): Promise<void> {
  if (c.State.Status === 'removing') throw conflict(`container ${c.Name} is marked for removal and cannot be started`);
  if (c.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
  // A `restarting` container counts as running (moby), except for its restart policy's start.
  if ((c.State.Running && !c.State.Restarting) || ctx.tasks.has(c.Id)) throw notModified('container already started');
  const image = await ctx.images.byId(c.Image);
  if (!image) throw notFound(`the image of container ${c.Name} (${c.Image}) no longer exists`);

  const dir = ctx.layout.container(c.Id);
  const mountPoint = join(ctx.layout.runContainer(c.Id), 'rootfs');
  await mkdir(mountPoint, { recursive: true, mode: 0o700 });
  const lowerTopFirst = [...image.layers].reverse().map((l) => l.dir);
  const user = await resolveUser(c.Config.User, [join(dir, 'upper'), ...lowerTopFirst], c.HostConfig.GroupAdd ?? []);
  const volumePaths = await mountVolumes(ctx, c);
  const mounted = [...volumePaths.keys()];
  let spec: ProcessSpec;
  let cgroup: Cgroup;
  try {
    spec = withSharedNetwork(ctx, c, processSpec({ container: c, image, user, dir, mountPoint, volumePaths }));
    await createBindSources(c);
    // Docker fills a new, empty volume with the image's content at that path, once.
    if (c.StartGeneration === 0) await copyUpVolumes(c, lowerTopFirst, volumePaths, join(ctx.layout.runContainer(c.Id), 'copy-up'));
    cgroup = await ctx.cgroups.create(cgroupPath(ctx, c.Id), limitsFromHostConfig(c.HostConfig));
  } catch (err) {
    await unmountVolumes(ctx, c, mounted);
    throw err;
  }

  let proc;
  try {
    // Addresses claimed before the spec: the init configures its interfaces itself after `go`.
    const interfaces = spec.network.kind === 'new' ? ctx.networks.prepare(c) : [];
    proc = await startContainerProcess(interfaces.length > 0 ? { ...spec, interfaces } : spec, {
      stdin: spec.openStdin ? 'pipe' : 'ignore',
      onPid: async (pid) => {
        await cgroup.addProcess(pid);
        // Before `go`: its veth pairs (the init sets addresses and routes), then the files naming them.
        await ctx.networks.attach(c, pid);
        await writeEtcFiles(dir, c, await ctx.networks.files(c));
      },
    });
  } catch (err) {
    await ctx.networks.detach(c).catch(() => undefined);
    await cgroup.destroy().catch(() => undefined);
    await unmountVolumes(ctx, c, mounted);
    const message = `failed to create task for container: ${messageOf(err)}`;
    c.State = { ...c.State, Status: 'exited', Running: false, Restarting: false, Pid: 0, ExitCode: startFailureCode(message), Error: messageOf(err), FinishedAt: new Date().toISOString() };
    await ctx.store.save(c);
    log.warn('container.start-failed', { id: c.Id.slice(0, 12), error: messageOf(err) });
    throw new BerthError(err instanceof BerthError ? err.code : 'system', message, { cause: err });
  }

  const hub = new OutputHub();
  hub.stdin = proc.stdin;
  ctx.hubs.set(c.Id, hub);
  // Attachers waiting for this start subscribe now, before any output can flow.
  onHub(hub);
  const writer = new JsonFileWriter(logPath(ctx, c.Id), rotationOptions(c.HostConfig.LogConfig), (entry) => hub.emit('entry', entry));
  proc.stdout.on('data', (chunk: Buffer) => {
    writer.write('stdout', chunk);
    hub.emit('data', 'stdout', chunk);
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    writer.write('stderr', chunk);
    hub.emit('data', 'stderr', chunk);
  });
  proc.stdin?.on('error', () => undefined); // the process may exit before reading its stdin

  c.StartGeneration += 1;
  c.State = {
    ...c.State,
    Status: 'running',
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: proc.pid,
    ExitCode: 0,
    Error: '',
    StartedAt: new Date().toISOString(),
    FinishedAt: '0001-01-01T00:00:00Z',
  };

  const started = proc;
  const task: Task = {
    process: started,
    output: hub,
    stopRequested: false,
    done: (async () => {
      const exit = await started.exited;
      await Promise.all([streamEnded(started.stdout), streamEnded(started.stderr)]);
      writer.close();
      const oomKilled = await cgroup.oomKilled().catch(() => false);
      await cgroup.destroy().catch((err: unknown) => log.warn('cgroup.destroy-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
      await ctx.networks.detach(c).catch((err: unknown) => log.warn('network.detach-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
      await unmountVolumes(ctx, c, mounted);
      const exitCode = exit.signal > 0 ? 128 + exit.signal : exit.code;
      const ranSeconds = Math.max(0, Math.floor((Date.now() - Date.parse(c.State.StartedAt)) / 1000));
      // The restart policy decides before the exit is recorded: `restarting` or `exited`.
      const restarting = ctx.restarts.decide(c, exitCode, ctx.tasks.get(c.Id)?.stopRequested === true);
      c.State = {
        ...c.State,
        Status: restarting ? 'restarting' : 'exited',
        Running: restarting,
        Restarting: restarting,
        Paused: false,
        Pid: 0,
        ExitCode: exitCode,
        OOMKilled: oomKilled,
        FinishedAt: new Date().toISOString(),
      };
      ctx.tasks.delete(c.Id);
      await ctx.store.save(c);
      log.info('container.exit', { id: c.Id.slice(0, 12), code: c.State.ExitCode, oom: oomKilled || undefined, restarting: restarting || undefined });
      if (oomKilled) emitContainerEvent(ctx, c, 'oom');
      emitContainerEvent(ctx, c, 'die', { exitCode: String(c.State.ExitCode), execDuration: String(ranSeconds) });
      hub.finish();
      await onExit(c);
    })(),
  };
  ctx.tasks.set(c.Id, task);
  await ctx.store.save(c);
  emitContainerEvent(ctx, c, 'start');
  log.info('container.start', { id: c.Id.slice(0, 12), name: c.Name, pid: proc.pid });
}
