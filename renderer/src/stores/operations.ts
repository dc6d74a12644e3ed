import type { LayerProgress, OperationKind } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { reactive } from 'vue';
import { newId, useBridge } from '../bridge/index.js';

/** Lines of output an operation keeps (a long build prints thousands). */
export const MAX_LINES = 2000;

export interface OperationState {
  readonly id: string;
  readonly kind: OperationKind;
  /** What it works on: the reference pulled or pushed, the file loaded, the folder built. */
  readonly subject: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  layers: readonly LayerProgress[];
  lines: string[];
  error?: string;
}

/**
 * Long operations (pull, push, build, load) this window started, with their progress as the
 * main process pushes it (`operation:progress`: the whole per-layer picture, or a line).
 */
export const useOperations = defineStore('operations', () => {
  const byId = reactive(new Map<string, OperationState>());
  let listening = false;

  function listen(): void {
    if (listening) return;
    listening = true;
    useBridge().on('operation:progress', (p) => {
      const op = byId.get(p.operation);
      if (op === undefined) return;
      if (p.layers !== undefined) op.layers = p.layers;
      if (p.line !== undefined) {
        op.lines.push(p.line);
        if (op.lines.length > MAX_LINES) op.lines.splice(0, op.lines.length - MAX_LINES);
      }
    });
  }

  /**
   * Starts tracking a new operation and runs `run(id)` (the invoke); settles the state from
   * its outcome and passes the outcome on.
   */
  function track<T>(kind: OperationKind, subject: string, run: (operation: string) => Promise<T>): { operation: string; done: Promise<T> } {
    listen();
    const operation = newId(kind);
    byId.set(operation, { id: operation, kind, subject, state: 'running', layers: [], lines: [] });
    const op = byId.get(operation) as OperationState;
    const done = run(operation).then(
      (value) => {
        op.state = 'done';
        return value;
      },
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        op.state = code === 'cancelled' ? 'cancelled' : 'failed';
        op.error = err instanceof Error ? err.message : String(err);
        throw err;
      },
    );
    return { operation, done };
  }

  async function cancel(operation: string): Promise<void> {
    await useBridge().invoke('operation:cancel', { operation });
  }

  function get(operation: string | undefined): OperationState | undefined {
    return operation === undefined ? undefined : byId.get(operation);
  }

  /** The running operation of `kind` on `subject`, if one is (a push button shows its progress). */
  function running(kind: OperationKind, subject: string): OperationState | undefined {
    for (const op of byId.values()) if (op.kind === kind && op.subject === subject && op.state === 'running') return op;
    return undefined;
  }

  function forget(operation: string): void {
    byId.delete(operation);
  }

  return { byId, track, cancel, get, running, forget };
});

/** Bytes done and in all of a picture's layers that know their size. */
export function layerTotals(layers: readonly LayerProgress[]): { current: number; total: number } {
  let current = 0;
  let total = 0;
  for (const l of layers) {
    if (l.total === undefined) continue;
    total += l.total;
    current += Math.min(l.current ?? 0, l.total);
  }
  return { current, total };
}
