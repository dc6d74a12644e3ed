/**
 * The one cgroup interface the rest of berthd uses. Two drivers implement it: v1
 * (`cgroups/v1/`, one hierarchy per controller, these development machines) and v2
 * (`cgroups/v2/`, the unified hierarchy, the VM). Callers never see which.
 *
 * Lifecycle: `driver.create(path, limits)` makes the group (empty) → `addProcess(pid)`
 * puts the container's init in it before it execs → `update`, `freeze`/`thaw`, `stats`
 * while it runs → `destroy()` once every process is gone (it kills stragglers first).
 *
 * Limits are a whole desired state: `create` and `update` both set every limit, and a field
 * left undefined means "no limit" (or the kernel default), not "leave as it is". Callers that
 * change one limit merge it into the container's current limits first. Validate with
 * `validateLimits` (cgroups/limits.ts) before calling: the drivers trust their input and
 * report what the kernel refuses as system errors.
 */
export interface CgroupLimits {
  /** Bytes; 0 or undefined = unlimited. */
  readonly memory?: number;
  /** Memory + swap in bytes; -1 = unlimited swap; undefined = Docker's default (2× memory). */
  readonly memorySwap?: number;
  /** CFS quota and period in microseconds (`--cpus 1.5` → 150000 / 100000). */
  readonly cpuQuota?: number;
  readonly cpuPeriod?: number;
  /** Relative weight in Docker's shares scale (2..262144, default 1024). */
  readonly cpuShares?: number;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
  /** Max processes; 0, -1 or undefined = unlimited. */
  readonly pidsLimit?: number;
  /**
   * Device access (v1 `devices` controller). `default` (and undefined): deny all, then allow
   * Docker's standard set (null, zero, full, random, urandom, tty, console, ptmx, pts, mknod of
   * any device); `all`: `a *:* rwm`, for privileged containers. On v2 device access needs an
   * eBPF program, which berthd does not attach: the field is ignored there.
   */
  readonly devices?: 'default' | 'all';
}

/** The memory controller's counters, as both drivers read them (bytes; `stat` is memory.stat). */
export interface MemoryCounters {
  usage: number;
  limit: number;
  maxUsage: number;
  stat: Record<string, number>;
}

/** Raw counters read from the cgroup files, in Docker's units. */
export interface CgroupStats {
  /** Total CPU time used, nanoseconds. */
  readonly cpuUsageNs: number;
  readonly cpuUserNs: number;
  readonly cpuSystemNs: number;
  /** Per-CPU usage in ns (v1 only; empty on v2). */
  readonly perCpuNs: readonly number[];
  readonly throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  readonly memoryUsage: number;
  /** The effective limit (host memory when unlimited). */
  readonly memoryLimit: number;
  readonly memoryMaxUsage: number;
  /** Controller-specific counters from memory.stat, as named by the kernel. */
  readonly memoryStat: Readonly<Record<string, number>>;
  readonly pidsCurrent: number;
  readonly pidsLimit: number;
  readonly blkio: readonly { major: number; minor: number; op: string; value: number }[];
}

export interface Cgroup {
  /** Path relative to the hierarchy root, e.g. `berth/<id>`. */
  readonly path: string;
  addProcess(pid: number): Promise<void>;
  update(limits: CgroupLimits): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** True once the kernel's OOM killer has killed a process in this group. */
  oomKilled(): Promise<boolean>;
  /** PIDs (host namespace) of every process in the group. */
  pids(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** Kills anything left (SIGKILL, thawing first) and removes the group. Idempotent. */
  destroy(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Creates (or reuses, if it exists) the group at `path` with the given limits. */
  create(path: string, limits: CgroupLimits): Promise<Cgroup>;
  /** Opens an existing group (after a berthd restart); no filesystem access until used. */
  open(path: string): Cgroup;
  /** Removes empty groups berthd left under `parent` (after a crash). */
  prune(parent: string): Promise<void>;
}
