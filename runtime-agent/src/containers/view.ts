import { join } from 'node:path';
import type { Image } from '../images/types.js';
import type { ContainerContext } from './context.js';
import type { ContainerRecord } from './model.js';
import { logPath } from './paths.js';
import type { ContainerNetworking } from './networking.js';
import { cleanPath } from './mount-parse.js';

/** Docker's `units.HumanDuration`. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

function healthSuffix(c: ContainerRecord): string {
  const h = c.State.Health;
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/** The STATUS column of `docker ps`. */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  switch (s.Status) {
    case 'running':
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${s.Paused ? ' (Paused)' : healthSuffix(c)}`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    default:
      return 'Created';
  }
}

function graphDriver(ctx: ContainerContext, c: ContainerRecord, image: Image | undefined): Record<string, unknown> {
  const dir = ctx.layout.container(c.Id);
  return {
    Name: 'overlay2',
    Data: {
      LowerDir: image ? [...image.layers].reverse().map((l) => l.dir).join(':') : '',
      UpperDir: join(dir, 'upper'),
      WorkDir: join(dir, 'work'),
      MergedDir: join(ctx.layout.runContainer(c.Id), 'rootfs'),
    },
  };
}

/** NetworkSettings: the top-level address fields describe the default bridge only (Docker's). */
function networkSettings(c: ContainerRecord, networks: ContainerNetworking): Record<string, unknown> {
  const mode = c.HostConfig.NetworkMode ?? 'bridge';
  const nets = networks.settings(c);
  const bridge = nets.bridge;
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    Ports: networks.portMap(c),
    SandboxKey: c.State.Running && mode !== 'host' ? `/proc/${c.State.Pid}/ns/net` : '',
    EndpointID: bridge?.EndpointID ?? '',
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    Gateway: bridge?.Gateway ?? '',
    MacAddress: bridge?.MacAddress ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPv6Gateway: '',
    Networks: nets,
  };
}

/**
 * Inspect's and the list's `Mounts` (moby's addMountPoints): volumes, binds and `--mount`
 * tmpfs mounts; `--tmpfs` ones are not mount points in Docker, so they show only in
 * HostConfig.Tmpfs.
 */
export function mountsView(c: ContainerRecord): Record<string, unknown>[] {
  const tmpfsFlag = new Set(Object.keys(c.HostConfig.Tmpfs ?? {}).map((d) => cleanPath(d)));
  return (c.MountPoints ?? [])
    .filter((m) => !(m.Type === 'tmpfs' && tmpfsFlag.has(m.Destination)))
    .map((m) => ({
      Type: m.Type,
      ...(m.Name ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      ...(m.Driver ? { Driver: m.Driver } : {}),
      Mode: m.Mode,
      RW: m.RW,
      Propagation: m.Propagation,
    }));
}

/** `GET /containers/{id}/json`. */
export function inspectView(ctx: ContainerContext, c: ContainerRecord, image: Image | undefined): Record<string, unknown> {
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: { ...c.State },
    Image: c.Image,
    ResolvConfPath: join(ctx.layout.container(c.Id), 'resolv.conf'),
    HostnamePath: join(ctx.layout.container(c.Id), 'hostname'),
    HostsPath: join(ctx.layout.container(c.Id), 'hosts'),
    LogPath: logPath(ctx, c.Id),
    Name: `/${c.Name}`,
    RestartCount: c.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: null,
      VolumesFrom: null,
      CapAdd: null,
      CapDrop: null,
      Privileged: false,
      ReadonlyRootfs: false,
      Memory: 0,
      MemorySwap: 0,
      NanoCpus: 0,
      CpuShares: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpusetCpus: '',
      CpusetMems: '',
      PidsLimit: null,
      AutoRemove: false,
      ...c.HostConfig,
    },
    GraphDriver: graphDriver(ctx, c, image),
    Mounts: mountsView(c),
    Config: {
      Hostname: c.Config.Hostname,
      Domainname: c.Config.Domainname ?? '',
      User: c.Config.User ?? '',
      AttachStdin: c.Config.AttachStdin ?? false,
      AttachStdout: c.Config.AttachStdout ?? false,
      AttachStderr: c.Config.AttachStderr ?? false,
      Tty: c.Config.Tty ?? false,
      OpenStdin: c.Config.OpenStdin ?? false,
      StdinOnce: c.Config.StdinOnce ?? false,
      Env: c.Config.Env ?? [],
      Cmd: c.Config.Cmd ?? null,
      Image: c.ImageRef,
      Volumes: c.Config.Volumes && Object.keys(c.Config.Volumes).length > 0 ? c.Config.Volumes : null,
      WorkingDir: c.Config.WorkingDir ?? '',
      Entrypoint: c.Config.Entrypoint ?? null,
      OnBuild: null,
      Labels: c.Config.Labels ?? {},
      ...(c.Config.ExposedPorts && Object.keys(c.Config.ExposedPorts).length > 0 ? { ExposedPorts: c.Config.ExposedPorts } : {}),
      ...(c.Config.StopSignal ? { StopSignal: c.Config.StopSignal } : {}),
      ...(c.Config.StopTimeout !== undefined && c.Config.StopTimeout !== null ? { StopTimeout: c.Config.StopTimeout } : {}),
      ...(c.Config.Healthcheck ? { Healthcheck: c.Config.Healthcheck } : {}),
    },
    NetworkSettings: networkSettings(c, ctx.networks),
  };
}

/** One row of `GET /containers/json`. */
export function summaryView(c: ContainerRecord, networks: ContainerNetworking): Record<string, unknown> {
  const command = [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return {
    Id: c.Id,
    Names: [`/${c.Name}`],
    Image: c.ImageRef,
    ImageID: c.Image,
    Command: command,
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: networks.psPorts(c),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: networkSettings(c, networks).Networks },
    Mounts: mountsView(c),
  };
}
