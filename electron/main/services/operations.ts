import type { Readable } from 'node:stream';
import type { OperationKind } from '../../shared/bridge.js';
import { AppError } from '../transport/errors.js';
import type { Client } from '../transport/registry.js';
import { JsonLineSplitter, messageError, type JsonMessage } from './progress.js';

/**
 * Long operations (pull, push, build, load) in flight, per client, by the operation id the
 * renderer chose. `operation:cancel` aborts one: its request to the engine is destroyed, and
 * the invoke that started it rejects with code `cancelled`. A client that goes away cancels
 * its operations.
 */
export class Operations {
  /** client id → operation id → its abort. */
  readonly #running = new Map<string, Map<string, AbortController>>();

  /** Registers `operation`; answers its abort signal. A running id is refused. */
  begin(client: Client, operation: string): AbortSignal {
    let mine = this.#running.get(client.id);
    if (mine === undefined) {
      const created = new Map<string, AbortController>();
      this.#running.set(client.id, created);
      mine = created;
      client.onClose(() => {
        this.#running.delete(client.id);
        for (const controller of created.values()) controller.abort();
      });
    }
    if (mine.has(operation)) throw new AppError('conflict', `An operation with id ${operation} is already running.`, 409);
    const controller = new AbortController();
    mine.set(operation, controller);
    return controller.signal;
  }

  end(client: Client, operation: string): void {
    this.#running.get(client.id)?.delete(operation);
  }

  /** Answers whether something was running under that id. */
  cancel(client: Client, operation: string): boolean {
    const mine = this.#running.get(client.id);
    const controller = mine?.get(operation);
    if (mine === undefined || controller === undefined) return false;
    mine.delete(operation);
    controller.abort();
    return true;
  }

  /**
   * Runs one operation: `open` starts the engine request (with the signal), `onMessage` sees
   * each JSON message of its answer. Resolves when the answer ends; rejects with the message
   * of an error line in it, or with `cancelled` when cancelled.
   */
  async run(client: Client, operation: string, kind: OperationKind, open: (signal: AbortSignal) => Promise<Readable>, onMessage: (message: JsonMessage) => void): Promise<void> {
    const signal = this.begin(client, operation);
    try {
      const stream = await open(signal);
      await followMessages(stream, signal, onMessage);
    } catch (err) {
      if (signal.aborted) throw new AppError('cancelled', `The ${kind} was cancelled.`, undefined, { cause: err });
      throw err;
    } finally {
      this.end(client, operation);
    }
  }
}

/**
 * Reads a JSON message stream to its end. The first error message rejects (and the stream is
 * dropped); an abort destroys the stream.
 */
export function followMessages(stream: Readable, signal: AbortSignal, onMessage: (message: JsonMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const splitter = new JsonLineSplitter();
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else {
        stream.destroy();
        reject(err);
      }
    };
    const deliver = (messages: readonly JsonMessage[]): boolean => {
      for (const message of messages) {
        const failure = messageError(message);
        if (failure !== undefined) {
          finish(new AppError('engine-error', failure));
          return false;
        }
        onMessage(message);
      }
      return true;
    };
    const onAbort = (): void => finish(new Error('cancelled'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (!settled) deliver(splitter.push(chunk));
    });
    stream.on('end', () => {
      if (!settled && deliver(splitter.end())) finish();
    });
    stream.on('error', (err) => finish(err));
    // A connection the engine closed before the end of its answer.
    stream.on('close', () => finish(settled ? undefined : new AppError('engine-error', 'The engine closed the connection before the operation finished.')));
  });
}
