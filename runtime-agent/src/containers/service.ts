import { join } from 'node:path';
import { conflict, invalid, messageOf, notModified } from '../errors.js';
import { directorySize } from '../store/directory-size.js';
import { log } from '../log.js';
import type { CgroupDriver } from '../cgroups/cgroup.js';
import type { ImageProvider, ImageUsers } from '../images/types.js';
import type { DataLayout } from '../store/layout.js';
import { emitContainerEvent, type ContainerContext, type Task } from './context.js';
import { createContainer, type CreateRequest } from './create.js';
import type { ContainerRecord } from './model.js';
import { validateName } from './names.js';
import { OutputHub } from './output.js';
import { pauseContainer, unpauseContainer } from './pause.js';
import { daemonStartAction, recoverContainers } from './recover.js';
import { removeContainer } from './remove.js';
import { RestartScheduler } from './restart-policy.js';
import { logPath } from './paths.js';
import { startContainer } from './start.js';
import { killContainer, stopContainer } from './stop.js';
import { parseSignal } from './signals.js';
import { updateContainer } from './update.js';
import { ContainerStore } from './store.js';
import { Waiters, type WaitCondition, type WaitResult } from './waiters.js';
import type { AttachSource } from './attach.js';
import type { EventBus } from '../events/bus.js';
import type { HijackedStream } from '../api/router.js';
import { createExec } from './exec/create.js';
import type { ExecCreateRequest, ExecInstance } from './exec/model.js';
import { startExec, type ExecStartRequest } from './exec/start.js';
import { ExecStore } from './exec/store.js';
import { HealthMonitor } from './health.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerVolumes } from './volumes.js';
import { writeEtcFiles } from './etc-files.js';
import { WritableLayerGate } from './files/gate.js';

export interface ContainerServiceDeps {
  readonly layout: DataLayout;
  readonly images: ImageProvider;
  readonly cgroups: CgroupDriver;
  readonly cgroupParent: string;
  readonly events: EventBus;
  readonly networks: ContainerNetworking;
  readonly volumes: ContainerVolumes;
}

/**
 * The container lifecycle: the verbs the API calls, the bookkeeping that ties an exit to
 * its waiters and auto-removal, recovery at start-up and shutdown on SIGTERM.
 */
export class ContainerService implements ImageUsers, AttachSource {
  readonly ctx: ContainerContext;
  readonly execs = new ExecStore();
  private readonly health: HealthMonitor;
  /** Attachers waiting for a container's next start; called synchronously with its hub. */
  private readonly pendingHubs = new Map<string, Set<(hub: OutputHub) => void>>();
  /** Containers inside `docker restart`: their stop must not auto-remove them (moby). */
  private readonly manualRestarts = new Set<string>();

  constructor(deps: ContainerServiceDeps) {
    const store = new ContainerStore(deps.layout);
    const waiters = new Waiters();
    const tasks = new Map<string, Task>();
    const restarts = new RestartScheduler({ store, waiters, tasks, start: (c) => this.launch(c) });
    this.ctx = { ...deps, store, waiters, tasks, hubs: new Map(), restarts, layerGate: new WritableLayerGate() };
    this.health = new HealthMonitor(this.ctx);
  }

  /**
   * Loads every record and recovers from the previous run (recover.ts): true states, leftovers
   * removed; then starts the containers whose restart policy says so and removes `--rm` ones.
   */
  async init(): Promise<void> {
    const records = await this.ctx.store.load();
    await recoverContainers(this.ctx, records);
    await Promise.all(
      records.map(async (c) => {
        const action = daemonStartAction(c);
        try {
          if (action === 'start') await this.start(c.Id);
          else if (action === 'remove') await this.remove(c.Id, true, true);
        } catch (err) {
          log.warn('container.restore-failed', { id: c.Id.slice(0, 12), action, error: messageOf(err) });
        }
      }),
    );
  }

  get(ref: string): ContainerRecord {
    return this.ctx.store.get(ref);
  }
  all(): ContainerRecord[] {
    return this.ctx.store.all();
  }
  find(ref: string): ContainerRecord | undefined {
    return this.ctx.store.find(ref);
  }

  containersUsing(imageId: string): string[] {
    return this.ctx.store.all().filter((c) => c.Image === imageId).map((c) => c.Id);
  }

  create(name: string | null, req: CreateRequest): Promise<ContainerRecord> {
    return createContainer(this.ctx, name, req);
  }

  async start(ref: string): Promise<void> {
    const c = this.get(ref);
    // Restarting counts as running (moby); a user start begins a new restart backoff.
    if (c.State.Restarting) throw notModified('container already started');
    if (!c.State.Running && !this.ctx.tasks.has(c.Id)) this.ctx.restarts.reset(c);
    try {
      await this.launch(c);
    } catch (err) {
      if (c.HostConfig.AutoRemove && !c.State.Running && c.State.Status !== 'removing' && this.ctx.store.find(c.Id)) {
        await removeContainer(this.ctx, c, true, true).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Starts the process and wires it up: user starts and restart-policy starts alike. */
  private async launch(c: ContainerRecord): Promise<void> {
    // A writable hold (docker cp into the stopped container) must end before its layer is mounted.
    await this.ctx.layerGate.run(c.Id, () =>
      startContainer(this.ctx, c, (exited) => this.onExit(exited), (hub) => {
        const waiting = this.pendingHubs.get(c.Id);
        this.pendingHubs.delete(c.Id);
        for (const subscribe of waiting ?? []) subscribe(hub);
      }),
    );
    this.health.started(c);
    if (c.State.Health) await this.ctx.store.save(c);
  }

  private async onExit(c: ContainerRecord): Promise<void> {
    this.health.stopped(c);
    // moby wakes not-running and next-exit waiters at every exit, one a policy restarts too.
    this.ctx.waiters.exited(c);
    if (c.State.Restarting) {
      this.ctx.restarts.schedule(c);
      return;
    }
    if (c.HostConfig.AutoRemove && !this.manualRestarts.has(c.Id) && this.ctx.store.find(c.Id)) {
      // `--rm` takes the anonymous volumes with it, as Docker's does.
      await removeContainer(this.ctx, c, true, true).catch((err: unknown) => log.warn('container.autoremove-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
    }
  }

  async stop(ref: string, timeout: number | undefined, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (signal) parseSignal(signal);
    if (this.ctx.tasks.has(c.Id) || c.State.Restarting) await this.ctx.restarts.markManuallyStopped(c);
    await stopContainer(this.ctx, c, timeout, signal);
  }

  async kill(ref: string, signal: string | null): Promise<void> {
    const c = this.get(ref);
    if (signal) parseSignal(signal);
    if (this.ctx.tasks.has(c.Id) || c.State.Restarting) await this.ctx.restarts.markManuallyStopped(c);
    await killContainer(this.ctx, c, signal);
  }

  async restart(ref: string, timeout: number | undefined, signal?: string): Promise<void> {
    const c = this.get(ref);
    this.manualRestarts.add(c.Id);
    try {
      if (this.ctx.tasks.has(c.Id)) await stopContainer(this.ctx, c, timeout, signal);
      else if (c.State.Restarting) await this.ctx.restarts.cancel(c);
    } finally {
      this.manualRestarts.delete(c.Id);
    }
    await this.start(c.Id);
    emitContainerEvent(this.ctx, c, 'restart');
  }

  pause(ref: string): Promise<void> {
    return pauseContainer(this.ctx, this.get(ref));
  }
  unpause(ref: string): Promise<void> {
    return unpauseContainer(this.ctx, this.get(ref));
  }

  /** `removeVolumes`: `docker rm -v`, its anonymous volumes too. */
  remove(ref: string, force: boolean, removeVolumes = false): Promise<void> {
    return this.removeRecord(this.get(ref), force, removeVolumes);
  }

  /** Removal and everything that hangs off a container: exec records, restarts, waiting attachers. */
  private async removeRecord(c: ContainerRecord, force: boolean, removeVolumes = false): Promise<void> {
    await removeContainer(this.ctx, c, force, removeVolumes);
    this.ctx.restarts.forget(c.Id);
    this.execs.dropContainer(c.Id);
    for (const subscribe of this.pendingHubs.get(c.Id) ?? []) {
      const gone = new OutputHub();
      gone.finish();
      subscribe(gone);
    }
    this.pendingHubs.delete(c.Id);
  }

  createExec(ref: string, req: ExecCreateRequest): ExecInstance {
    return createExec(this.ctx, this.execs, this.get(ref), req);
  }

  async startExec(execId: string, req: ExecStartRequest, stream: HijackedStream): Promise<void> {
    const exec = this.execs.get(execId);
    const c = this.ctx.store.find(exec.containerId);
    if (!c) throw conflict(`the container of exec ${execId} no longer exists`);
    await startExec(this.ctx, c, exec, req, stream);
  }

  /** `POST /containers/{id}/resize`: the container's own terminal. */
  resize(ref: string, rows: number, cols: number): void {
    const c = this.get(ref);
    const task = this.ctx.tasks.get(c.Id);
    if (!task) throw conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) throw conflict(`Container ${c.Id} has no TTY to resize`);
    task.process.resize(rows, cols);
  }

  async rename(ref: string, newName: string | null): Promise<void> {
    const c = this.get(ref);
    if (!newName) throw invalid('Error when allocating new name: the new name is empty');
    const name = validateName(newName);
    if (name === c.Name) throw invalid(`Error when allocating new name: renaming a container with the same name as its current name`);
    this.ctx.store.assertNameFree(name);
    const old = c.Name;
    c.Name = name;
    await this.ctx.store.save(c);
    log.info('container.rename', { id: c.Id.slice(0, 12), from: old, to: name });
    emitContainerEvent(this.ctx, c, 'rename', { oldName: `/${old}` });
  }

  /** `POST /containers/{id}/update`: resources and restart policy (update.ts). */
  update(ref: string, body: unknown): Promise<string[]> {
    return updateContainer(this.ctx, this.get(ref), body);
  }

  wait(ref: string, condition: WaitCondition): { result: Promise<WaitResult>; cancel: () => void } {
    const c = this.get(ref);
    let resolver: ((r: WaitResult) => void) | undefined;
    const result = new Promise<WaitResult>((resolve) => {
      resolver = resolve;
      void this.ctx.waiters.wait(c, condition, false).then(resolve);
    });
    return { result, cancel: () => resolver && this.ctx.waiters.cancel(c.Id, resolver) };
  }

  /** `POST /containers/prune`: removes every stopped container (optionally by label/until);
   *  the space reclaimed is the bytes of their writable layers. */
  async prune(matches: (c: ContainerRecord) => boolean): Promise<{ removed: string[]; spaceReclaimed: number }> {
    const removed: string[] = [];
    let spaceReclaimed = 0;
    for (const c of this.ctx.store.all()) {
      if (c.State.Running || c.State.Status === 'removing' || !matches(c)) continue;
      try {
        const size = await directorySize(join(this.ctx.layout.container(c.Id), 'upper'));
        await this.removeRecord(c, false);
        removed.push(c.Id);
        spaceReclaimed += size;
      } catch (err) {
        log.warn('container.prune-skip', { id: c.Id.slice(0, 12), error: messageOf(err) });
      }
    }
    return { removed, spaceReclaimed };
  }

  whenHub(c: ContainerRecord, subscribe: (hub: OutputHub) => void): () => void {
    const current = this.ctx.tasks.get(c.Id);
    if (current) {
      subscribe(current.output);
      return () => undefined;
    }
    if (c.State.Status === 'removing') throw conflict(`container ${c.Id} is being removed`);
    let waiting = this.pendingHubs.get(c.Id);
    if (!waiting) this.pendingHubs.set(c.Id, (waiting = new Set()));
    waiting.add(subscribe);
    return () => this.pendingHubs.get(c.Id)?.delete(subscribe);
  }

  currentHub(c: ContainerRecord): OutputHub | undefined {
    return this.ctx.tasks.get(c.Id)?.output;
  }

  attached(c: ContainerRecord, how: 'detach' | 'end'): void {
    if (how === 'detach') emitContainerEvent(this.ctx, c, 'detach');
  }

  /** Rewrites /etc/hosts and resolv.conf after a network connect or disconnect. */
  async refreshFiles(c: ContainerRecord): Promise<void> {
    await writeEtcFiles(this.ctx.layout.container(c.Id), c, await this.ctx.networks.files(c));
  }

  save(c: ContainerRecord): Promise<void> {
    return this.ctx.store.save(c);
  }

  logPath(c: ContainerRecord): string {
    return logPath(this.ctx, c.Id);
  }

  /** SIGTERM: stops every container (their stop timeouts, at most 10 s) and waits for them. */
  async shutdown(): Promise<void> {
    // No more policy restarts; pending ones end exited, not "manually stopped".
    await this.ctx.restarts.shutdown();
    const running = [...this.ctx.tasks.keys()].map((id) => this.ctx.store.find(id)).filter((c): c is ContainerRecord => c !== undefined);
    await Promise.all(
      running.map(async (c) => {
        const timeout = Math.min(c.Config.StopTimeout ?? 10, 10);
        await stopContainer(this.ctx, c, timeout < 0 ? 10 : timeout).catch((err: unknown) => log.warn('container.shutdown-stop-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
      }),
    );
    await Promise.all([...this.ctx.tasks.values()].map((t) => t.done));
    // Every container group is gone; the parent berthd made for them goes too.
    await this.ctx.cgroups.open(this.ctx.cgroupParent).destroy().catch((err: unknown) => log.warn('cgroup.parent-remove-failed', { error: messageOf(err) }));
  }
}
