import { invalid } from '../errors.js';
import type { ContainerRecord } from './model.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export function parseWaitCondition(value: string | null): WaitCondition {
  if (value === null || value === '' || value === 'not-running') return 'not-running';
  if (value === 'next-exit' || value === 'removed') return value;
  throw invalid(`invalid condition: "${value}"; use not-running, next-exit or removed`);
}

export interface WaitResult {
  StatusCode: number;
  Error?: { Message: string };
}

interface Waiter {
  condition: WaitCondition;
  resolve: (result: WaitResult) => void;
}

/**
 * Callers of `POST /containers/{id}/wait`, keyed by container. The CLI registers its wait
 * before it starts the container, so `next-exit` and `removed` must be in place first.
 */
export class Waiters {
  private readonly waiting = new Map<string, Set<Waiter>>();

  /** Resolves at once when the condition already holds. */
  wait(container: ContainerRecord, condition: WaitCondition, removed: boolean): Promise<WaitResult> {
    if (condition === 'not-running' && !container.State.Running) {
      return Promise.resolve({ StatusCode: container.State.ExitCode });
    }
    if (removed) return Promise.resolve({ StatusCode: container.State.ExitCode });
    return new Promise((resolve) => {
      let set = this.waiting.get(container.Id);
      if (!set) this.waiting.set(container.Id, (set = new Set()));
      const waiter: Waiter = { condition, resolve };
      set.add(waiter);
    });
  }

  /** Drops a waiter whose client went away. */
  cancel(id: string, resolve: (result: WaitResult) => void): void {
    const set = this.waiting.get(id);
    if (!set) return;
    for (const w of set) if (w.resolve === resolve) set.delete(w);
  }

  /** The container exited (and will not be restarted by a policy). */
  exited(container: ContainerRecord): void {
    this.settle(container.Id, (c) => c !== 'removed', { StatusCode: container.State.ExitCode });
  }

  /** The container is gone; every remaining waiter learns its last exit code. */
  removed(container: ContainerRecord): void {
    this.settle(container.Id, () => true, { StatusCode: container.State.ExitCode });
    this.waiting.delete(container.Id);
  }

  private settle(id: string, which: (c: WaitCondition) => boolean, result: WaitResult): void {
    const set = this.waiting.get(id);
    if (!set) return;
    for (const w of [...set]) {
      if (which(w.condition)) {
        set.delete(w);
        w.resolve(result);
      }
    }
  }
}
