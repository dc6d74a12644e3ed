import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../../runtime-agent/src/containers/context.js';
import { newState, type ContainerRecord, type RestartPolicy } from '../../../runtime-agent/src/containers/model.js';
import { nextDelay, policyRestarts, restartOnDaemonStart, RestartScheduler, signalEndsRun } from '../../../runtime-agent/src/containers/restart-policy.js';
import { ContainerStore } from '../../../runtime-agent/src/containers/store.js';
import { Waiters } from '../../../runtime-agent/src/containers/waiters.js';
import { DataLayout } from '../../../runtime-agent/src/store/layout.js';

function record(policy: RestartPolicy, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: 'a'.repeat(64),
    Name: 'c',
    Created: new Date().toISOString(),
    ImageRef: 'img',
    Image: 'sha256:' + 'b'.repeat(64),
    Path: 'true',
    Args: [],
    Config: {},
    HostConfig: { RestartPolicy: policy },
    State: { ...newState(), Status: 'running', Running: true, StartedAt: new Date().toISOString() },
    RestartCount: 0,
    StartGeneration: 1,
    ...extra,
  };
}

describe('restart policy decisions (moby restartmanager)', () => {
  it('always, unless-stopped, on-failure[:N], no', () => {
    expect(policyRestarts({ Name: 'always' }, 0, 99, true)).toBe(true);
    expect(policyRestarts({ Name: 'unless-stopped' }, 0, 0, false)).toBe(true);
    expect(policyRestarts({ Name: 'unless-stopped' }, 1, 0, true)).toBe(false);
    expect(policyRestarts({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 1, false)).toBe(true);
    expect(policyRestarts({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 2, false)).toBe(false);
    expect(policyRestarts({ Name: 'on-failure', MaximumRetryCount: 0 }, 1, 500, false)).toBe(true);
    expect(policyRestarts({ Name: 'on-failure' }, 0, 0, false)).toBe(false);
    expect(policyRestarts({ Name: 'no' }, 1, 0, false)).toBe(false);
    expect(policyRestarts(undefined, 1, 0, false)).toBe(false);
  });

  it('doubles the delay from 100 ms up to a minute, and resets it after 10 s of running', () => {
    const seq: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) seq.push((d = nextDelay(d, 50)));
    expect(seq.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(seq.at(-1)).toBe(60_000);
    expect(nextDelay(6400, 10_000)).toBe(100);
  });

  it('at daemon start: only containers that ran before, as the policy says for their last exit', () => {
    const exited = (policy: RestartPolicy, code: number, extra: Partial<ContainerRecord> = {}) =>
      record(policy, { State: { ...newState(), Status: 'exited', ExitCode: code }, ...extra });
    expect(restartOnDaemonStart(exited({ Name: 'always' }, 0, { HasBeenManuallyStopped: true }))).toBe(true);
    expect(restartOnDaemonStart(exited({ Name: 'unless-stopped' }, 137, { HasBeenManuallyStopped: true }))).toBe(false);
    expect(restartOnDaemonStart(exited({ Name: 'unless-stopped' }, 255))).toBe(true);
    expect(restartOnDaemonStart(exited({ Name: 'on-failure', MaximumRetryCount: 3 }, 255, { RestartCount: 1 }))).toBe(true);
    expect(restartOnDaemonStart(exited({ Name: 'on-failure', MaximumRetryCount: 3 }, 255, { RestartCount: 3 }))).toBe(false);
    expect(restartOnDaemonStart(exited({ Name: 'on-failure' }, 0))).toBe(false);
    expect(restartOnDaemonStart(exited({ Name: 'always' }, 0, { StartGeneration: 0 }))).toBe(false);
  });

  it('a kill ends the run for SIGKILL, the stop signal, or any signal without one (ExitOnNext)', () => {
    expect(signalEndsRun(record({ Name: 'always' }), 10)).toBe(true);
    const withStop = record({ Name: 'always' }, { Config: { StopSignal: 'SIGQUIT' } });
    expect(signalEndsRun(withStop, 3)).toBe(true);
    expect(signalEndsRun(withStop, 9)).toBe(true);
    expect(signalEndsRun(withStop, 15)).toBe(false);
  });
});

describe('RestartScheduler', () => {
  let dir: string;
  let store: ContainerStore;
  let waiters: Waiters;
  const tasks = new Map<string, Task>();
  let starts: number;
  let scheduler: RestartScheduler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-restart-'));
    store = new ContainerStore(new DataLayout(dir, join(dir, 'exec')));
    await store.load();
    mkdirSync(join(dir, 'containers', 'a'.repeat(64)));
    waiters = new Waiters();
    starts = 0;
    scheduler = new RestartScheduler({
      store,
      waiters,
      tasks,
      start: (c) => {
        starts += 1;
        c.State = { ...c.State, Status: 'running', Running: true, Restarting: false, Pid: 42, StartedAt: new Date().toISOString() };
        return Promise.resolve();
      },
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What the task's `done` does at an exit. */
  function exit(c: ContainerRecord, code: number, stopRequested = false): boolean {
    const restarting = scheduler.decide(c, code, stopRequested);
    c.State = { ...c.State, Status: restarting ? 'restarting' : 'exited', Running: restarting, Restarting: restarting, Pid: 0, ExitCode: code };
    if (restarting) scheduler.schedule(c);
    return restarting;
  }

  it('restarts after the backoff and counts the restarts', async () => {
    const c = record({ Name: 'on-failure', MaximumRetryCount: 2 });
    await store.add(c);
    expect(exit(c, 1)).toBe(true);
    expect(c.RestartCount).toBe(1);
    expect(c.State).toMatchObject({ Status: 'restarting', Running: true, Restarting: true });
    await sleep(60);
    expect(starts).toBe(0); // still in the 100 ms backoff
    await sleep(120);
    expect(starts).toBe(1);
    expect(c.State.Status).toBe('running');
    expect(exit(c, 1)).toBe(true);
    await sleep(250);
    expect(starts).toBe(2);
    expect(exit(c, 1)).toBe(false);
    expect(c.RestartCount).toBe(2);
  });

  it('a requested stop never restarts', async () => {
    const c = record({ Name: 'always' });
    await store.add(c);
    expect(exit(c, 137, true)).toBe(false);
  });

  it('cancel during the backoff leaves it exited with its last code and wakes not-running waiters', async () => {
    const c = record({ Name: 'always' });
    await store.add(c);
    exit(c, 3);
    const waited = waiters.wait(c, 'not-running', false);
    expect(await scheduler.cancel(c)).toBe(true);
    expect(c.State).toMatchObject({ Status: 'exited', Running: false, Restarting: false, ExitCode: 3 });
    expect(await waited).toEqual({ StatusCode: 3 });
    await sleep(150);
    expect(starts).toBe(0);
    expect(await scheduler.cancel(c)).toBe(false);
  });

  it('shutdown cancels every pending restart and refuses new ones', async () => {
    const c = record({ Name: 'always' });
    await store.add(c);
    exit(c, 0);
    await scheduler.shutdown();
    expect(c.State.Status).toBe('exited');
    c.State = { ...c.State, Status: 'running', Running: true };
    expect(exit(c, 0)).toBe(false);
    expect(c.HasBeenManuallyStopped).toBeUndefined();
  });

  it('a user start resets the count and the manual-stop mark', async () => {
    const c = record({ Name: 'unless-stopped' }, { RestartCount: 4 });
    await scheduler.markManuallyStopped(c);
    expect(c.HasBeenManuallyStopped).toBe(true);
    scheduler.reset(c);
    expect(c).toMatchObject({ RestartCount: 0, HasBeenManuallyStopped: false });
  });
});
