import { join, posix } from 'node:path';
import { conflict, invalid, messageOf, notFound } from '../../errors.js';
import { applyChanges } from '../../images/changes.js';
import type { CommitLayerOptions } from '../../images/commit.js';
import type { Digest } from '../../images/digest.js';
import type { ImageRuntimeConfig } from '../../images/types.js';
import { log } from '../../log.js';
import type { NativeAddon } from '../../native/addon-api.js';
import { INIT_LAYER_PATHS } from '../../stats/changes.js';
import { emitContainerEvent, type ContainerContext } from '../context.js';
import type { ContainerRecord } from '../model.js';
import { pauseContainer, unpauseContainer } from '../pause.js';
import { layerDiffTar } from './layer-diff.js';

/**
 * `POST /commit`: a container's writable layer becomes a new image on top of its image.
 *
 *   config   the request body's config (the container's when there is none) with the
 *            `changes` applied (Dockerfile instructions, images/changes.ts), then completed
 *            from the container's config where it is empty (moby's merge)
 *   layer    the upper dir as a layer tar (layer-diff.ts), read while the container is paused
 *            when `pause` (the default) and it runs; unpaused afterwards whatever happened
 *   image    images/commit.ts: parent layers + the new one, history, author, comment, tag
 * Refused for a dead container or one being removed (409), as Docker. Event: `commit`, with
 * `comment`, `imageID` and `imageRef`.
 */
export interface CommitRequest {
  /** The body: a container config to start from, or undefined (the container's). */
  readonly config: ImageRuntimeConfig | undefined;
  readonly changes: readonly string[];
  readonly author: string;
  readonly comment: string;
  readonly pause: boolean;
  /** `repo:tag` validated by the caller; undefined: untagged. */
  readonly ref: CommitLayerOptions['ref'];
  /** The familiar form of `ref`, for the event ('' when untagged). */
  readonly refName: string;
}

/** The image half (ImageService.commit). */
export interface ImageCommitter {
  commit(opts: CommitLayerOptions): Promise<Digest>;
}

export async function commitContainer(
  ctx: ContainerContext,
  c: ContainerRecord,
  images: ImageCommitter,
  addon: Pick<NativeAddon, 'lgetxattr' | 'llistxattr'>,
  req: CommitRequest,
): Promise<Digest> {
  if (c.State.Dead) throw conflict(`You cannot commit container ${c.Id} which is Dead`);
  if (c.State.Status === 'removing') throw conflict(`You cannot commit container ${c.Id} which is being removed`);
  const image = await ctx.images.byId(c.Image);
  if (!image) throw notFound(`the image of container ${c.Name} (${c.Image}) no longer exists`);
  // A bad --change fails here, before the container is paused.
  const own = runtimeConfig(c.Config);
  const config = mergeConfig(applyChanges(req.config ?? own, req.changes), own);

  let pause = req.pause && ctx.tasks.has(c.Id) && !c.State.Paused && !c.State.Restarting;
  if (pause) {
    // As Docker: a container that cannot be frozen is committed running.
    pause = await pauseContainer(ctx, c).then(
      () => true,
      (err: unknown) => {
        log.warn('container.commit-pause-failed', { id: c.Id.slice(0, 12), error: messageOf(err) });
        return false;
      },
    );
  }
  let id: Digest;
  try {
    const layer = layerDiffTar({
      upper: join(ctx.layout.container(c.Id), 'upper'),
      lowersTopFirst: [...image.layers].reverse().map((l) => l.dir),
      scaffolding: scaffolding(c),
      xattrs: addon,
    });
    try {
      id = await images.commit({
        parent: image.id as Digest,
        layer,
        config,
        containerId: c.Id,
        containerConfig: own,
        author: req.author,
        comment: req.comment,
        ref: req.ref,
      });
    } finally {
      layer.destroy(); // a failed store must end the walk too
    }
  } finally {
    if (pause && c.State.Paused) {
      await unpauseContainer(ctx, c).catch((err: unknown) => log.warn('container.commit-unpause-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
    }
  }
  emitContainerEvent(ctx, c, 'commit', { comment: req.comment, imageID: id, imageRef: req.refName });
  return id;
}

/**
 * Paths berthd makes in a rootfs only to mount on: Docker's init layer (/etc/hosts, /proc,
 * /dev...), each mount's destination and the directories above it.
 */
function scaffolding(c: ContainerRecord): Set<string> {
  const paths = new Set(INIT_LAYER_PATHS);
  for (const m of c.MountPoints ?? []) {
    for (let p = m.Destination; p !== '/' && p !== '.'; p = posix.dirname(p)) paths.add(p);
  }
  return paths;
}

/** The image-config part of a container config (what an image carries). */
export function runtimeConfig(c: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = {};
  if (c.User !== undefined) out.User = c.User;
  if (c.ExposedPorts) out.ExposedPorts = c.ExposedPorts;
  if (c.Env) out.Env = c.Env;
  if (c.Cmd) out.Cmd = c.Cmd;
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.Volumes) out.Volumes = c.Volumes;
  if (c.WorkingDir !== undefined) out.WorkingDir = c.WorkingDir;
  if (c.Entrypoint) out.Entrypoint = c.Entrypoint;
  if (c.OnBuild) out.OnBuild = c.OnBuild;
  if (c.Labels) out.Labels = c.Labels;
  if (c.StopSignal !== undefined && c.StopSignal !== '') out.StopSignal = c.StopSignal;
  if (c.Shell) out.Shell = c.Shell;
  return out;
}

/**
 * moby's merge: what the user's config leaves empty comes from the container's — User,
 * WorkingDir, StopSignal, Healthcheck; ExposedPorts, Volumes and Labels are unions (the
 * user's win); Env adds the container's variables the user did not set; Cmd and Entrypoint
 * come from the container only when the user gives no Entrypoint.
 */
export function mergeConfig(user: ImageRuntimeConfig, own: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...user };
  if (!out.User) out.User = own.User ?? '';
  out.ExposedPorts = { ...(own.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  const keys = new Set((user.Env ?? []).map((e) => e.split('=', 1)[0]));
  out.Env = [...(user.Env ?? []), ...(own.Env ?? []).filter((e) => !keys.has(e.split('=', 1)[0]))];
  out.Labels = { ...(own.Labels ?? {}), ...(user.Labels ?? {}) };
  if (!user.Entrypoint || user.Entrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) out.Cmd = own.Cmd ?? null;
    if (user.Entrypoint === undefined || user.Entrypoint === null) out.Entrypoint = own.Entrypoint ?? null;
  }
  if (own.Healthcheck) out.Healthcheck = { ...own.Healthcheck, ...withoutZeros(user.Healthcheck ?? {}) };
  if (!out.WorkingDir) out.WorkingDir = own.WorkingDir ?? '';
  out.Volumes = { ...(user.Volumes ?? {}), ...(own.Volumes ?? {}) };
  if (!out.StopSignal && own.StopSignal) out.StopSignal = own.StopSignal;
  for (const key of ['ExposedPorts', 'Volumes'] as const) if (Object.keys(out[key] ?? {}).length === 0) out[key] = null;
  return out;
}

function withoutZeros<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== 0 && v !== undefined && !(Array.isArray(v) && v.length === 0))) as Partial<T>;
}

/** The request body of `POST /commit` (a container config, or nothing) checked field by field. */
export function parseCommitConfig(body: unknown): ImageRuntimeConfig | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('the commit body must be a container config (a JSON object)');
  const b = body as Record<string, unknown>;
  if (Object.keys(b).length === 0) return undefined;
  const strings = (key: string): string[] | null | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return v;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw invalid(`invalid ${key} in the commit config: expected a list of strings`);
    return v as string[];
  };
  const text = (key: string): string | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalid(`invalid ${key} in the commit config: expected a string`);
    return v;
  };
  const record = <T>(key: string): Record<string, T> | null | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return v;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`invalid ${key} in the commit config: expected an object`);
    return v as Record<string, T>;
  };
  const labels = record<unknown>('Labels');
  if (labels && Object.values(labels).some((v) => typeof v !== 'string')) throw invalid('invalid Labels in the commit config: values must be strings');
  const health = record<unknown>('Healthcheck');
  const config: ImageRuntimeConfig = {
    User: text('User'),
    Env: strings('Env'),
    Cmd: strings('Cmd'),
    Entrypoint: strings('Entrypoint'),
    Shell: strings('Shell'),
    OnBuild: strings('OnBuild'),
    WorkingDir: text('WorkingDir'),
    StopSignal: text('StopSignal'),
    Labels: labels as Record<string, string> | null | undefined,
    ExposedPorts: record<object>('ExposedPorts'),
    Volumes: record<object>('Volumes'),
    Healthcheck: health as ImageRuntimeConfig['Healthcheck'],
  };
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as ImageRuntimeConfig;
}
