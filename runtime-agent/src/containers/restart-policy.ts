/**
 * Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`): what happens after a
 * container's process exits without having been asked to. The semantics are moby's
 * (`daemon/internal/restartmanager`, `daemon/monitor.go`, `daemon/kill.go`, `daemon/start.go`):
 *
 *   exit ─► decide() ─┬─ no restart ─► exited (waiters woken, auto-remove)
 *                     └─ restart ────► restarting: Running + Restarting, Pid 0, RestartCount+1,
 *                                      waiters woken (moby's SetRestarting wakes them too)
 *                                      ─► schedule(): wait the backoff ─► start ─► running
 *
 *   - The decision: `always` restarts; `unless-stopped` restarts unless the container was
 *     stopped by hand (HasBeenManuallyStopped); `on-failure[:N]` restarts after a non-zero
 *     exit while RestartCount < N (N = 0: no limit).
 *   - The backoff: the delay doubles from 100 ms on every exit (at most 1 min) and falls back
 *     to 100 ms once the container had run for 10 s or more. It lives in memory, per container:
 *     a user `start` (and a daemon restart) begins again at 100 ms, RestartCount at 0.
 *   - Events: `die` at every exit, `start` at every automatic start; no `restart` event (that
 *     one is for `docker restart`).
 *   - stop / kill / rm -f while the backoff runs cancel the restart: the container ends
 *     `exited` with its last exit code; a start already under way is undone (SIGKILL).
 *   - `docker stop` / `kill` mark the container manually stopped, persisted; a user `start`
 *     clears the mark. berthd's own shutdown stops containers without marking them, so
 *     `always` and `unless-stopped` ones come back with the daemon (restartOnDaemonStart).
 */
import { log } from '../log.js';
import { messageOf } from '../errors.js';
import type { Task } from './context.js';
import type { ContainerRecord, RestartPolicy } from './model.js';
import type { ContainerStore } from './store.js';
import type { Waiters } from './waiters.js';
import { parseSignal, SIGKILL } from './signals.js';

export const INITIAL_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the backoff. */
export const RESET_AFTER_MS = 10_000;

/** moby's `RestartManager.ShouldRestart` decision, without the backoff. */
export function policyRestarts(policy: RestartPolicy | undefined, exitCode: number, restartCount: number, manuallyStopped: boolean): boolean {
  switch (policy?.Name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !manuallyStopped;
    case 'on-failure': {
      const max = policy.MaximumRetryCount ?? 0;
      return exitCode !== 0 && (max === 0 || restartCount < max);
    }
    default:
      return false;
  }
}

/** The delay before the next automatic start, given the previous one (0: none yet). */
export function nextDelay(previousMs: number, ranMs: number): number {
  const base = ranMs >= RESET_AFTER_MS ? 0 : previousMs;
  return base === 0 ? INITIAL_DELAY_MS : Math.min(base * 2, MAX_DELAY_MS);
}

/**
 * Daemon start (moby `daemon.restore`): a container that has run before is started again when
 * its policy says so for its last exit: `always`, `unless-stopped` not stopped by hand, and
 * `on-failure` after a non-zero exit (a crash of berthd records 255) with retries left.
 */
export function restartOnDaemonStart(c: ContainerRecord): boolean {
  return c.StartGeneration > 0 && policyRestarts(c.HostConfig.RestartPolicy, c.State.ExitCode, c.RestartCount, c.HasBeenManuallyStopped === true);
}

/**
 * Whether a signal sent by `docker kill` ends the container's run for its restart policy
 * (moby's `ExitOnNext`): SIGKILL, the container's stop signal, or any signal when it has none.
 */
export function signalEndsRun(c: ContainerRecord, signal: number): boolean {
  if (signal === SIGKILL || !c.Config.StopSignal) return true;
  try {
    return parseSignal(c.Config.StopSignal) === signal;
  } catch {
    return true;
  }
}

interface PendingRestart {
  /** `exiting`: the exit is being recorded; `waiting`: the backoff timer runs; `starting`: under way. */
  phase: 'exiting' | 'waiting' | 'starting';
  readonly delayMs: number;
  canceled: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Resolves once the container is running again or stopped for good. */
  readonly settled: Promise<void>;
  readonly settle: () => void;
}

export interface RestartSchedulerDeps {
  readonly store: ContainerStore;
  readonly waiters: Waiters;
  readonly tasks: ReadonlyMap<string, Task>;
  /** Starts the container again (its exit wired back to the service as for any start). */
  readonly start: (c: ContainerRecord) => Promise<void>;
}

/** Applies restart policies: one backoff and at most one pending restart per container. */
export class RestartScheduler {
  private readonly delays = new Map<string, number>();
  private readonly pending = new Map<string, PendingRestart>();
  private shuttingDown = false;

  constructor(private readonly deps: RestartSchedulerDeps) {}

  /**
   * Called once per exit, before it is recorded: true when the policy restarts the container
   * (RestartCount is then bumped and a restart is pending until `schedule`).
   */
  decide(c: ContainerRecord, exitCode: number, stopRequested: boolean): boolean {
    const policy = c.HostConfig.RestartPolicy;
    if (this.shuttingDown || stopRequested || !policy?.Name || policy.Name === 'no') return false;
    // Exited on its own while a canceled restart was still starting it: stays stopped.
    if (this.pending.get(c.Id)?.canceled === true) return false;
    const ranMs = Date.now() - Date.parse(c.State.StartedAt);
    const delayMs = nextDelay(this.delays.get(c.Id) ?? 0, Number.isNaN(ranMs) ? 0 : ranMs);
    this.delays.set(c.Id, delayMs);
    if (!policyRestarts(policy, exitCode, c.RestartCount, c.HasBeenManuallyStopped === true)) return false;
    c.RestartCount += 1;
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.pending.set(c.Id, { phase: 'exiting', delayMs, canceled: false, timer: undefined, settled, settle });
    return true;
  }

  /** After the `restarting` state is recorded: waits out the backoff, then starts the container. */
  schedule(c: ContainerRecord): void {
    const entry = this.pending.get(c.Id);
    if (!entry || entry.phase !== 'exiting') return;
    if (entry.canceled) {
      void this.finish(c, entry);
      return;
    }
    entry.phase = 'waiting';
    log.info('container.restart-scheduled', { id: c.Id.slice(0, 12), delayMs: entry.delayMs, count: c.RestartCount });
    entry.timer = setTimeout(() => void this.run(c, entry), entry.delayMs);
  }

  /**
   * stop / kill / rm -f / shutdown: cancels a pending restart and resolves once the container
   * is stopped for good. False when none was pending.
   */
  async cancel(c: ContainerRecord): Promise<boolean> {
    const entry = this.pending.get(c.Id);
    if (!entry) return false;
    entry.canceled = true;
    if (entry.phase === 'waiting') {
      clearTimeout(entry.timer);
      await this.finish(c, entry);
    } else {
      await entry.settled;
    }
    return true;
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  /** A start by the user (or at daemon start): a new backoff, RestartCount 0, not manually stopped. */
  reset(c: ContainerRecord): void {
    this.delays.delete(c.Id);
    c.RestartCount = 0;
    c.HasBeenManuallyStopped = false;
  }

  /** `docker stop` / `docker kill` of a running or restarting container (persisted at once). */
  async markManuallyStopped(c: ContainerRecord): Promise<void> {
    if (c.HasBeenManuallyStopped === true) return;
    c.HasBeenManuallyStopped = true;
    await this.deps.store.save(c);
  }

  /** The container is gone: forget its backoff. */
  forget(id: string): void {
    this.delays.delete(id);
  }

  /** berthd stops: no more restarts; pending ones end as exited (not manually stopped). */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.pending.keys()].map((id) => {
      const c = this.deps.store.find(id);
      return c ? this.cancel(c) : Promise.resolve(false);
    }));
  }

  private async run(c: ContainerRecord, entry: PendingRestart): Promise<void> {
    entry.phase = 'starting';
    const lastExit = { ExitCode: c.State.ExitCode, FinishedAt: c.State.FinishedAt };
    try {
      await this.deps.start(c);
    } catch (err) {
      // moby: a failed restart leaves the container stopped with the exit that led to it.
      log.warn('container.restart-failed', { id: c.Id.slice(0, 12), error: messageOf(err) });
      c.State = { ...c.State, ...lastExit, Restarting: true, Error: messageOf(err) };
      await this.finish(c, entry);
      return;
    }
    if (entry.canceled) {
      // Stopped while it was starting: undo the start; its exit is recorded as any other.
      const task = this.deps.tasks.get(c.Id);
      if (task) {
        task.stopRequested = true;
        task.process.kill(SIGKILL);
        await task.done;
      }
    }
    await this.finish(c, entry);
  }

  /** Ends a pending restart; unless the container runs again, it is stopped for good. */
  private async finish(c: ContainerRecord, entry: PendingRestart): Promise<void> {
    // A quick exit of the restarted process may already have queued the next restart.
    const owned = this.pending.get(c.Id) === entry;
    if (owned) this.pending.delete(c.Id);
    try {
      if (owned && c.State.Restarting) {
        // Canceled during the backoff, or the start failed: moby's SetStopped with the last exit.
        c.State = { ...c.State, Status: 'exited', Running: false, Restarting: false, Paused: false, Pid: 0 };
        await this.deps.store.save(c);
        this.deps.waiters.exited(c);
      }
    } catch (err) {
      log.warn('container.restart-finish-failed', { id: c.Id.slice(0, 12), error: messageOf(err) });
    } finally {
      entry.settle();
    }
  }
}
