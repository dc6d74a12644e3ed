import { rm } from 'node:fs/promises';
import { conflict, invalid, messageOf } from '../errors.js';
import { log } from '../log.js';
import type { CgroupDriver } from '../cgroups/cgroup.js';
import type { ImageProvider, ImageUsers } from '../images/types.js';
import type { DataLayout } from '../store/layout.js';
import { cgroupPath, emitContainerEvent, type ContainerContext } from './context.js';
import { createContainer, type CreateRequest } from './create.js';
import type { ContainerRecord } from './model.js';
import { validateName } from './names.js';
import { OutputHub } from './output.js';
import { pauseContainer, unpauseContainer } from './pause.js';
import { removeContainer } from './remove.js';
import { logPath } from './paths.js';
import { startContainer } from './start.js';
import { killContainer, stopContainer } from './stop.js';
import { ContainerStore } from './store.js';
import { Waiters, type WaitCondition, type WaitResult } from './waiters.js';
import type { AttachSource } from './attach.js';
import type { EventBus } from '../events/bus.js';

export interface ContainerServiceDeps {
  readonly layout: DataLayout;
  readonly images: ImageProvider;
  readonly cgroups: CgroupDriver;
  readonly cgroupParent: string;
  readonly events: EventBus;
}

/**
 * The container lifecycle: the verbs the API calls, the bookkeeping that ties an exit to
 * its waiters and auto-removal, recovery at start-up and shutdown on SIGTERM.
 */
export class ContainerService implements ImageUsers, AttachSource {
  readonly ctx: ContainerContext;
  /** Attachers waiting for a container's next start; called synchronously with its hub. */
  private readonly pendingHubs = new Map<string, Set<(hub: OutputHub) => void>>();

  constructor(deps: ContainerServiceDeps) {
    this.ctx = {
      ...deps,
      store: new ContainerStore(deps.layout),
      waiters: new Waiters(),
      tasks: new Map(),
      hubs: new Map(),
    };
  }

  /** Loads every record; containers that were running when berthd last stopped are exited now. */
  async init(): Promise<void> {
    const records = await this.ctx.store.load();
    for (const c of records) {
      if (!c.State.Running && c.State.Status !== 'removing' && c.State.Status !== 'restarting') continue;
      // berthd died without stopping it: make sure nothing of it survives, and record that.
      await this.ctx.cgroups.open(cgroupPath(this.ctx, c.Id)).destroy().catch(() => undefined);
      c.State = { ...c.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: 255, Error: 'berthd stopped unexpectedly while the container was running', FinishedAt: new Date().toISOString() };
      await this.ctx.store.save(c);
      log.warn('container.recovered', { id: c.Id.slice(0, 12), state: 'exited' });
    }
    await this.ctx.cgroups.prune(this.ctx.cgroupParent).catch(() => undefined);
    await rm(`${this.ctx.layout.execRoot}/containers`, { recursive: true, force: true });
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
    try {
      await startContainer(this.ctx, c, (exited) => this.onExit(exited), (hub) => {
        const waiting = this.pendingHubs.get(c.Id);
        this.pendingHubs.delete(c.Id);
        for (const subscribe of waiting ?? []) subscribe(hub);
      });
    } catch (err) {
      if (c.HostConfig.AutoRemove && !c.State.Running && c.State.Status !== 'removing' && this.ctx.store.find(c.Id)) {
        await removeContainer(this.ctx, c, true).catch(() => undefined);
      }
      throw err;
    }
  }

  private async onExit(c: ContainerRecord): Promise<void> {
    this.ctx.waiters.exited(c);
    if (c.HostConfig.AutoRemove && this.ctx.store.find(c.Id)) {
      await removeContainer(this.ctx, c, true).catch((err: unknown) => log.warn('container.autoremove-failed', { id: c.Id.slice(0, 12), error: messageOf(err) }));
    }
  }

  stop(ref: string, timeout: number | undefined, signal?: string): Promise<void> {
    return stopContainer(this.ctx, this.get(ref), timeout, signal);
  }

  kill(ref: string, signal: string | null): Promise<void> {
    return killContainer(this.ctx, this.get(ref), signal);
  }

  async restart(ref: string, timeout: number | undefined, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (this.ctx.tasks.has(c.Id)) await stopContainer(this.ctx, c, timeout, signal);
    await this.start(c.Id);
    emitContainerEvent(this.ctx, c, 'restart');
  }

  pause(ref: string): Promise<void> {
    return pauseContainer(this.ctx, this.get(ref));
  }
  unpause(ref: string): Promise<void> {
    return unpauseContainer(this.ctx, this.get(ref));
  }

  async remove(ref: string, force: boolean): Promise<void> {
    const c = this.get(ref);
    await removeContainer(this.ctx, c, force);
    for (const subscribe of this.pendingHubs.get(c.Id) ?? []) {
      const gone = new OutputHub();
      gone.finish();
      subscribe(gone);
    }
    this.pendingHubs.delete(c.Id);
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

  wait(ref: string, condition: WaitCondition): { result: Promise<WaitResult>; cancel: () => void } {
    const c = this.get(ref);
    let resolver: ((r: WaitResult) => void) | undefined;
    const result = new Promise<WaitResult>((resolve) => {
      resolver = resolve;
      void this.ctx.waiters.wait(c, condition, false).then(resolve);
    });
    return { result, cancel: () => resolver && this.ctx.waiters.cancel(c.Id, resolver) };
  }

  /** `POST /containers/prune`: removes every stopped container (optionally by label/until). */
  async prune(matches: (c: ContainerRecord) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const c of this.ctx.store.all()) {
      if (c.State.Running || c.State.Status === 'removing' || !matches(c)) continue;
      try {
        await removeContainer(this.ctx, c, false);
        removed.push(c.Id);
      } catch (err) {
        log.warn('container.prune-skip', { id: c.Id.slice(0, 12), error: messageOf(err) });
      }
    }
    return removed;
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

  logPath(c: ContainerRecord): string {
    return logPath(this.ctx, c.Id);
  }

  /** SIGTERM: stops every container (their stop timeouts, at most 10 s) and waits for them. */
  async shutdown(): Promise<void> {
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
