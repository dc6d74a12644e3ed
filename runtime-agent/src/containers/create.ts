import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../errors.js';
import { log } from '../log.js';
import type { Image } from '../images/types.js';
import { validateCapabilities } from './capabilities.js';
import { emitContainerEvent, type ContainerContext } from './context.js';
import { limitsFromHostConfig } from './limits.js';
import { rotationOptions } from './logs/json-file.js';
import { newState, type ContainerConfig, type ContainerRecord, type HostConfig } from './model.js';
import { generateName, validateName } from './names.js';
import { parseSignal } from './signals.js';
import { writeEtcFiles } from './etc-files.js';
import { validateHealthcheck } from './health.js';
import { ensurePlanVolumes, planMounts, removeCreated } from './mounts.js';

/** The body of `POST /containers/create`. */
export interface CreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
}

const RESTART_POLICIES = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

/**
 * Docker's merge: without a user entrypoint the image's entrypoint and (when no Cmd is
 * given) its Cmd apply; a user entrypoint drops the image's Cmd; `--entrypoint ""` resets.
 */
function command(req: CreateRequest, image: Image): { path: string; args: string[]; entrypoint: string[]; cmd: string[] } {
  const userEntrypoint = req.Entrypoint ?? null;
  const userCmd = req.Cmd ?? [];
  let entrypoint: string[];
  let cmd: string[];
  if (userEntrypoint === null || userEntrypoint.length === 0) {
    entrypoint = image.config.Entrypoint ?? [];
    cmd = userCmd.length > 0 ? userCmd : image.config.Cmd ?? [];
  } else {
    entrypoint = userEntrypoint.length === 1 && userEntrypoint[0] === '' ? [] : userEntrypoint;
    cmd = userCmd;
  }
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0 || argv[0] === '') throw invalid('no command specified');
  return { path: argv[0] as string, args: argv.slice(1), entrypoint, cmd };
}

function mergeEnv(imageEnv: readonly string[] | null | undefined, userEnv: readonly string[] | null | undefined): string[] {
  const env = new Map<string, string>();
  for (const e of [...(imageEnv ?? []), ...(userEnv ?? [])]) {
    if (e === '' || e.startsWith('=')) throw invalid(`invalid environment variable: "${e}"`);
    const eq = e.indexOf('=');
    env.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  return [...env.values()];
}

function validate(req: CreateRequest, hc: HostConfig): void {
  if (typeof req.Image !== 'string' || req.Image === '') throw invalid('Config.Image is required: name the image to create the container from');
  if (req.WorkingDir && !req.WorkingDir.startsWith('/')) {
    throw invalid(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  if (req.StopSignal) parseSignal(req.StopSignal);
  if (req.StopTimeout !== undefined && req.StopTimeout !== null && (!Number.isInteger(req.StopTimeout) || req.StopTimeout < -1)) {
    throw invalid('invalid stop timeout: use a whole number of seconds (or -1 to wait forever)');
  }
  const restart = hc.RestartPolicy?.Name ?? '';
  if (!RESTART_POLICIES.has(restart)) throw invalid(`invalid restart policy '${restart}'`);
  if (hc.AutoRemove && restart !== '' && restart !== 'no') {
    throw invalid('can\'t create \'AutoRemove\' container with restart policy');
  }
  if ((hc.RestartPolicy?.MaximumRetryCount ?? 0) !== 0 && restart !== 'on-failure') {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  validateHealthcheck(req.Healthcheck);
  for (const o of hc.SecurityOpt ?? []) {
    if (/^seccomp[=:]/.test(o) && !/^seccomp[=:](unconfined|builtin)$/.test(o)) {
      throw invalid('custom seccomp profiles are not supported yet; use seccomp=unconfined or leave the default');
    }
  }
  validateCapabilities(hc.CapAdd);
  validateCapabilities(hc.CapDrop);
  rotationOptions(hc.LogConfig);
  limitsFromHostConfig(hc);
  if (hc.Binds !== undefined && hc.Binds !== null && !Array.isArray(hc.Binds)) throw invalid('HostConfig.Binds must be a list of "source:destination[:mode]" strings');
  if (hc.Mounts !== undefined && hc.Mounts !== null && !Array.isArray(hc.Mounts)) throw invalid('HostConfig.Mounts must be a list of mounts');
  if (hc.VolumesFrom !== undefined && hc.VolumesFrom !== null && !Array.isArray(hc.VolumesFrom)) throw invalid('HostConfig.VolumesFrom must be a list of "container[:ro|:rw]" strings');
  if (hc.Tmpfs !== undefined && hc.Tmpfs !== null && (typeof hc.Tmpfs !== 'object' || Array.isArray(hc.Tmpfs))) throw invalid('HostConfig.Tmpfs must map destinations to options');
  if (req.Volumes !== undefined && req.Volumes !== null && (typeof req.Volumes !== 'object' || Array.isArray(req.Volumes))) throw invalid('Config.Volumes must map destinations to {}');
}

/** `POST /containers/create`: validates everything first, so a refusal leaves nothing behind. */
export async function createContainer(ctx: ContainerContext, name: string | null, req: CreateRequest): Promise<ContainerRecord> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw invalid('the request body must be a JSON object');
  const hc: HostConfig = req.HostConfig ?? {};
  validate(req, hc);
  // NetworkMode (bridge|none|host|container:<x>|<network>) and NetworkingConfig; 400 for unknown networks.
  const net = ctx.networks.plan(hc.NetworkMode ?? '', req.NetworkingConfig);
  ctx.networks.validatePorts({ Config: req, HostConfig: hc });
  const bareName = name ? validateName(name) : generateName((n) => ctx.store.nameTaken(n));
  ctx.store.assertNameFree(bareName);
  const image = await ctx.images.resolve(req.Image as string);
  const { path, args, entrypoint, cmd } = command(req, image);
  const volumes = { ...(image.config.Volumes ?? {}), ...(req.Volumes ?? {}) };
  const plan = await planMounts({ hostConfig: hc, configVolumes: volumes, findContainer: (ref) => ctx.store.find(ref) });

  const id = randomBytes(32).toString('hex');
  const { HostConfig: _hc, NetworkingConfig: _nc, ...userConfig } = req;
  const config: ContainerConfig = {
    ...userConfig,
    Hostname: req.Hostname || id.slice(0, 12),
    Domainname: req.Domainname ?? '',
    User: req.User ?? image.config.User ?? '',
    Env: mergeEnv(image.config.Env, req.Env),
    Cmd: cmd.length > 0 ? cmd : null,
    Entrypoint: entrypoint.length > 0 ? entrypoint : null,
    WorkingDir: req.WorkingDir || image.config.WorkingDir || '',
    Labels: { ...(image.config.Labels ?? {}), ...(req.Labels ?? {}) },
    StopSignal: req.StopSignal || image.config.StopSignal || undefined,
    ExposedPorts: { ...(image.config.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
    Volumes: volumes,
    Healthcheck: req.Healthcheck ?? image.config.Healthcheck ?? undefined,
    OnBuild: null,
    Image: req.Image,
  };
  const hostConfig: HostConfig = {
    ...hc,
    NetworkMode: net.networkMode,
    RestartPolicy: { Name: hc.RestartPolicy?.Name || 'no', MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
    LogConfig: { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} },
  };
  const record: ContainerRecord = {
    Id: id,
    Name: bareName,
    Created: new Date().toISOString(),
    ImageRef: req.Image as string,
    Image: image.id,
    Path: path,
    Args: args,
    Config: config,
    HostConfig: hostConfig,
    State: newState(),
    RestartCount: 0,
    StartGeneration: 0,
    NetworkAttachments: net.attachments,
  };

  // Everything is validated: from here on, what is made is undone on failure.
  const mounts = await ensurePlanVolumes(plan, ctx.volumes);
  record.MountPoints = mounts.points;
  const dir = ctx.layout.container(id);
  try {
    await mkdir(join(dir, 'upper'), { recursive: true, mode: 0o755 });
    await mkdir(join(dir, 'work'), { mode: 0o700 });
    await writeFile(join(dir, `${id}-json.log`), '', { mode: 0o640 });
    await writeEtcFiles(dir, record, await ctx.networks.files(record));
    await ctx.store.add(record);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await removeCreated(ctx.volumes, mounts.created);
    throw err;
  }
  emitContainerEvent(ctx, record, 'create');
  log.info('container.create', { id: id.slice(0, 12), name: bareName, image: req.Image });
  return record;
}
