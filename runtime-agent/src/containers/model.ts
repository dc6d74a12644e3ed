/**
 * A container as berthd records it. `container.json` under the container's directory
 * holds one ContainerRecord; the API's inspect and list views are derived from it.
 *
 * States (Docker's): created → running ⇄ paused → exited → (removed), plus
 * restarting and dead. `removing` is transient while rm runs.
 */
import type { ImageRuntimeConfig } from '../images/types.js';
import type { NetworkAttachment } from './networking.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The `Config` part of a create request, as Docker names it. */
export interface ContainerConfig extends ImageRuntimeConfig {
  Hostname?: string;
  Domainname?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Image?: string;
  StopTimeout?: number | null;
  ArgsEscaped?: boolean;
  NetworkDisabled?: boolean;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type?: string;
  Config?: Record<string, string>;
}

/** The `HostConfig` part of a create request: the fields berthd honours. */
export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  PublishAllPorts?: boolean;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  LogConfig?: LogConfig;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Init?: boolean | null;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  OomKillDisable?: boolean | null;
  OomScoreAdj?: number;
  ShmSize?: number;
  Tmpfs?: Record<string, string> | null;
  Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  Mounts?: MountRequest[] | null;
  VolumesFrom?: string[] | null;
  GroupAdd?: string[] | null;
}

/** One `--mount` (HostConfig.Mounts), as the Engine API names it. */
export interface MountRequest {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/**
 * One mount of a container, resolved at create from Binds, Mounts, Tmpfs, VolumesFrom and the
 * image's VOLUMEs (Docker's MountPoint; inspect's `Mounts` is derived from it).
 */
export interface MountPoint {
  readonly Type: 'volume' | 'bind' | 'tmpfs';
  /** Volumes: the volume's name. */
  readonly Name?: string;
  /** Binds: the host path; volumes: the volume's `_data` (filled at create); tmpfs: ''. */
  readonly Source: string;
  /** Absolute, cleaned path inside the container. */
  readonly Destination: string;
  /** Volumes: `local`. */
  readonly Driver?: string;
  /** The mode string as given (`ro`, `rw`, `z`, `nocopy`...); '' when none, except `z` for a
   *  volume from -v/--mount (moby's setBindModeIfNull); '' for --volumes-from copies. */
  readonly Mode: string;
  readonly RW: boolean;
  /** Binds: `rprivate` unless given; '' otherwise. */
  readonly Propagation: string;
  /** tmpfs: mount(8) options (`size=65536k`, `mode=1777`), Docker's defaults applied. */
  readonly TmpfsOptions?: readonly string[];
  /** Made for this container (`-v /path`, an image VOLUME): removed with `rm -v` and `--rm`. */
  readonly Anonymous?: boolean;
  /** Volumes: `nocopy` / VolumeOptions.NoCopy: no copy of the image's content into it. */
  readonly NoCopy?: boolean;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** `State.Health`, present while a container with a HEALTHCHECK runs (and after, as last seen). */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface ContainerRecord {
  Id: string;
  /** Without the leading slash. */
  Name: string;
  Created: string;
  /** The image reference as the user gave it. */
  ImageRef: string;
  /** The resolved image ID (`sha256:...`). */
  Image: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  /** Bumped on every start; lets late exit events from an older run be ignored. */
  StartGeneration: number;
  /** Set by `docker stop`/`kill`, cleared by `docker start` (moby's, for `unless-stopped`). */
  HasBeenManuallyStopped?: boolean;
  /** Its volumes, binds and tmpfs mounts, sorted by Destination (parents before children). */
  MountPoints?: MountPoint[];
  /** The networks it joins at start, first (eth0, default route) first; empty for none/host/container:. */
  NetworkAttachments?: NetworkAttachment[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The label on a container the builder runs a RUN step in. The builder removes it when the
 * step ends; one a crash of berthd left behind is removed at the next start (recover.ts).
 */
export const BUILD_STEP_LABEL = 'com.berth.build-step';

export function newState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
