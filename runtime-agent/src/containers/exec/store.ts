import { notFound } from '../../errors.js';
import type { ExecInstance } from './model.js';

/** Exec instances by ID, as Docker keeps them: in memory, dropped with their container. */
export class ExecStore {
  private readonly byId = new Map<string, ExecInstance>();

  add(exec: ExecInstance): void {
    this.byId.set(exec.id, exec);
  }

  get(id: string): ExecInstance {
    const exec = this.byId.get(id);
    if (!exec) throw notFound(`No such exec instance: ${id}`);
    return exec;
  }

  ofContainer(containerId: string): ExecInstance[] {
    return [...this.byId.values()].filter((e) => e.containerId === containerId);
  }

  dropContainer(containerId: string): void {
    for (const e of this.ofContainer(containerId)) this.byId.delete(e.id);
  }
}
