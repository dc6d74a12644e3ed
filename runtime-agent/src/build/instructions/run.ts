import { join, posix } from 'node:path';
import { layerDiffTar } from '../../containers/files/layer-diff.js';
import { BUILD_STEP_LABEL, type ContainerRecord } from '../../containers/model.js';
import type { OutputHub } from '../../containers/output.js';
import { BerthError, invalid, messageOf } from '../../errors.js';
import type { Digest } from '../../images/digest.js';
import { shortId } from '../../images/digest.js';
import { log } from '../../log.js';
import { INIT_LAYER_PATHS } from '../../stats/changes.js';
import type { Instruction } from '../dockerfile/types.js';
import { cachedStep, type StepContext } from '../step.js';
import { createStepImage } from '../step-image.js';

/**
 * RUN, as the classic builder runs it: a container from the stage's image (Cmd: the SHELL
 * and the command, or the JSON form; no entrypoint; the stage's Env plus the build args in
 * scope, WorkingDir and User; no healthcheck; the build's network), its output streamed into
 * the build output (stderr in red), then — exit 0 — its writable layer committed as the next
 * image, or — any other exit — Docker's error with the exit code. The container is removed
 * either way (with its anonymous volumes: a VOLUME's content written by RUN is discarded, as
 * Docker's). History records the command with the build args it saw: `|1 V=2 /bin/sh -c make`.
 */
export class RunFailedError extends BerthError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super('invalid-parameter', message);
  }
}

export async function dispatchRun(ctx: StepContext, instruction: Instruction): Promise<void> {
  const state = ctx.state;
  const cmd = instruction.json ? [...instruction.args] : [...state.shell, instruction.args[0] ?? ''];
  const env = state.config.Env ?? [];
  const buildArgs = state.args.runEnv(env);
  const recorded = buildArgs.filter((e) => state.args.recorded(e.split('=', 1)[0] as string)).sort();
  const saveCmd = buildArgs.length > 0 ? [`|${recorded.length}`, ...recorded, ...cmd] : cmd;
  await cachedStep(ctx, saveCmd, async () => {
    if (state.imageId === undefined) throw invalid('RUN needs an image to run in: this stage is FROM scratch and has no files yet');
    const c = await ctx.deps.containers.create(null, {
      Image: state.imageId,
      Cmd: cmd,
      Entrypoint: [''],
      Env: [...env, ...buildArgs],
      WorkingDir: state.config.WorkingDir ?? '',
      User: state.config.User ?? '',
      Healthcheck: { Test: ['NONE'] },
      Labels: { [BUILD_STEP_LABEL]: state.imageId },
      HostConfig: { NetworkMode: ctx.networkMode },
    });
    ctx.out.line(` ---> Running in ${shortId(c.Id)}`);
    let ok = false;
    try {
      const code = await runToExit(ctx, c);
      if (code !== 0) throw new RunFailedError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
      const id = await commitRun(ctx, c, saveCmd);
      ok = true;
      return id;
    } finally {
      await ctx.deps.containers.remove(c.Id, true, true).catch((err: unknown) => {
        log.warn('build.container-remove-failed', { id: shortId(c.Id), error: messageOf(err) });
      });
      if (ok) ctx.out.line(`Removing intermediate container ${shortId(c.Id)}`);
    }
  });
}

/** Starts the container, streams its output, and resolves with its exit code once the output is drained. */
async function runToExit(ctx: StepContext, c: ContainerRecord): Promise<number> {
  const containers = ctx.deps.containers;
  const waiting = containers.wait(c.Id, 'next-exit');
  let drained: Promise<void> = Promise.resolve();
  const unsubscribe = containers.whenHub(c, (hub: OutputHub) => {
    hub.on('data', (stream, chunk) => (stream === 'stdout' ? ctx.out.stdout(chunk) : ctx.out.stderr(chunk)));
    drained = hub.ended ? Promise.resolve() : new Promise((resolve) => hub.once('end', () => resolve()));
  });
  const abort = (): void => void containers.kill(c.Id, 'SIGKILL').catch(() => undefined);
  ctx.signal.addEventListener('abort', abort);
  try {
    if (ctx.signal.aborted) throw invalid('the build was cancelled');
    await containers.start(c.Id);
    if (ctx.signal.aborted) abort(); // cancelled while it started
    const result = await waiting.result;
    await drained;
    if (ctx.signal.aborted) throw invalid('the build was cancelled');
    return result.StatusCode;
  } catch (err) {
    waiting.cancel();
    throw err;
  } finally {
    unsubscribe();
    ctx.signal.removeEventListener('abort', abort);
  }
}

async function commitRun(ctx: StepContext, c: ContainerRecord, saveCmd: readonly string[]): Promise<Digest> {
  const image = await ctx.deps.images.byId(c.Image);
  if (image === undefined) throw invalid(`the build step's image ${c.Image} was removed during the build`);
  const scaffolding = new Set(INIT_LAYER_PATHS);
  for (const m of c.MountPoints ?? []) {
    for (let p = m.Destination; p !== '/' && p !== '.'; p = posix.dirname(p)) scaffolding.add(p);
  }
  const layer = layerDiffTar({
    upper: join(ctx.deps.layout.container(c.Id), 'upper'),
    lowersTopFirst: [...image.layers].reverse().map((l) => l.dir),
    scaffolding,
    xattrs: ctx.deps.addon,
  });
  try {
    return await createStepImage(ctx.deps.images.store, {
      parent: image.id as Digest,
      layer,
      config: ctx.state.config,
      cmd: saveCmd,
      author: ctx.state.author,
      containerId: c.Id,
    });
  } finally {
    layer.destroy();
  }
}
