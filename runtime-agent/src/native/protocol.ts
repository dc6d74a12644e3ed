/**
 * The typed protocol between berthd and its native process helper (`native/berth-helper`).
 * The wire format and the order of steps are documented in docs/helper-protocol.md; this
 * file is the single TypeScript definition of both directions.
 *
 * berthd → helper (fd 3, a socketpair): the ProcessSpec (or ExecSpec) encoded as
 *   NUL-terminated `key=value` records ending with `end`, then control lines: `go\n` once,
 *   and `resize <rows> <cols>\n` at any time while a TTY process runs.
 * helper → berthd (same fd 3): newline-terminated HelperMessage lines.
 */

/** `default`: the helper's default seccomp filter (Docker's default profile, as a deny list;
 *  docs/helper-protocol.md); `unconfined`: none (privileged, `--security-opt seccomp=unconfined`). */
export type SeccompMode = 'default' | 'unconfined';

/** A mount made inside the container's mount namespace, before pivot_root. */
export interface MountSpec {
  /** Host path for binds; fs name (`tmpfs`, `proc`...) otherwise. */
  readonly source: string;
  /** Path inside the container (absolute). */
  readonly destination: string;
  /** `bind` for bind mounts, else the filesystem type. */
  readonly type: string;
  /** mount(8)-style options: `ro`, `rbind`, `nosuid`, `nodev`, `noexec`, `mode=1777`, `size=65536k`... */
  readonly options: readonly string[];
}

export interface ResourceLimit {
  /** `RLIMIT_NOFILE` etc., without the prefix: `nofile`, `nproc`, `core`... */
  readonly type: string;
  readonly soft: number;
  readonly hard: number;
}

/** Where the container's network namespace comes from. */
export type NetworkNamespace = { kind: 'new' } | { kind: 'host' } | { kind: 'path'; path: string };

/**
 * An interface berthd created straight into the container's new network namespace (already
 * named, with its MAC); the container's init gives it its address, brings it up and, with a
 * gateway, adds the default route through it, after `go` and before anything else runs.
 */
export interface InterfaceSpec {
  /** `eth0`, `eth1`... */
  readonly name: string;
  /** IPv4, dotted quad. */
  readonly address: string;
  /** 1–32. */
  readonly prefixLength: number;
  /** The default route's gateway (IPv4); absent: no default route (internal networks, extra interfaces). */
  readonly gateway?: string;
}

/** Everything the helper needs to start a container's first process. */
export interface ProcessSpec {
  /** The overlay rootfs, mounted by the helper inside the new mount namespace. */
  readonly rootfs: {
    /** Lower dirs, top-most first (overlay `lowerdir` order). */
    readonly lower: readonly string[];
    readonly upper: string;
    readonly work: string;
    /** An empty directory used as the mount point (under the exec root). */
    readonly target: string;
    readonly readonly: boolean;
  };
  readonly hostname: string;
  /** argv[0] is looked up in the container's PATH (from env) if it has no slash. */
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids: readonly number[] };
  /** Capability numbers kept (bounding, permitted, effective); inheritable and ambient are empty, as Docker's. */
  readonly capabilities: readonly number[];
  readonly network: NetworkNamespace;
  /** Interfaces to configure inside the new network namespace (`network.kind` `new` only). */
  readonly interfaces?: readonly InterfaceSpec[];
  /** Extra mounts after /proc, /dev, /sys...: /etc/hosts, volumes, tmpfs. */
  readonly mounts: readonly MountSpec[];
  /** Paths hidden from the container (/dev/null over files, empty read-only tmpfs over dirs). */
  readonly maskedPaths: readonly string[];
  /** Paths bind-remounted read-only. */
  readonly readonlyPaths: readonly string[];
  readonly rlimits: readonly ResourceLimit[];
  readonly noNewPrivileges: boolean;
  /** Privileged: host devices, /sys read-write, no masked paths. */
  readonly privileged: boolean;
  /** Keep stdin open as a pipe (`-i`); otherwise the process gets /dev/null. */
  readonly openStdin: boolean;
  readonly oomScoreAdj: number;
  /** Allocate a pseudo-terminal inside the container (`-t`); stdout then carries it, stderr is empty. */
  readonly tty: boolean;
  /** The initial terminal size, when `tty` (0–65535 each; 0 leaves it unset); ignored without. */
  readonly consoleSize?: { readonly rows: number; readonly cols: number };
  /** `--init`: PID 1 is the helper's own reaper, which forwards signals to the command and
   *  exits with its status (128+N when signal N killed it). */
  readonly init: boolean;
  readonly seccomp: SeccompMode;
}

/** Everything the helper needs to start a process inside a running container (`docker exec`). */
export interface ExecSpec {
  /** Host PID of the container's init: its ipc, uts, net, cgroup, pid and mount namespaces are
   *  joined (through a pidfd), and its rlimits and OOM score copied. */
  readonly containerPid: number;
  readonly args: readonly string[];
  /** The whole environment (the container's merged with the exec's); PATH for the lookup. */
  readonly env: readonly string[];
  /** Absolute; must exist in the container (unlike `run`, nothing is created). */
  readonly cwd: string;
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids: readonly number[] };
  readonly capabilities: readonly number[];
  readonly noNewPrivileges: boolean;
  readonly openStdin: boolean;
  readonly tty: boolean;
  readonly consoleSize?: { readonly rows: number; readonly cols: number };
  readonly seccomp: SeccompMode;
}

/**
 * A container's filesystem without its process (`berth-helper hold`), for the archive API,
 * export and browsing of a container that is not running: the helper unshares a mount
 * namespace (rslave, so nothing propagates back to the host), mounts the overlay rootfs at
 * `rootfs.target`, makes the `mounts` under it exactly as `run` does (volumes and binds; no
 * /proc, /dev, /sys), pivot_roots into it, reports `ready`, and then waits until fd 3 is
 * closed, when it exits and the kernel drops every mount with its namespace. berthd reaches
 * the tree through `/proc/<pid>/root`; nothing is ever mounted in berthd's own namespace.
 */
export interface HoldSpec {
  readonly rootfs: {
    /** Lower dirs, top-most first. Without `upper`: a read-only overlay of these alone (a
     *  container's upper dir may then be the first, so a running container's layer can be read
     *  without mounting its upper dir twice); one dir alone is bind-mounted read-only. */
    readonly lower: readonly string[];
    /** With `work`: a writable overlay, as `run` mounts it (the container must not be running). */
    readonly upper?: string;
    readonly work?: string;
    /** An empty directory under the exec root used as the mount point. */
    readonly target: string;
  };
  /** Volumes and binds, made under the rootfs as `run` makes them (tmpfs mounts are skipped). */
  readonly mounts: readonly MountSpec[];
}

/** Lines the helper sends to berthd, in order: pid → (berthd: go) → started | error → exit. */
export type HelperMessage =
  /** The container's init was cloned (or, for exec, the process forked); its host PID. berthd now joins it to its cgroup and answers `go`. */
  | { type: 'pid'; pid: number }
  /** The container's process exec'd successfully. */
  | { type: 'started' }
  /** Setup failed at `stage`; `errno` when a syscall failed. The helper then exits. */
  | { type: 'error'; stage: string; message: string; errno: number }
  /** `hold`: the filesystem is mounted and the helper has pivot_rooted into it. */
  | { type: 'ready' }
  /** The process ended: exit code, or the signal that killed it. */
  | { type: 'exit'; code: number; signal: number };
