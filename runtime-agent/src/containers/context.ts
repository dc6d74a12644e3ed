import type { CgroupDriver } from '../cgroups/cgroup.js';
import type { ImageProvider } from '../images/types.js';
import type { DataLayout } from '../store/layout.js';
import type { OutputHub } from './output.js';
import type { ContainerStore } from './store.js';
import type { Waiters } from './waiters.js';
import type { ContainerRecord } from './model.js';
import type { ContainerProcess } from '../native/helper.js';
import type { EventBus } from '../events/bus.js';
import type { RestartScheduler } from './restart-policy.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerVolumes } from './volumes.js';
import type { WritableLayerGate } from './files/gate.js';

/** A running (or paused) container's live parts; absent when it is not running. */
export interface Task {
  readonly process: ContainerProcess;
  readonly output: OutputHub;
  /** Resolves once the process has exited, its output is drained and its state recorded. */
  readonly done: Promise<void>;
  /** Set by stop/kill/rm so the exit is not treated as a failure by restart policies. */
  stopRequested: boolean;
}

/** What every container verb needs; built once by the service. */
export interface ContainerContext {
  readonly layout: DataLayout;
  readonly store: ContainerStore;
  readonly images: ImageProvider;
  readonly cgroups: CgroupDriver;
  readonly cgroupParent: string;
  readonly waiters: Waiters;
  readonly tasks: Map<string, Task>;
  /** The most recent output hub per container (kept after exit so late attachers see `end`). */
  readonly hubs: Map<string, OutputHub>;
  readonly events: EventBus;
  /** Restart policies: the backoff and pending automatic restarts. */
  readonly restarts: RestartScheduler;
  /** Endpoints, addresses and /etc files (network/service.ts). */
  readonly networks: ContainerNetworking;
  /** Named and anonymous volumes: made at create, mounted per run, removed by `rm -v` (volumes/service.ts). */
  readonly volumes: ContainerVolumes;
  /** One writer of a writable layer at a time: a start or a writable hold (files/gate.ts). */
  readonly layerGate: WritableLayerGate;
}

/** The attributes Docker puts on every container event: name, image and the labels. */
export function containerAttributes(c: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(c.Config.Labels ?? {}), image: c.ImageRef, name: c.Name, ...extra };
}

export function emitContainerEvent(ctx: ContainerContext, c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
  ctx.events.emit('container', action, c.Id, containerAttributes(c, extra));
}

export function cgroupPath(ctx: ContainerContext, id: string): string {
  return `${ctx.cgroupParent}/${id}`;
}
