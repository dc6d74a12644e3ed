/**
 * The renderer bridge: the one typed API between the Berth UI and the main-process services.
 *
 * Everything the renderer can ask for is a channel here, named `domain:verb`:
 *
 * - `InvokeChannels`: request → response. The transport answers `{result}` or `{error}`;
 *   the client side unwraps it and rethrows a `BridgeError` (see `BridgeFailure`).
 * - `EventChannels`: main → renderer pushes (engine events, stats samples, terminal output,
 *   progress). Streams a renderer asked for carry the `subscription` (or `operation`, or
 *   `session`) id that the renderer chose when it asked, so a push that arrives before the
 *   invoke's answer still finds its owner.
 *
 * Two transports carry it, with the same semantics: Electron IPC through the preload
 * (`contextBridge`, electron/preload) and, in browser mode, a WebSocket to the local server
 * (electron/main/transport/ws-server.ts, wire format in ./wire.ts). Both hand the renderer a
 * `BerthBridge`.
 *
 * This file is pure types and constants: it imports nothing, so the renderer, the preload and
 * the main process can all import it (enforced by ESLint).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The error shape every failed invoke carries: a message that says what to do. */
export interface BridgeError {
  readonly message: string;
  /** The engine's HTTP status when the engine refused (404, 409, 400…). */
  readonly status?: number;
  /** A stable code for the UI to branch on. */
  readonly code?: BridgeErrorCode;
}

export type BridgeErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'conflict'
  | 'engine-unreachable'
  | 'engine-error'
  | 'cancelled'
  | 'unknown-channel'
  | 'internal';

// ---------------------------------------------------------------------------------------------
// Connection and engine

/** Where the engine is. One connection at a time; the main process owns it. */
export type ConnectionTarget =
  /** berthd on this machine: its socket, started by `npm start` when it is not running. */
  | { readonly kind: 'local'; readonly socketPath?: string }
  /** Any Docker-API Unix socket (berthd elsewhere, or a real Docker daemon). */
  | { readonly kind: 'socket'; readonly socketPath: string }
  /** A remote Docker host over SSH (the remote runs `docker system dial-stdio`). */
  | {
      readonly kind: 'ssh';
      readonly host: string;
      readonly port?: number;
      readonly username: string;
      readonly privateKeyPath?: string;
      /** Where the host's key must be listed (OpenSSH format); default ~/.ssh/known_hosts. */
      readonly knownHostsPath?: string;
    };

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface ConnectionStatus {
  readonly target: ConnectionTarget;
  readonly state: ConnectionState;
  /** Set once connected. */
  readonly engine?: EngineInfo;
  /** Why the last attempt failed, in words a user can act on. */
  readonly error?: string;
  /** When disconnected: milliseconds until the next attempt. */
  readonly retryInMs?: number;
}

export interface EngineInfo {
  /** `berthd` or `Docker Engine`, from /version's component name. */
  readonly name: string;
  readonly isBerth: boolean;
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
  readonly kernel: string;
  readonly hostname: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly cgroupVersion: string;
  readonly storageDriver: string;
  readonly containers: { readonly total: number; readonly running: number; readonly paused: number; readonly stopped: number };
  readonly images: number;
}

// ---------------------------------------------------------------------------------------------
// Containers

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface PortMapping {
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  /** Absent when the port is exposed but not published. */
  readonly hostPort?: number;
  readonly hostIp?: string;
}

export interface ContainerMount {
  readonly type: string;
  readonly name?: string;
  readonly source: string;
  readonly destination: string;
  readonly readOnly: boolean;
}

export interface ContainerSummary {
  readonly id: string;
  /** Without Docker's leading `/`. */
  readonly name: string;
  readonly image: string;
  readonly imageId: string;
  readonly command: string;
  readonly state: ContainerState;
  /** Docker's status text ("Up 5 minutes", "Exited (0) 2 hours ago"). */
  readonly status: string;
  /** RFC 3339. */
  readonly createdAt: string;
  readonly ports: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
  /** `com.docker.compose.project`, for grouping. */
  readonly composeProject?: string;
  readonly networks: readonly string[];
  readonly mounts: readonly ContainerMount[];
}

export interface ContainerDetail extends ContainerSummary {
  /** RFC 3339; absent when never started. */
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly exitCode?: number;
  readonly tty: boolean;
  readonly memoryLimitBytes: number;
  readonly restartPolicy: RestartPolicy;
  /** The whole `GET /containers/{id}/json` answer, for the Inspect tab. */
  readonly inspect: JsonValue;
}

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

/** What the Run dialog sends. Validated again in the main process before it reaches the engine. */
export interface RunRequest {
  readonly image: string;
  readonly name?: string;
  /** argv; empty means the image's CMD. */
  readonly command?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly ports?: readonly {
    readonly containerPort: number;
    readonly protocol: 'tcp' | 'udp';
    /** 0 or absent: a free port. */
    readonly hostPort?: number;
    readonly hostIp?: string;
  }[];
  readonly mounts?: readonly {
    readonly kind: 'volume' | 'bind';
    /** A volume name, or an absolute host path for a bind. */
    readonly source: string;
    readonly target: string;
    readonly readOnly?: boolean;
  }[];
  readonly network?: string;
  readonly restartPolicy?: RestartPolicy;
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly autoRemove?: boolean;
  readonly tty?: boolean;
}

export type ContainerAction = 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill' | 'remove';

export interface LogLine {
  readonly stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as the engine stamps it. */
  readonly time: string;
  readonly text: string;
}

// ---------------------------------------------------------------------------------------------
// Stats

export interface StatsSample {
  readonly id: string;
  readonly name: string;
  /** 100 = one CPU busy. */
  readonly cpuPercent: number;
  readonly memoryUsage: number;
  readonly memoryLimit: number;
  readonly pids: number;
  readonly netRx: number;
  readonly netTx: number;
  readonly blkioRead: number;
  readonly blkioWrite: number;
}

export type StatsInterval = 1000 | 2000 | 5000;

// ---------------------------------------------------------------------------------------------
// Images

export interface ImageSummary {
  readonly id: string;
  /** `repo:tag`; empty for a dangling image. */
  readonly tags: readonly string[];
  readonly digests: readonly string[];
  readonly sizeBytes: number;
  readonly createdAt: string;
  /** Names of the containers made from it. */
  readonly usedBy: readonly string[];
}

export interface LayerProgress {
  readonly id: string;
  readonly status: string;
  readonly current?: number;
  readonly total?: number;
}

export type OperationKind = 'pull' | 'push' | 'build' | 'load';

/** One progress push of a long operation; `layers` is the whole current picture. */
export interface OperationProgress {
  readonly operation: string;
  readonly kind: OperationKind;
  readonly layers?: readonly LayerProgress[];
  /** A line of build output or a status message. */
  readonly line?: string;
}

/** A file the renderer picked (browser mode: read from an `<input type=file>`). */
export interface UploadedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Volumes and files

export interface VolumeSummary {
  readonly name: string;
  readonly driver: string;
  readonly mountpoint: string;
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
  /** From system df; null when the engine does not say. */
  readonly sizeBytes: number | null;
  readonly usedBy: readonly string[];
  readonly anonymous: boolean;
}

/** Whose files: a volume (read-write) or a container's merged filesystem (read-only). */
export type FileRoot = { readonly kind: 'volume'; readonly name: string } | { readonly kind: 'container'; readonly id: string };

export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface FileEntry {
  readonly name: string;
  readonly type: FileType;
  readonly size: number;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: string;
  readonly linkTarget?: string;
}

// ---------------------------------------------------------------------------------------------
// Networks

export interface NetworkMember {
  readonly id: string;
  readonly name: string;
  readonly ipv4?: string;
  readonly mac?: string;
}

export interface NetworkSummary {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly scope: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly internal: boolean;
  /** bridge, host, none: cannot be removed. */
  readonly builtIn: boolean;
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly members: readonly NetworkMember[];
}

// ---------------------------------------------------------------------------------------------
// System and settings

export interface DiskUsagePart {
  readonly count: number;
  readonly active: number;
  readonly sizeBytes: number;
  readonly reclaimableBytes: number;
}

export interface DiskUsage {
  readonly images: DiskUsagePart;
  readonly containers: DiskUsagePart;
  readonly volumes: DiskUsagePart;
  readonly buildCache: DiskUsagePart;
}

export type PruneTarget = 'containers' | 'images' | 'volumes' | 'networks' | 'build-cache';

export interface PruneResult {
  readonly deleted: number;
  readonly reclaimedBytes: number;
}

export type Theme = 'light' | 'dark' | 'system';

export interface VmResources {
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
}

export interface Settings {
  readonly theme: Theme;
  readonly connection: ConnectionTarget;
  readonly statsIntervalMs: StatsInterval;
  /** null until the VM exists (issue 8). */
  readonly vm: VmResources | null;
}

/** What the main process says about itself: which transport, whether a VM can exist. */
export interface AppInfo {
  readonly version: string;
  readonly mode: 'electron' | 'browser';
  readonly platform: string;
  readonly vmAvailable: boolean;
}

// ---------------------------------------------------------------------------------------------
// Engine events (one /events stream in the main process, pushed to every renderer)

export interface EngineEvent {
  readonly type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'builder';
  readonly action: string;
  readonly id: string;
  /** Name, tag or volume name from the event's attributes, when it has one. */
  readonly name?: string;
  /** Unix ms. */
  readonly time: number;
  readonly attributes: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// The channels

interface Channel<Args, Result> {
  readonly args: Args;
  readonly result: Result;
}

/** Request → response channels. `void` args: call with `undefined`. */
export interface InvokeChannels {
  'app:info': Channel<void, AppInfo>;

  'connection:status': Channel<void, ConnectionStatus>;
  /** Switches the one engine connection (and saves it in Settings). */
  'connection:set': Channel<ConnectionTarget, ConnectionStatus>;

  'system:info': Channel<void, EngineInfo>;
  'system:df': Channel<void, DiskUsage>;
  'system:prune': Channel<{ readonly targets: readonly PruneTarget[]; readonly allImages?: boolean }, PruneResult>;

  'containers:list': Channel<void, ContainerSummary[]>;
  'containers:inspect': Channel<{ readonly id: string }, ContainerDetail>;
  /** Creates and starts; answers the new container's ID. */
  'containers:run': Channel<RunRequest, { readonly id: string }>;
  'containers:action': Channel<{ readonly ids: readonly string[]; readonly action: ContainerAction }, { readonly failed: readonly { readonly id: string; readonly message: string }[] }>;

  /** The last lines, then (with `subscription`) every new line as `logs:lines`. */
  'logs:open': Channel<{ readonly id: string; readonly tail: number; readonly subscription?: string }, LogLine[]>;
  /** A plain-text download of the whole log. */
  'logs:downloadUrl': Channel<{ readonly id: string; readonly timestamps: boolean }, { readonly url: string }>;

  /** Samples of the given containers (only what is on screen) every `intervalMs`, as `stats:samples`. */
  'stats:watch': Channel<{ readonly subscription: string; readonly ids: readonly string[] | 'all'; readonly intervalMs: StatsInterval }, void>;

  /** Ends any subscription (logs, stats). */
  'subscription:close': Channel<{ readonly subscription: string }, void>;

  /** Starts an exec with a TTY (bash if present, else sh); output comes as `terminal:output`. */
  'terminal:open': Channel<{ readonly session: string; readonly containerId: string; readonly cols: number; readonly rows: number }, { readonly shell: string }>;
  /** Re-joins a session that outlived its view: what it printed so far (bounded). */
  'terminal:attach': Channel<{ readonly session: string }, { readonly scrollback: string; readonly exited: boolean }>;
  'terminal:input': Channel<{ readonly session: string; readonly data: string }, void>;
  'terminal:resize': Channel<{ readonly session: string; readonly cols: number; readonly rows: number }, void>;
  'terminal:close': Channel<{ readonly session: string }, void>;

  'images:list': Channel<void, ImageSummary[]>;
  'images:inspect': Channel<{ readonly id: string }, JsonValue>;
  'images:pull': Channel<{ readonly reference: string; readonly operation: string }, { readonly id: string }>;
  'images:push': Channel<{ readonly reference: string; readonly operation: string }, void>;
  'images:load': Channel<{ readonly operation: string; readonly file: UploadedFile }, { readonly loaded: readonly string[] }>;
  /** Builds the folder at `contextPath` on the app's machine (DOCKER_BUILDKIT=0 semantics). */
  'images:build': Channel<
    {
      readonly operation: string;
      readonly contextPath: string;
      readonly dockerfile?: string;
      readonly tags: readonly string[];
      readonly buildArgs?: Readonly<Record<string, string>>;
      readonly noCache?: boolean;
    },
    { readonly id: string }
  >;
  'images:tag': Channel<{ readonly id: string; readonly repo: string; readonly tag: string }, void>;
  'images:remove': Channel<{ readonly id: string; readonly force: boolean }, void>;
  'operation:cancel': Channel<{ readonly operation: string }, void>;

  'volumes:list': Channel<void, VolumeSummary[]>;
  'volumes:create': Channel<{ readonly name?: string; readonly labels?: Readonly<Record<string, string>> }, VolumeSummary>;
  'volumes:remove': Channel<{ readonly name: string; readonly force: boolean }, void>;

  'files:list': Channel<{ readonly root: FileRoot; readonly path: string }, { readonly path: string; readonly entries: FileEntry[] }>;
  /** At most `maxBytes` from the start (a preview); `size` is the whole file's. */
  'files:read': Channel<{ readonly root: FileRoot; readonly path: string; readonly maxBytes: number }, { readonly bytes: Uint8Array; readonly size: number; readonly truncated: boolean }>;
  'files:upload': Channel<{ readonly root: FileRoot; readonly directory: string; readonly file: UploadedFile; readonly overwrite: boolean }, FileEntry>;
  'files:mkdir': Channel<{ readonly root: FileRoot; readonly path: string }, FileEntry>;
  'files:rename': Channel<{ readonly root: FileRoot; readonly from: string; readonly to: string }, void>;
  'files:delete': Channel<{ readonly root: FileRoot; readonly path: string }, void>;
  /** A URL on the app's local server that streams the file, or the folder as a tar. */
  'files:downloadUrl': Channel<{ readonly root: FileRoot; readonly path: string }, { readonly url: string }>;

  'networks:list': Channel<void, NetworkSummary[]>;
  'networks:inspect': Channel<{ readonly id: string }, JsonValue>;
  'networks:create': Channel<{ readonly name: string; readonly subnet?: string; readonly gateway?: string; readonly internal?: boolean; readonly labels?: Readonly<Record<string, string>> }, NetworkSummary>;
  'networks:remove': Channel<{ readonly id: string }, void>;
  'networks:connect': Channel<{ readonly network: string; readonly container: string }, void>;
  'networks:disconnect': Channel<{ readonly network: string; readonly container: string; readonly force?: boolean }, void>;

  'settings:get': Channel<void, Settings>;
  'settings:update': Channel<Partial<Omit<Settings, 'connection'>>, Settings>;
}

/** Main → renderer pushes. */
export interface EventChannels {
  'connection:changed': ConnectionStatus;
  'engine:event': EngineEvent;
  'logs:lines': { readonly subscription: string; readonly lines: readonly LogLine[] };
  'stats:samples': { readonly subscription: string; readonly time: string; readonly samples: readonly StatsSample[] };
  'terminal:output': { readonly session: string; readonly data: string };
  'terminal:exit': { readonly session: string; readonly exitCode: number | null };
  'operation:progress': OperationProgress;
  'settings:changed': Settings;
}

export type InvokeChannel = keyof InvokeChannels;
export type EventChannel = keyof EventChannels;
export type InvokeArgs<C extends InvokeChannel> = InvokeChannels[C]['args'];
export type InvokeResult<C extends InvokeChannel> = InvokeChannels[C]['result'];
export type EventPayload<C extends EventChannel> = EventChannels[C];

/** What the renderer holds: the same object in Electron (preload) and browser mode (WebSocket). */
export interface BerthBridge {
  invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs<C>): Promise<InvokeResult<C>>;
  /** Listens to a push channel; returns the function that stops listening. */
  on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void): () => void;
}

/** The answer a transport carries for one invoke. */
export type InvokeReply<R> = { readonly result: R } | { readonly error: BridgeError };

/** Thrown on the renderer side when an invoke answered `{error}`. */
export class BridgeFailure extends Error implements BridgeError {
  readonly status?: number;
  readonly code?: BridgeErrorCode;
  constructor(error: BridgeError) {
    super(error.message);
    this.name = 'BridgeFailure';
    if (error.status !== undefined) this.status = error.status;
    if (error.code !== undefined) this.code = error.code;
  }
}

/**
 * Every channel name, once, as values: the preload and the transports refuse anything else.
 * `satisfies` keeps this list and the interfaces above in step (a missing or extra name is a
 * type error).
 */
const INVOKE_CHANNEL_MAP = {
  'app:info': true,
  'connection:status': true,
  'connection:set': true,
  'system:info': true,
  'system:df': true,
  'system:prune': true,
  'containers:list': true,
  'containers:inspect': true,
  'containers:run': true,
  'containers:action': true,
  'logs:open': true,
  'logs:downloadUrl': true,
  'stats:watch': true,
  'subscription:close': true,
  'terminal:open': true,
  'terminal:attach': true,
  'terminal:input': true,
  'terminal:resize': true,
  'terminal:close': true,
  'images:list': true,
  'images:inspect': true,
  'images:pull': true,
  'images:push': true,
  'images:load': true,
  'images:build': true,
  'images:tag': true,
  'images:remove': true,
  'operation:cancel': true,
  'volumes:list': true,
  'volumes:create': true,
  'volumes:remove': true,
  'files:list': true,
  'files:read': true,
  'files:upload': true,
  'files:mkdir': true,
  'files:rename': true,
  'files:delete': true,
  'files:downloadUrl': true,
  'networks:list': true,
  'networks:inspect': true,
  'networks:create': true,
  'networks:remove': true,
  'networks:connect': true,
  'networks:disconnect': true,
  'settings:get': true,
  'settings:update': true,
} as const satisfies Record<InvokeChannel, true>;

const EVENT_CHANNEL_MAP = {
  'connection:changed': true,
  'engine:event': true,
  'logs:lines': true,
  'stats:samples': true,
  'terminal:output': true,
  'terminal:exit': true,
  'operation:progress': true,
  'settings:changed': true,
} as const satisfies Record<EventChannel, true>;

/** Every invoke channel, for the check that each has a handler. */
export const INVOKE_CHANNELS = Object.keys(INVOKE_CHANNEL_MAP) as InvokeChannel[];

export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(INVOKE_CHANNEL_MAP, name);
}

export function isEventChannel(name: unknown): name is EventChannel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(EVENT_CHANNEL_MAP, name);
}

/** The preload exposes the bridge as `window.berth`. */
export const BRIDGE_GLOBAL = 'berth';
/** IPC channel names the preload and the main process use to carry the bridge. */
export const IPC_INVOKE = 'berth:invoke';
export const IPC_EVENT = 'berth:event';
